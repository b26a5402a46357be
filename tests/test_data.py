"""Tests of the generated data sets in minigrad.data."""

import numpy as np
import pytest

from minigrad.data import YEAR_LENGTH, YEAR_PAD, YEAR_VOCABULARY, year_sentences


def test_year_sentences_put_one_year_at_the_requested_positions():
    tokens, positions = year_sentences(300, np.random.default_rng(0), year_positions=[0, 3, 11])
    assert tokens.shape == (YEAR_LENGTH, 300) and positions.shape == (300,)
    assert set(positions.tolist()) == {0, 3, 11}
    is_year = np.vectorize(lambda i: YEAR_VOCABULARY[i].isdigit())(tokens)
    assert (is_year.sum(axis=0) == 1).all()
    assert (is_year.argmax(axis=0) == positions).all()


def test_year_sentences_pad_only_after_the_sentence():
    tokens, _ = year_sentences(200, np.random.default_rng(1))
    padded = tokens == YEAR_PAD
    # once a column is padded it stays padded: padding is a suffix
    assert (padded[:-1] <= padded[1:]).all()
    assert not padded[0].any()
    lengths = (~padded).sum(axis=0)
    assert lengths.min() >= 4 and lengths.max() <= YEAR_LENGTH


def test_year_sentences_cover_every_reachable_position_and_are_seeded():
    tokens, positions = year_sentences(2000, np.random.default_rng(2))
    assert set(positions.tolist()) == set(range(15))
    again, _ = year_sentences(2000, np.random.default_rng(2))
    assert (tokens == again).all()


def test_year_sentences_reject_unreachable_positions():
    with pytest.raises(ValueError, match=r"position\(s\) \[17\]"):
        year_sentences(5, np.random.default_rng(0), year_positions=[2, 17])


# ------------------------------------------------------------- text data (chapters 6 and 7)
from minigrad.data import (EOS, TAGS, Vocabulary, cmudict_words, keyword_sequences,  # noqa: E402
                           language_model_batch, pad_sequences, sequence_batch, tagged_sentences,
                           word_sequences)


def test_cmudict_words_are_disjoint_lowercase_words_split_by_seed():
    split = cmudict_words(300, 50, 60, np.random.default_rng(0), max_length=9)
    assert (len(split.train), len(split.valid), len(split.test)) == (300, 50, 60)
    every = split.train + split.valid + split.test
    assert len(set(every)) == len(every)
    assert all(w.isalpha() and w.islower() and 2 <= len(w) <= 9 for w in every)
    assert set(every) <= split.lexicon and "hello" in split.lexicon
    assert split.vocabulary.symbols[0] == EOS and len(split.vocabulary) == 27
    again = cmudict_words(300, 50, 60, np.random.default_rng(0), max_length=9)
    other = cmudict_words(300, 50, 60, np.random.default_rng(1), max_length=9)
    assert again.test == split.test and other.test != split.test
    with pytest.raises(ValueError, match="asked for"):
        cmudict_words(10**6, 1, 1, np.random.default_rng(0))


def test_vocabulary_round_trips_and_names_an_unknown_symbol():
    vocab = Vocabulary("cab", specials=(EOS,))
    assert vocab.symbols == (EOS, "a", "b", "c")
    assert vocab.encode("cab").tolist() == [3, 1, 2] and vocab.decode([3, 1, 2, 0]) == list("cab.")
    with pytest.raises(KeyError, match="'z'"):
        vocab.encode("az")


def test_language_model_batch_shifts_targets_by_one_and_pads():
    vocab = Vocabulary("abc", specials=(EOS,))
    inputs, targets, lengths = language_model_batch(["ab", "cab"], vocab, ignore_index=-1)
    assert lengths.tolist() == [3, 4]
    assert inputs[:, 0].tolist() == [0, 1, 2, 0] and targets[:, 0].tolist() == [1, 2, 0, -1]
    assert inputs[:, 1].tolist() == [0, 3, 1, 2] and targets[:, 1].tolist() == [3, 1, 2, 0]
    padded, lengths = pad_sequences([[5], [6, 7, 8]], pad_value=9)
    assert padded.T.tolist() == [[5, 9, 9], [6, 7, 8]] and lengths.tolist() == [1, 3]


def test_tagged_sentences_are_consistent_and_flag_right_context():
    sentences = tagged_sentences(500, np.random.default_rng(3))
    flagged = 0
    for s in sentences:
        assert len(s.words) == len(s.tags) == len(s.needs_right_context)
        assert set(s.tags) <= set(TAGS)
        for previous, tag in zip(s.tags, s.tags[1:]):  # an I- tag continues a span of its type
            if tag.startswith("I-"):
                assert previous[2:] == tag[2:]
        flagged += sum(s.needs_right_context)
    assert flagged > 0
    # a flagged word occurs with two different tags given the same words to its left
    tags_by_prefix: dict = {}
    for s in sentences:
        for i, flag in enumerate(s.needs_right_context):
            if flag:
                tags_by_prefix.setdefault((s.words[:i + 1], i == 0), set()).add(s.tags[i])
    assert any(len(tags) > 1 for tags in tags_by_prefix.values())
    assert any(s.words[:2] == ("salt", "lake") for s in sentences)


def test_keyword_sequences_hide_the_label_once():
    sequences, labels, positions = keyword_sequences(200, np.random.default_rng(4), 3, 12, num_classes=3)
    for tokens, label, position in zip(sequences, labels, positions):
        assert 3 <= len(tokens) <= 12 and tokens[position] == label
        assert (tokens < 3).sum() == 1
    assert set(positions.tolist()) >= set(range(3))


# ------------------------------------------------------------- long-range tasks (chapters 8-10)
from minigrad.data import adding_problem, agreement_task  # noqa: E402


# ------------------------------------------------------------------------------ adding problem
@pytest.mark.parametrize("length", [2, 3, 10, 51])
def test_adding_problem_marks_one_step_in_each_half(length):
    x, y = adding_problem(200, length, np.random.default_rng(0))
    assert x.shape == (length, 200, 2) and y.shape == (200,)
    markers = x[..., 1]
    assert np.all(markers.sum(axis=0) == 2)
    assert set(np.unique(markers)) <= {0.0, 1.0}
    half = length // 2
    assert np.all(markers[:half].sum(axis=0) == 1) and np.all(markers[half:].sum(axis=0) == 1)


def test_adding_problem_target_is_the_sum_of_the_marked_values():
    x, y = adding_problem(50, 20, np.random.default_rng(1))
    np.testing.assert_allclose(y, (x[..., 0] * x[..., 1]).sum(axis=0))
    assert np.all((x[..., 0] >= 0) & (x[..., 0] < 1))


def test_adding_problem_baseline_mse_is_one_sixth():
    _, y = adding_problem(200_000, 10, np.random.default_rng(2))
    assert abs(np.mean((y - 1.0) ** 2) - 1 / 6) < 0.003


def test_adding_problem_is_seeded_and_honours_dtype():
    a = adding_problem(5, 8, np.random.default_rng(3), dtype=np.float32)
    b = adding_problem(5, 8, np.random.default_rng(3), dtype=np.float32)
    assert a[0].dtype == np.float32 and a[1].dtype == np.float32
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_adding_problem_rejects_too_short_sequences():
    with pytest.raises(ValueError, match="length must be at least 2"):
        adding_problem(4, 1, np.random.default_rng(0))


# ------------------------------------------------------------------------------ agreement task
@pytest.mark.parametrize("gap", [0, 1, 7])
def test_agreement_task_starts_with_the_subject(gap):
    tokens, labels = agreement_task(300, gap, np.random.default_rng(4), fillers=5)
    assert tokens.shape == (gap + 1, 300) and labels.shape == (300,)
    np.testing.assert_array_equal(tokens[0], labels)
    assert tokens.min() >= 0 and tokens.max() <= 6
    assert set(np.unique(labels)) == {0, 1}


def test_agreement_task_attractor_rate():
    tokens, _ = agreement_task(2000, 20, np.random.default_rng(5), attractor_prob=0.3)
    nouns = np.isin(tokens[1:], (0, 1)).mean()
    assert abs(nouns - 0.3) < 0.02
    tokens, _ = agreement_task(100, 20, np.random.default_rng(5), attractor_prob=0.0)
    assert tokens[1:].min() >= 2


def test_agreement_task_label_is_not_recoverable_from_the_last_noun():
    tokens, labels = agreement_task(4000, 10, np.random.default_rng(6), attractor_prob=0.5)
    last_noun = np.array([next((t for t in column[::-1][:-1] if t < 2), -1) for column in tokens.T])
    has_attractor = last_noun >= 0
    agree = np.mean(last_noun[has_attractor] == labels[has_attractor])
    assert abs(agree - 0.5) < 0.05


@pytest.mark.parametrize("kwargs", [{"gap": -1}, {"gap": 3, "fillers": 0}, {"gap": 3, "attractor_prob": 1.5}])
def test_agreement_task_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="agreement_task"):
        agreement_task(4, rng=np.random.default_rng(0), **kwargs)


def _evaluate_infix(words):
    """Evaluate a fully parenthesised infix expression with a stack, independently of the generator."""
    apply = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
             "min": min, "max": max}
    stack = []
    for word in words:
        if word == ")":
            b, op, a = stack.pop(), stack.pop(), stack.pop()
            stack.append(apply[op](a, b))
        elif word != "(":
            stack.append(int(word) if word.isdigit() else word)
    return stack.pop()


@pytest.mark.parametrize("operators, modulus", [(("min", "max"), 10), (("+", "*", "-"), 10), (("+", "-"), 5)])
def test_expression_trees_values_agree_with_the_token_sequence(operators, modulus):
    from minigrad.data import EXPRESSION_VOCABULARY, expression_trees

    data = expression_trees(200, [0, 1, 3, 5], np.random.default_rng(0), operators, modulus)
    assert set(data.depths.tolist()) == {0, 1, 3, 5}
    for tree, tokens, values, value, depth in zip(*data):
        words = [EXPRESSION_VOCABULARY[i] for i in tokens]
        assert _evaluate_infix(words) % modulus == value == tree.label
        assert depth <= tree.height() <= 2 * depth
        assert values.shape == tokens.shape and values[-1] == value
        # a token carries a value exactly where a digit or a closing parenthesis ends a sub-expression
        ends = np.array([w.isdigit() or w == ")" for w in words])
        assert ((values >= 0) == ends).all()
        # the tree's node values, in post-order, are the token values in order
        node_values = [n.label for n in tree.nodes() if n.label >= 0]
        assert node_values == values[values >= 0].tolist()
        assert sum(w in operators for w in words) == sum(1 for n in tree.nodes() if not n.is_leaf) // 2


def test_expression_trees_are_seeded_and_check_their_arguments():
    from minigrad.data import expression_trees

    a = expression_trees(20, [2, 4], np.random.default_rng(3))
    b = expression_trees(20, [2, 4], np.random.default_rng(3))
    assert all((x == y).all() for x, y in zip(a.tokens, b.tokens)) and (a.values == b.values).all()
    with pytest.raises(ValueError, match="operators must be a non-empty subset"):
        expression_trees(5, [1], np.random.default_rng(0), operators=("/",))
    with pytest.raises(ValueError, match="depths must be non-negative integers"):
        expression_trees(5, [-1], np.random.default_rng(0))
    with pytest.raises(ValueError, match="modulus must be in 2..10"):
        expression_trees(5, [1], np.random.default_rng(0), modulus=11)


# ------------------------------------------------------------------------------ chapter 5
from minigrad.data import (RECALL_BLANK, RECALL_QUERY, arithmetic_sequences,  # noqa: E402
                           delayed_recall, noisy_running_sum, parity_sequences, reversal_task,
                           running_sum_posterior, sum_sign)


def test_noisy_running_sum_targets_are_the_running_sum_of_the_clean_digits():
    x, y = noisy_running_sum(50, 7, np.random.default_rng(0), modulus=4, noise=0.0)
    assert x.shape == (7, 50, 4) and y.shape == (7, 50)
    digits = x.argmax(axis=-1)
    assert np.array_equal(x, np.eye(4)[digits])
    assert np.array_equal(y[0], digits[0])
    assert np.array_equal(y[1:], (y[:-1] + digits[1:]) % 4)
    noisy, same_y = noisy_running_sum(50, 7, np.random.default_rng(0), modulus=4, noise=0.5)
    assert np.array_equal(same_y, y) and not np.allclose(noisy, x)
    with pytest.raises(ValueError, match="noise"):
        noisy_running_sum(5, 3, np.random.default_rng(0), noise=-1.0)


def test_running_sum_posterior_is_the_exact_posterior_by_enumeration():
    """Enumerate every digit string of three steps: p(s | x) from Bayes' rule with Gaussian likelihoods."""
    import itertools

    modulus, noise = 3, 0.6
    x, _ = noisy_running_sum(4, 3, np.random.default_rng(1), modulus=modulus, noise=noise)
    posterior = running_sum_posterior(x, noise)
    np.testing.assert_allclose(posterior.sum(axis=-1), 1.0, rtol=1e-12)
    for b in range(4):
        for steps in (1, 2, 3):
            expected = np.zeros(modulus)
            for digits in itertools.product(range(modulus), repeat=steps):
                clean = np.eye(modulus)[list(digits)]
                log_likelihood = -((x[:steps, b] - clean) ** 2).sum() / (2 * noise ** 2)
                expected[sum(digits) % modulus] += np.exp(log_likelihood)
            np.testing.assert_allclose(posterior[steps - 1, b], expected / expected.sum(), rtol=1e-10)
    with pytest.raises(ValueError, match="noise"):
        running_sum_posterior(x, 0.0)


def test_delayed_recall_asks_for_the_first_bit_at_the_query_only():
    tokens, targets = delayed_recall(40, 3, np.random.default_rng(1))
    assert tokens.shape == targets.shape == (5, 40)
    assert set(np.unique(tokens[0])) == {0, 1}
    assert (tokens[1:-1] == RECALL_BLANK).all() and (tokens[-1] == RECALL_QUERY).all()
    assert (targets[:-1] == RECALL_BLANK).all() and np.array_equal(targets[-1], tokens[0])
    with pytest.raises(ValueError, match="delay"):
        delayed_recall(3, -1, np.random.default_rng(0))


def test_parity_sequences_give_the_running_parity():
    bits, parity = parity_sequences(30, 9, np.random.default_rng(2))
    assert bits.shape == parity.shape == (9, 30)
    assert np.array_equal(parity[-1], bits.sum(axis=0) % 2)
    assert np.array_equal(parity[1:], parity[:-1] ^ bits[1:])


def test_arithmetic_sequences_step_by_the_stride():
    start, stride, y = arithmetic_sequences(20, 6, np.random.default_rng(3), modulus=7)
    assert y.shape == (6, 20) and np.array_equal(y[0], start)
    assert np.array_equal(y[1:], (y[:-1] + stride) % 7)
    assert y.min() >= 0 and y.max() < 7


def test_reversal_task_reverses_each_sequence():
    tokens, reversed_tokens = reversal_task(10, 5, np.random.default_rng(4), vocabulary=3)
    assert tokens.shape == (5, 10) and tokens.max() < 3
    assert np.array_equal(reversed_tokens[:, 7], tokens[::-1, 7])
    with pytest.raises(ValueError, match="length"):
        reversal_task(2, 0, np.random.default_rng(0))


def test_sum_sign_labels_the_sign_of_the_sum():
    x, y = sum_sign(100, 4, np.random.default_rng(5))
    assert x.shape == (4, 100, 1) and y.dtype.kind == "i"
    assert np.array_equal(y, (x[:, :, 0].sum(axis=0) > 0).astype(int))
    assert 0 < y.mean() < 1


def test_digits_split_every_image_once_with_17_levels():
    from minigrad.data import DIGIT_LEVELS, digits

    train, test = digits(1400, np.random.default_rng(0))
    assert train.shape == (1400, 8, 8) and test.shape == (397, 8, 8)
    assert train.dtype == np.int64 and train.min() == 0 and max(train.max(), test.max()) == DIGIT_LEVELS - 1
    both = np.concatenate([train, test]).reshape(1797, -1)
    from sklearn.datasets import load_digits

    original = load_digits().images.astype(np.int64).reshape(1797, -1)
    key = lambda rows: sorted(map(bytes, rows))  # noqa: E731  the same multiset of images
    assert key(both) == key(original)
    again, _ = digits(1400, np.random.default_rng(0))
    np.testing.assert_array_equal(train, again)
    assert not np.array_equal(train, digits(1400, np.random.default_rng(1))[0])
    with pytest.raises(ValueError, match="n_train must be in 1..1796"):
        digits(1797, np.random.default_rng(0))


def test_sequence_batch_and_word_sequences():
    vocabulary = Vocabulary("abc", specials=(EOS,))
    sequences = word_sequences(["ab", "c"], vocabulary)
    assert [s.tolist() for s in sequences] == [[1, 2, 0], [3, 0]]
    inputs, targets, lengths = sequence_batch(sequences, start_token=0)
    assert inputs.T.tolist() == [[0, 1, 2], [0, 3, 0]] and targets.T.tolist() == [[1, 2, 0], [3, 0, -1]]
    assert lengths.tolist() == [3, 2]
    assert vocabulary.join([1, 2, 0, 3]) == "ab.c" and vocabulary.join([1, 2, 0, 3], end=EOS) == "ab"
