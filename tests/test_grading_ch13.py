"""Chapter 13's graded questions: right answers pass, common slips fail with their reason."""

from __future__ import annotations

import numpy as np
import pytest

from minigrad.grading import ch13

from grading_helpers import outcome

QUESTIONS = {q.qid: q for q in ch13.QUESTIONS}


def orthogonal(gaussian, sign_fix=True):
    wide = gaussian.shape[0] < gaussian.shape[1]
    q, r = np.linalg.qr(gaussian.T if wide else gaussian)
    if sign_fix:
        q = q * np.sign(np.diag(r))
    return q.T if wide else q


def test_chapter_13_is_registered():
    from minigrad.grading.questions import QUESTIONS as ALL

    assert {"13.1", "13.2", "13.3", "13.4"} <= set(ALL)


def test_reference_orthogonal_is_orthonormal_and_keeps_the_draw():
    gaussian = np.random.default_rng(3).normal(size=(3, 6))
    q = ch13.reference_orthogonal(gaussian)
    np.testing.assert_allclose(q @ q.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(q, orthogonal(gaussian), atol=1e-12)


@pytest.mark.parametrize("answer, status, reason", [
    (orthogonal, "passed", "matches nn.init.orthogonal_"),
    (lambda g: orthogonal(g, sign_fix=False), "failed", "without the sign fix"),
    (lambda g: g / np.linalg.norm(g, axis=0), "failed", "not orthonormal"),
    (lambda g: -orthogonal(g), "failed", "not the Q of the Gaussian's QR"),
])
def test_orthogonal(answer, status, reason):
    result = outcome("13.1", answer)
    assert result.status == status and reason in result.message


def _keras_lstm_numpy(kernel, recurrent, bias, x):
    """Keras's LSTM equations, written out independently of minigrad."""
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    h = c = np.zeros((x.shape[1], recurrent.shape[0]))
    outputs = []
    for x_t in x:
        i, f, g, o = np.split(x_t @ kernel + h @ recurrent + bias, 4, axis=-1)
        c = sig(f) * c + sig(i) * np.tanh(g)
        h = sig(o) * np.tanh(c)
        outputs.append(h)
    return np.array(outputs)


def _keras_gru_numpy(kernel, recurrent, bias, x):
    """Keras's GRU equations (reset_after=True, blocks z, r, h), written out independently."""
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    h = np.zeros((x.shape[1], recurrent.shape[0]))
    outputs = []
    for x_t in x:
        x_z, x_r, x_h = np.split(x_t @ kernel + bias[0], 3, axis=-1)
        h_z, h_r, h_h = np.split(h @ recurrent + bias[1], 3, axis=-1)
        z, r = sig(x_z + h_z), sig(x_r + h_r)
        h = z * h + (1 - z) * np.tanh(x_h + r * h_h)
        outputs.append(h)
    return np.array(outputs)


@pytest.mark.parametrize("answer, status, reason", [
    (_keras_lstm_numpy, "passed", "matches the Keras layer"),
    (lambda k, r, b, x: ch13.run_layer("LSTM", {**ch13.keras_lstm_state_dict(k, r, b), "bias_hh_l0": b}, x),
     "failed", "counted twice"),
    (lambda k, r, b, x: _keras_lstm_numpy(k, r, 0 * b, x), "failed", "differs from the Keras layer"),
])
def test_lstm_from_keras(answer, status, reason):
    result = outcome("13.2", answer)
    assert result.status == status and reason in result.message


@pytest.mark.parametrize("answer, status, reason", [
    (_keras_gru_numpy, "passed", "matches the Keras layer"),
    (lambda k, r, b, x: ch13.run_layer("GRU", ch13.keras_gru_state_dict(k, r, b, order=(0, 1, 2)), x),
     "failed", "Keras's order z, r, h"),
    (lambda k, r, b, x: ch13.run_layer("GRU", ch13.keras_gru_state_dict(k, r, b, bias_rows=(1, 0)), x),
     "failed", "biases are swapped"),
    (lambda k, r, b, x: _keras_gru_numpy(k, r, b[::-1] * 0, x), "failed", "differs from the Keras layer"),
])
def test_gru_from_keras(answer, status, reason):
    result = outcome("13.3", answer)
    assert result.status == status and reason in result.message


# ------------------------------------------------------------------------------ 13.4, the tied dropout mask
def tied_dropout_grad_W(x, h0, mask, W, U, b, grad_out, mask_back=True, mask_paired=True, through_time=True):
    """BPTT with the mask in its two places, written out independently of the question module."""
    states = [h0]
    for x_t in x:
        states.append(np.tanh((mask * states[-1]) @ W.T + x_t @ U.T + b))
    grad_W, grad_h = np.zeros_like(W), np.zeros_like(h0)
    for t in range(len(x), 0, -1):
        grad_a = (1 - states[t] ** 2) * (grad_out[t - 1] + through_time * grad_h)
        grad_W += grad_a.T @ ((mask if mask_paired else 1) * states[t - 1])
        grad_h = (mask if mask_back else 1) * (grad_a @ W)
    return grad_W


def _cases_13_4(seed=0):
    from minigrad.grading.wire import build_argument

    question = QUESTIONS["13.4"]
    return [[build_argument(spec) for spec in case["args"]]
            for case in list(question.visible) + list(question.hidden(np.random.default_rng(seed)))]


@pytest.mark.parametrize("seed", [0, 1])
def test_the_tied_dropout_reference_agrees_with_finite_differences_and_by_hand_bptt(seed):
    for args in _cases_13_4(seed):
        assert args[2].dtype == np.float64 and (args[2] == 0).any() == (args[2].size > 1)
        refs = ch13.reference_tied_dropout_gradient(*args)
        np.testing.assert_allclose(refs["autograd"], refs["finite"], rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(refs["autograd"], tied_dropout_grad_W(*args), rtol=1e-12, atol=1e-12)


def test_tied_dropout_solution_scores_full_marks_and_a_stub_none():
    for seed in (0, 1, 2):
        result = outcome("13.4", tied_dropout_grad_W, seed)
        assert result.status == "passed" and result.score == 4, result.message

    def stub(*args):
        raise NotImplementedError

    assert outcome("13.4", stub).status == "not attempted"
    assert outcome("13.4", lambda x, h0, mask, W, *rest: np.zeros_like(W)).score == 0


@pytest.mark.parametrize("options, words", [
    ({"mask_back": False}, "leave the mask out of the recursion"),
    ({"mask_paired": False}, "W multiplies the masked state"),
    ({"mask_back": False, "mask_paired": False}, "the plain RNN's BPTT"),
    ({"through_time": False}, "keep only each step's own term"),
])
def test_tied_dropout_names_each_slip(options, words):
    result = outcome("13.4", lambda *args: tied_dropout_grad_W(*args, **options))
    assert result.score == 0 and words in result.message, result.message


def test_tied_dropout_fitted_to_the_visible_case_fails_a_hidden_case():
    visible = tied_dropout_grad_W(*_cases_13_4()[0])
    result = outcome("13.4", lambda *args: visible)
    assert result.score == 0 and "hidden case" in result.message, result.message
