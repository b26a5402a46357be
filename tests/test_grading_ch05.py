"""Chapter 5's graded questions: right answers pass, common slips fail with their reason."""

from __future__ import annotations

import numpy as np
import pytest

from minigrad.grading import ch05

from grading_helpers import outcome

QUESTIONS = {q.qid: q for q in ch05.QUESTIONS}


def softmax(o):
    e = np.exp(o - o.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_chapter_5_is_registered():
    from minigrad.grading.questions import QUESTIONS as ALL

    assert {"5.1", "5.2", "5.3", "5.4"} <= set(ALL)


# ---------------------------------------------------------------------------------- 5.1
def teacher_forced(y, num_classes):
    z = np.zeros(y.shape + (num_classes,))
    z[1:] = np.eye(num_classes)[y[:-1]]
    return z


@pytest.mark.parametrize("answer, status, reason", [
    (teacher_forced, "passed", "equals"),
    (lambda y, k: np.eye(k)[y], "failed", "its own target"),
    (lambda y, k: np.eye(k)[np.roll(y, 1, axis=0)], "failed", "zero vector"),
    (lambda y, k: teacher_forced(y, k)[:, :, :-1], "failed", "shape"),
])
def test_teacher_forced_inputs(answer, status, reason):
    result = outcome("5.1", answer)
    assert result.status == status and reason in result.message


# ---------------------------------------------------------------------------------- 5.2
def free_run(x, U, W, V, b, c, feed=softmax):
    z, logits = np.zeros((x.shape[1], V.shape[0])), []
    for x_t in x:
        o = c + np.tanh(b + z @ W.T + x_t @ U.T) @ V.T
        z = feed(o)
        logits.append(o)
    return np.stack(logits)


@pytest.mark.parametrize("answer, status, reason", [
    (free_run, "passed", "JordanRNN"),
    (lambda *args: free_run(*args, feed=lambda o: o), "failed", "softmax(o^(t-1))"),
    (lambda x, U, W, V, b, c: np.tanh(b + x @ U.T) @ V.T + c, "failed", "z^(t-1) = 0 at every step"),
    (lambda *args: free_run(*args, feed=lambda o: np.exp(o) / np.exp(o).sum()), "failed", "entry"),
])
def test_jordan_free_run(answer, status, reason):
    result = outcome("5.2", answer)
    assert result.status == status and reason in result.message


def test_free_run_reference_is_the_package_module():
    rng = np.random.default_rng(3)
    x, U, W = rng.normal(size=(4, 2, 3)), rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    V, b, c = rng.normal(size=(2, 5)), rng.normal(size=5), rng.normal(size=2)
    assert np.allclose(ch05.reference_free_run(x, U, W, V, b, c), free_run(x, U, W, V, b, c), atol=1e-12)


# ---------------------------------------------------------------------------------- 5.3
def readout(x, lengths, U, W, V, b, c, offset=0):
    h = np.zeros((x.shape[1], U.shape[0]))
    last = np.zeros_like(h)
    for t, x_t in enumerate(x, start=1 + offset):
        h = np.tanh(b + h @ W.T + x_t @ U.T)
        last[lengths == t] = h[lengths == t]
    return c + last @ V.T


def read_at_end(x, lengths, U, W, V, b, c):
    return readout(x, np.full_like(lengths, x.shape[0]), U, W, V, b, c)


@pytest.mark.parametrize("answer, status, reason", [
    (readout, "passed", "SummaryRNN"),
    (read_at_end, "failed", "padded end"),
    (lambda *args: readout(*args, offset=-1), "failed", "sequence"),
])
def test_summary_readout(answer, status, reason):
    result = outcome("5.3", answer)
    assert result.status == status and reason in result.message


# ---------------------------------------------------------------------------------- 5.4
def counts(D, H, O):
    shared = H * D + O * H + H + O
    return [shared + H * H, shared + H * O, shared + H * H]


@pytest.mark.parametrize("answer, status, reason", [
    (counts, "passed", "match"),
    (lambda D, H, O: [counts(D, H, O)[0]] * 3, "failed", "H × O"),
    (lambda D, H, O: [n - O for n in counts(D, H, O)], "failed", "pattern A"),
    (lambda D, H, O: sum(counts(D, H, O)), "failed", "three counts"),
])
def test_parameter_counts(answer, status, reason):
    result = outcome("5.4", answer)
    assert result.status == status and reason in result.message


# ------------------------------------------------------------------------------ 5.5, BPTT through the feedback
def free_run_grad_W(x, Y, h, y_hat, U, W, V, feedback=True, softmax_jacobian=True):
    grad_a = np.zeros_like(h)
    for t in range(x.shape[0] - 1, -1, -1):
        grad_o = y_hat[t] - Y[t]
        if feedback and t + 1 < x.shape[0]:
            g = W.T @ grad_a[t + 1]
            grad_o = grad_o + (y_hat[t] * g - y_hat[t] * (y_hat[t] @ g) if softmax_jacobian else g)
        grad_a[t] = (1 - h[t] ** 2) * (V.T @ grad_o)
    return grad_a[1:].T @ y_hat[:-1]


def test_the_free_run_gradient_reference_agrees_with_finite_differences():
    from minigrad.grading.ch05 import QUESTIONS as CH05, reference_free_run_gradient

    question = next(q for q in CH05 if q.qid == "5.5")
    for case in [*question.visible, *question.hidden(np.random.default_rng(3))]:
        refs = reference_free_run_gradient(case)
        np.testing.assert_allclose(refs["autograd"], refs["finite"], rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("options, words", [
    ({}, None),
    ({"feedback": False}, "as under teacher forcing"),
    ({"softmax_jacobian": False}, "without the softmax's Jacobian"),
])
def test_5_5_passes_the_derivation_and_names_its_traps(options, words):
    result = outcome("5.5", lambda *args: free_run_grad_W(*args, **options), seed=1)
    if words is None:
        assert result.status == "passed" and result.score == 4, result.message
    else:
        assert result.score == 0 and words in result.message, result.message
