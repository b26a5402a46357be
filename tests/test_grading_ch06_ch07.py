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
