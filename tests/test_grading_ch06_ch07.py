"""Chapters 6 and 7's graded questions: right answers pass, common slips fail with their reason."""

from __future__ import annotations

import numpy as np
import pytest

from minigrad.grading.questions import QUESTIONS

from grading_helpers import outcome


# ------------------------------------------------------------------------------ chapter 6
def perplexity(losses, lengths):
    return np.exp(losses.sum() / lengths.sum())


def sample(logits, temperature, uniforms, scale=None):
    scaled = logits / (temperature if scale is None else scale)
    probs = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    cumulative = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    return np.minimum((cumulative < uniforms[:, None]).sum(axis=1), logits.shape[1] - 1)


def beam(beams, steps, width):
    scores = beams[:, None] + steps
    best = np.argsort(-scores, axis=None)[:width]
    parents, tokens = np.divmod(best, scores.shape[1])
    return parents, tokens, scores[parents, tokens]


@pytest.mark.parametrize("qid, answer", [("6.1", perplexity), ("6.2", sample), ("6.3", beam)])
def test_chapter_6_answers_pass(qid, answer):
    result = outcome(qid, answer)
    assert result.status == "passed" and result.score == QUESTIONS[qid].points, result.message


@pytest.mark.parametrize("qid, answer, reason", [
    ("6.1", lambda L, n: np.mean(np.exp(L / n)), "per-word perplexities"),
    ("6.1", lambda L, n: np.exp(np.mean(L / n)), "short word"),
    ("6.1", lambda L, n: 2 ** (L.sum() / n.sum()), "base 2"),
    ("6.2", lambda o, T, u: sample(o, T, u, scale=1.0), "ignores the temperature"),
    ("6.2", lambda o, T, u: sample(o, T, u, scale=1 / T), "divide them by T"),
    ("6.2", lambda o, T, u: o.argmax(axis=1), "arg max"),
    ("6.2", lambda o, T, u: np.minimum((np.cumsum(np.exp(o / T) / np.exp(o / T).sum(1, keepdims=True), 1)
                                        < u[:, None]).sum(1), o.shape[1] - 1), "overflows"),
    ("6.3", lambda b, s, k: beam(np.zeros_like(b), s, k), "alone"),
    ("6.3", lambda b, s, k: tuple(a[::-1] for a in beam(b, s, k)), "wrong order"),
])
def test_chapter_6_slips_are_named(qid, answer, reason):
    with np.errstate(all="ignore"):
        result = outcome(qid, answer)
    assert result.status == "failed" and reason in result.message, result.message


# ------------------------------------------------------------------------------ 6.4, a backoff bigram model
def backoff_perplexity(counts, unigram, discount, test, renormalise=True, interpolate=False, predictions=None):
    """The backoff model written as a student would, one context at a time, with switches for slips."""
    V = len(unigram)
    log_p = []
    for u, v in zip(test[:-1], test[1:]):
        total = counts[u].sum()
        if total == 0:
            log_p.append(np.log(unigram[v]))
            continue
        seen = counts[u] > 0
        reserved = discount * seen.sum() / total
        if interpolate:
            p = max(counts[u, v] - discount, 0) / total + reserved * unigram[v]
        elif seen[v]:
            p = (counts[u, v] - discount) / total
        else:
            p = reserved / (unigram[~seen].sum() if renormalise else 1.0) * unigram[v]
        log_p.append(np.log(p))
    assert V == counts.shape[0]
    return np.exp(-np.sum(log_p) / (len(test) - 1 if predictions is None else predictions(test)))


def _backoff_cases(seed=0):
    from minigrad.grading.wire import build_argument

    question = QUESTIONS["6.4"]
    for case in [*question.visible, *question.hidden(np.random.default_rng(seed))]:
        yield [build_argument(spec) for spec in case["args"]]


def test_6_4_reference_is_the_normalised_backoff_model():
    """Each row of p(v | u) sums to 1, seen pairs keep (C - D) / c, unseen ones are proportional to p_1."""
    from minigrad.grading.ch06 import reference_backoff_probabilities

    for seed in range(3):
        for counts, unigram, discount, test in _backoff_cases(seed):
            probs = reference_backoff_probabilities(counts, unigram, discount)
            np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=0, atol=1e-12)
            assert (probs > 0).all()
            for u in range(len(unigram)):
                total, seen = counts[u].sum(), counts[u] > 0
                if total == 0:
                    np.testing.assert_allclose(probs[u], unigram)
                    continue
                np.testing.assert_allclose(probs[u, seen], (counts[u, seen] - discount) / total)
                ratio = probs[u, ~seen] / unigram[~seen]
                np.testing.assert_allclose(ratio, ratio[0])
            assert (counts[test[:-1]].sum(axis=1) == 0).any()  # a context never seen is tested
            assert (counts[test[:-1], test[1:]] == 0).any() and (counts[test[:-1], test[1:]] > 0).any()


def test_6_4_right_answer_scores_full_marks_on_several_seeds():
    for seed in range(4):
        result = outcome("6.4", backoff_perplexity, seed=seed)
        assert result.status == "passed" and result.score == 4 and "2 hidden cases" in result.message, result.message


@pytest.mark.parametrize("answer, reason", [
    (lambda C, p, D, y: np.log(backoff_perplexity(C, p, D, y)), "the cross-entropy itself"),
    (lambda C, p, D, y: 2 ** np.log(backoff_perplexity(C, p, D, y)), "base 2"),
    (lambda C, p, D, y: np.exp(-np.mean(np.log(np.where(C[y[:-1], y[1:]] > 0, 1.0, 0.0)))), "probability 0"),
])
def test_6_4_names_the_perplexity_slips(answer, reason):
    with np.errstate(all="ignore"):
        result = outcome("6.4", answer)
    assert result.status == "failed" and reason in result.message, result.message




# ------------------------------------------------------------------------------ chapter 7
def run(x, U, W):
    h, states = np.zeros((x.shape[1], U.shape[0])), []
    for x_t in x:
        h = np.tanh(x_t @ U.T + h @ W.T)
        states.append(h)
    return np.stack(states)


def masked_pool(outputs, lengths):
    real = (np.arange(outputs.shape[0])[:, None] < lengths)[:, :, None]
    return np.stack([outputs[lengths - 1, np.arange(outputs.shape[1])],
                     (outputs * real).sum(0) / lengths[:, None],
                     np.where(real, outputs, -np.inf).max(0)])


def accuracy(logits, tags, pad):
    return ((logits.argmax(-1) == tags) & (tags != pad)).sum() / (tags != pad).sum()


@pytest.mark.parametrize("qid, answer", [
    ("7.1", lambda x, Uf, Wf, Ub, Wb: np.concatenate([run(x, Uf, Wf), run(x[::-1], Ub, Wb)[::-1]], -1)),
    ("7.2", masked_pool),
    ("7.3", accuracy),
])
def test_chapter_7_answers_pass(qid, answer):
    result = outcome(qid, answer)
    assert result.status == "passed" and result.score == QUESTIONS[qid].points, result.message


def test_chapter_7_slips_are_named():
    unflipped = outcome("7.1", lambda x, Uf, Wf, Ub, Wb: np.concatenate([run(x, Uf, Wf), run(x[::-1], Ub, Wb)], -1))
    assert unflipped.status == "failed" and "flip them back" in unflipped.message
    def padded_last(outputs, lengths):
        pooled = masked_pool(outputs, lengths)
        pooled[0] = outputs[-1]
        return pooled
    partial = outcome("7.2", padded_last)
    assert partial.score == 2 and "last pooling uses the padded steps" in partial.message
    counted = outcome("7.3", lambda o, y, pad: (o.argmax(-1) == y).mean())
    assert counted.status == "failed" and "padded positions" in counted.message
    macro = outcome("7.3", lambda o, y, pad: np.mean([(o.argmax(-1)[:, b] == y[:, b])[y[:, b] != pad].mean()
                                                     for b in range(y.shape[1])]))
    assert macro.status == "failed" and "per-sentence" in macro.message


def test_reference_bidirectional_matches_two_unidirectional_runs():
    from minigrad.grading.ch07 import reference_bidirectional

    rng = np.random.default_rng(1)
    x, Uf, Wf, Ub, Wb = (rng.normal(size=s) for s in [(5, 2, 3), (4, 3), (4, 4), (4, 3), (4, 4)])
    expected = np.concatenate([run(x, Uf, Wf), run(x[::-1], Ub, Wb)[::-1]], -1)
    assert np.allclose(reference_bidirectional(x, Uf, Wf, Ub, Wb), expected)


# ------------------------------------------------------------------------------ 7.4, the backward pass of concat pooling
def concat_pool_backward(outputs, lengths, grad_pooled, mean_length=None, max_padding=False, backward_end=0,
                         add=True, add_ends=True):
    """∂L/∂outputs of s = [ends; mean; max], written as a student would, with switches for slips."""
    steps, batch, size = outputs.shape
    half = size // 2
    g_ends, g_mean, g_max = np.split(grad_pooled, 3, axis=-1)
    grad = np.zeros_like(outputs)
    for b, n in enumerate(lengths):
        grad[:n, b] += g_mean[b] / (n if mean_length is None else mean_length)
        end = n - 1 if backward_end is None else backward_end
        for j in range(size):
            winner = int(np.argmax(outputs[:, b, j] if max_padding else outputs[:n, b, j]))
            if add:
                grad[winner, b, j] += g_max[b, j]
            else:
                grad[winner, b, j] = g_max[b, j]
        if add_ends:
            grad[n - 1, b, :half] += g_ends[b, :half]
            grad[end, b, half:] += g_ends[b, half:]
        else:
            grad[n - 1, b, :half] = g_ends[b, :half]
            grad[end, b, half:] = g_ends[b, half:]
    return grad


def test_7_4_reference_agrees_with_finite_differences_in_float64():
    from minigrad.grading import ch07
    from minigrad.grading.wire import build_argument

    question = QUESTIONS["7.4"]
    for seed in range(3):
        for case in [*question.visible, *question.hidden(np.random.default_rng(seed))]:
            args = [build_argument(spec) for spec in case["args"]]
            references = ch07.reference_pool_gradient(*args)
            np.testing.assert_allclose(references["autograd"], references["finite"], rtol=1e-7, atol=1e-8)
            np.testing.assert_allclose(references["autograd"], concat_pool_backward(*args), rtol=1e-12, atol=1e-14)


def test_7_4_cases_have_short_sequences_large_padding_and_no_ties():
    from minigrad.grading.wire import build_argument

    question = QUESTIONS["7.4"]
    for case in [*question.visible, *question.hidden(np.random.default_rng(5))]:
        outputs, lengths, grad = (build_argument(spec) for spec in case["args"])
        assert 1 in lengths and outputs.shape[0] in lengths and grad.shape == (outputs.shape[1], 3 * outputs.shape[2])
        for b, n in enumerate(lengths):
            assert (outputs[n:, b] >= 3).all()
            assert n == 1 or np.diff(np.sort(outputs[:n, b], axis=0), axis=0).min() >= 1e-4


def test_7_4_right_answer_scores_full_marks_on_several_seeds():
    for seed in range(4):
        result = outcome("7.4", concat_pool_backward, seed=seed)
        assert result.status == "passed" and result.score == 4 and "2 hidden cases" in result.message, result.message


# ------------------------------------------------------------------------------ 6.4 and 7.4 together
@pytest.mark.parametrize("qid, answer, options, words", [
    ("6.4", backoff_perplexity, {"interpolate": True}, "interpolated absolute discounting"),
    ("6.4", backoff_perplexity, {"renormalise": False}, "not renormalised"),
    ("6.4", backoff_perplexity, {"predictions": len}, "len(test) - 1 predictions"),
    ("7.4", concat_pool_backward, {"mean_length": 5}, "padded length T"),
    ("7.4", concat_pool_backward, {"max_padding": True}, "padded steps win the max"),
    ("7.4", concat_pool_backward, {"backward_end": None}, "backward half's end"),
    ("7.4", concat_pool_backward, {"add": False}, "none overwrites another"),
    ("7.4", concat_pool_backward, {"add_ends": False}, "none overwrites another"),
])
def test_6_4_and_7_4_name_each_slip(qid, answer, options, words):
    result = outcome(qid, lambda *args: answer(*args, **options))
    assert result.status == "failed" and result.score == 0 and words in result.message, result.message


@pytest.mark.parametrize("qid, answer", [("6.4", backoff_perplexity), ("7.4", concat_pool_backward)])
def test_6_4_and_7_4_give_nothing_for_a_stub_a_blank_or_an_answer_fitted_to_the_visible_case(qid, answer):
    from minigrad.grading.wire import build_argument

    def stub(*args):
        raise NotImplementedError("replace this line with your code")

    assert outcome(qid, stub).status == "not attempted"
    blank = outcome(qid, lambda *args: np.zeros_like(answer(*args)))
    assert blank.status == "failed" and blank.score == 0
    fixed = answer(*(build_argument(spec) for spec in QUESTIONS[qid].visible[0]["args"]))
    fitted = outcome(qid, lambda *args: fixed)
    assert fitted.score == 0 and "hidden case" in fitted.message, fitted.message


def test_6_4_and_7_4_are_labelled_hard_with_hints_and_7_4_bans_autograd():
    for qid in ("6.4", "7.4"):
        assert (QUESTIONS[qid].difficulty, QUESTIONS[qid].points) == (3, 4) and 2 <= len(QUESTIONS[qid].hints) <= 3
    assert QUESTIONS["7.4"].borrowed == ("minigrad.autograd.backward",)
