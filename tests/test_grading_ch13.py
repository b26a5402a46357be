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

    assert {"13.1", "13.2", "13.3"} <= set(ALL)


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
