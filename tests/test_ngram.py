"""The n-gram baseline of chapter 6 (minigrad.ngram)."""

import math

import numpy as np
import pytest

from minigrad.ngram import NGramModel

EOS = 0
CORPUS = [[1, 2, 0], [1, 2, 2, 0], [2, 1, 0]]


@pytest.mark.parametrize("order", [0, 1, 2, 3])
@pytest.mark.parametrize("smoothing", ["add_k", "interpolated"])
def test_every_conditional_is_a_distribution(order, smoothing):
    model = NGramModel(order, 4, eos=EOS, smoothing=smoothing, k=0.5).fit(CORPUS)
    for history in ([], [1], [1, 2], [3, 3, 3]):
        probs = np.exp(model.next_log_probs(history))
        assert probs.sum() == pytest.approx(1.0) and (probs > 0).all()


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
    assert other.counts is add_one.counts
    assert other.next_log_probs([1, 2]) == pytest.approx(fresh.next_log_probs([1, 2]))
