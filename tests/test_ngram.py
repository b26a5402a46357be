"""The n-gram baselines of chapter 6 (minigrad.ngram)."""

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

from minigrad.ngram import FALLBACK_DISCOUNTS, NGramModel, kneser_ney_discounts

EOS = 0
CORPUS = [[1, 2, 0], [1, 2, 2, 0], [2, 1, 0]]


@pytest.mark.parametrize("order", [0, 1, 2, 3])
@pytest.mark.parametrize("smoothing", ["add_k", "interpolated", "kneser_ney"])
def test_every_conditional_is_a_distribution(order, smoothing):
    rng = np.random.default_rng(order)
    corpus = [list(rng.integers(1, 5, size=rng.integers(1, 8))) + [EOS] for _ in range(60)]
    model = NGramModel(order, 5, eos=EOS, smoothing=smoothing, k=0.5).fit(corpus)
    # every history of up to `order` tokens after the start, and every full context: seen or not
    histories = [list(h) for n in range(order + 1) for h in itertools.product(range(1, 5), repeat=n)]
    for history in histories + [[4, 4, 4, 4, 4]]:
        probs = np.exp(model.next_log_probs(history))
        assert probs.sum() == pytest.approx(1.0, abs=1e-12), (history, probs.sum())
        assert (probs > 0).all()


def test_add_k_bigram_matches_counts_by_hand():
    model = NGramModel(1, 4, eos=EOS, smoothing="add_k", k=1.0).fit(CORPUS)
    # after token 1: counts 2 -> {2: 2, 0: 1}; add-one over V = 4 gives (c + 1) / (3 + 4)
    assert np.exp(model.next_log_probs([1])) == pytest.approx(np.array([2, 1, 3, 1]) / 7)
    # the start context is EOS: first tokens are 1, 1, 2
    assert np.exp(model.next_log_probs([])) == pytest.approx(np.array([1, 3, 2, 1]) / 7)
    # after token 2 (4 times): {0: 2, 1: 1, 2: 1}, so p(0 | 2) = 3 / 8
    expected = math.log(3 / 7) + math.log(3 / 7) + math.log(3 / 8)
    assert model.sequence_log_prob([1, 2, 0]) == pytest.approx(expected)


def test_interpolation_is_witten_bell():
    model = NGramModel(1, 4, eos=EOS, smoothing="interpolated", k=1.0).fit(CORPUS)
    unigram = (np.array([3, 3, 4, 0]) + 1.0) / (10 + 4)
    # after token 1: c = 3 with 2 distinct followers, so lambda = 3 / 5
    expected = 0.6 * np.array([1, 0, 2, 0]) / 3 + 0.4 * unigram
    assert np.exp(model.next_log_probs([1])) == pytest.approx(expected)
    assert np.exp(model.next_log_probs([3])) == pytest.approx(unigram)  # unseen context backs off


def test_cross_entropy_is_mean_nll_per_token_and_higher_orders_fit_training_data_better():
    rng = np.random.default_rng(0)
    corpus = [list(rng.integers(1, 5, size=rng.integers(2, 6))) + [EOS] for _ in range(200)]
    corpus = [[1, 2, 3, 4] * 2 + [EOS] if i % 2 else s for i, s in enumerate(corpus)]
    orders = [NGramModel(m, 5, smoothing="interpolated", k=0.1).fit(corpus) for m in range(4)]
    train_ce = [m.cross_entropy(corpus) for m in orders]
    assert all(a > b for a, b in zip(train_ce, train_ce[1:]))
    total = sum(orders[2].sequence_log_prob(s) for s in corpus)
    assert train_ce[2] == pytest.approx(-total / sum(map(len, corpus)))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="order"):
        NGramModel(-1, 3)
    with pytest.raises(ValueError, match="smoothing"):
        NGramModel(1, 3, smoothing="kneser")
    with pytest.raises(ValueError, match="token 7"):
        NGramModel(1, 3).fit([[1, 7, 0]])


def test_with_smoothing_shares_counts():
    add_one = NGramModel(2, 4, smoothing="add_k", k=1.0).fit(CORPUS)
    other = add_one.with_smoothing("interpolated", 0.5)
    fresh = NGramModel(2, 4, smoothing="interpolated", k=0.5).fit(CORPUS)
    assert other.grams is add_one.grams
    assert other.next_log_probs([1, 2]) == pytest.approx(fresh.next_log_probs([1, 2]))
    kneser_ney = add_one.with_smoothing("kneser_ney")
    assert kneser_ney.next_log_probs([1, 2]) == pytest.approx(
        NGramModel(2, 4, smoothing="kneser_ney").fit(CORPUS).next_log_probs([1, 2]))


# The hand-checked example: tokens . a b (0, 1, 2) and the four words "a", "a", "ab", "aba".
KN_CORPUS = [[1, 0], [1, 0], [1, 2, 0], [1, 2, 1, 0]]


def probs_of(model, history):
    return [Fraction(p).limit_denominator(1000) for p in np.exp(model.next_log_probs(history))]


def test_kneser_ney_bigram_by_hand():
    """Interpolated modified Kneser–Ney, order 1, worked out by hand.

    Bigram counts (the start of a word is the context "."): (. a) 4, (a .) 3, (a b) 2, (b .) 1,
    (b a) 1. Counts of counts n1..n4 = 2, 1, 1, 1, so Y = 2 / (2 + 2) = 1/2 and
    D1 = 1 - 2 (1/2)(1/2) = 1/2, D2 = 2 - 3 (1/2)(1/1) = 1/2, D3+ = 3 - 4 (1/2)(1/1) = 1.

    Unigrams get continuation counts, the number of different tokens seen before them:
    a(.) = |{a, b}| = 2, a(a) = |{., b}| = 2, a(b) = |{a}| = 1, total 5. Their counts of counts
    (1, 2, 0, 0) cannot give discounts, so the fallback (1/2, 1, 3/2) applies: D(2) = 1, D(1) = 1/2,
    gamma = (1 + 1 + 1/2) / 5 = 1/2, and with the uniform 1/3 below:
    p(.) = p(a) = (2 - 1)/5 + 1/6 = 11/30, p(b) = (1 - 1/2)/5 + 1/6 = 8/30.

    After ".": only (. a) 4, D3+ = 1, gamma = 1/4:
    p(a | .) = 3/4 + (1/4)(11/30) = 101/120, p(b | .) = (1/4)(8/30) = 8/120, p(. | .) = 11/120.
    After "a": (a .) 3 and (a b) 2, gamma = (1 + 1/2)/5 = 3/10:
    p(. | a) = 2/5 + (3/10)(11/30) = 153/300, p(b | a) = (3/2)/5 + (3/10)(8/30) = 114/300,
    p(a | a) = 33/300.
    After "b": (b .) 1 and (b a) 1, gamma = (1/2 + 1/2)/2 = 1/2:
    p(. | b) = p(a | b) = 1/4 + (1/2)(11/30) = 13/30, p(b | b) = (1/2)(8/30) = 4/30.
    """
    model = NGramModel(1, 3, eos=0, smoothing="kneser_ney").fit(KN_CORPUS)
    assert model.discounts() == [FALLBACK_DISCOUNTS, (0.5, 0.5, 1.0)]
    assert probs_of(model, []) == [Fraction(11, 120), Fraction(101, 120), Fraction(8, 120)]
    assert probs_of(model, [1]) == [Fraction(153, 300), Fraction(33, 300), Fraction(114, 300)]
    assert probs_of(model, [2]) == [Fraction(13, 30), Fraction(13, 30), Fraction(4, 30)]
    assert model.sequence_log_prob([1, 2, 0]) == pytest.approx(math.log(101 / 120 * 114 / 300 * 13 / 30))


def test_kneser_ney_trigram_by_hand():
    """Order 2 on the same words: the start keeps raw counts, the middle order continuation counts.

    Trigrams (a word's first letter has no two-token context): (. a .) 2, (. a b) 2, (a b .) 1,
    (a b a) 1, (b a .) 1. Bigrams that begin at the start keep their raw count, (. a) 4; the
    others count the different tokens before them: (a .) 2 (". a ." and "b a ."), (a b) 1,
    (b .) 1, (b a) 1. No order has n1..n4 all positive, so every order uses (1/2, 1, 3/2). The
    unigrams are as in the bigram example: 11/30, 11/30, 8/30 for ., a, b.

    Middle order: after "." (4, D = 3/2, gamma = 3/8): p(a | .) = 5/8 + (3/8)(11/30) = 183/240,
    p(b | .) = 24/240, p(. | .) = 33/240. After "a" ((a .) 2, (a b) 1, gamma = (1 + 1/2)/3 = 1/2):
    p(. | a) = 1/3 + 11/60 = 31/60, p(b | a) = 1/6 + 4/30 = 3/10, p(a | a) = 11/60.
    After "b": 13/30, 13/30, 4/30 as before.

    Top order: after ". a" ((. a .) 2, (. a b) 2, gamma = 2/4): p(. | . a) = 1/4 + (1/2)(31/60)
    = 61/120, p(b | . a) = 1/4 + (1/2)(3/10) = 2/5, p(a | . a) = 11/120. After "a b" (two
    singletons, gamma = 1/2): p(. | a b) = p(a | a b) = 1/4 + (1/2)(13/30) = 7/15,
    p(b | a b) = 1/15. After "b b", never seen, everything goes to p(. | b).
    """
    model = NGramModel(2, 3, eos=0, smoothing="kneser_ney").fit(KN_CORPUS)
    assert model.discounts() == [FALLBACK_DISCOUNTS] * 3
    assert probs_of(model, []) == [Fraction(33, 240), Fraction(183, 240), Fraction(24, 240)]
    assert probs_of(model, [1]) == [Fraction(61, 120), Fraction(11, 120), Fraction(2, 5)]
    assert probs_of(model, [1, 2]) == [Fraction(7, 15), Fraction(7, 15), Fraction(1, 15)]
    assert probs_of(model, [2, 2]) == [Fraction(13, 30), Fraction(13, 30), Fraction(4, 30)]
    assert math.exp(model.sequence_log_prob([1, 2, 0])) == pytest.approx(183 / 240 * 2 / 5 * 7 / 15)


def test_kneser_ney_discounts_follow_chen_and_goodman():
    counts = np.array([1] * 10 + [2] * 4 + [3] * 3 + [4] * 2 + [9] * 5)  # n1..n4 = 10, 4, 3, 2
    y = 10 / 18
    expected = (1 - 2 * y * 4 / 10, 2 - 3 * y * 3 / 4, 3 - 4 * y * 2 / 3)
    assert kneser_ney_discounts(counts) == pytest.approx(expected)
    assert kneser_ney_discounts(np.array([1, 1, 2, 3])) == FALLBACK_DISCOUNTS  # n4 = 0
    assert kneser_ney_discounts(np.array([1, 2, 3, 3, 3, 3, 4])) == FALLBACK_DISCOUNTS  # D2 < 0


def test_token_log_probs_are_the_conditionals_in_order():
    model = NGramModel(2, 4, smoothing="kneser_ney").fit(CORPUS)
    sequence = [2, 1, 3, 0]
    expected = [model.next_log_probs(sequence[:t])[sequence[t]] for t in range(len(sequence))]
    assert model.token_log_probs([sequence]) == pytest.approx(expected)
    both = model.token_log_probs([sequence, [1, 0]])
    assert both[:4] == pytest.approx(expected) and len(both) == 6


def test_stored_counts_and_orders_too_long():
    model = NGramModel(1, 4, smoothing="kneser_ney").fit(CORPUS)
    # unigrams 1, 2, 0 (3); bigrams (. 1) (. 2) (1 2) (1 0) (2 0) (2 2) (2 1) (7)
    assert model.stored_counts() == 3 + 7
    with pytest.raises(ValueError, match="too long"):
        NGramModel(20, 100)
    with pytest.raises(ValueError, match="fit"):
        NGramModel(1, 4).next_log_probs([1])


def test_with_order_gives_the_model_fitted_at_that_order():
    rng = np.random.default_rng(3)
    corpus = [list(rng.integers(1, 5, size=rng.integers(1, 8))) + [EOS] for _ in range(80)]
    high = NGramModel(4, 5, smoothing="kneser_ney").fit(corpus)
    for order in range(5):
        low = NGramModel(order, 5, smoothing="kneser_ney").fit(corpus)
        assert high.with_order(order).cross_entropy(corpus) == pytest.approx(low.cross_entropy(corpus))
    with pytest.raises(ValueError, match="order must be in"):
        high.with_order(5)


@pytest.mark.parametrize("order", [0, 1, 3])
def test_step_gives_the_next_token_distribution_for_the_decoders(order):
    from minigrad import nn

    model = NGramModel(order, 4, smoothing="kneser_ney").fit(CORPUS)
    histories = [[1, 2, 2], [2, 1, 3], [1, 1, 1]]
    state = None
    for t in range(3):
        log_probs, state = model.step([EOS if t == 0 else h[t - 1] for h in histories], state)
        for row, history in enumerate(histories):
            assert log_probs[row] == pytest.approx(model.next_log_probs(history[:t]))
    draws = nn.sample(model.step, EOS, 20, np.random.default_rng(0), num_samples=5, eos_token=EOS)
    for tokens, log_prob in draws:
        assert log_prob == pytest.approx(float(model.token_log_probs([tokens]).sum()))
    best, _ = nn.beam_search(model.step, EOS, beam_width=3, max_length=6, eos_token=EOS)[0]
    assert best[-1] == EOS
