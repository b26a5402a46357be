"""Tests of minigrad.functional, and composite models gradient-checked end to end in float64."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad
import minigrad.functional as F
from minigrad import gradcheck


def leaf(shape, seed=0, scale=1.0):
    return minigrad.tensor(scale * np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


def reference_log_softmax(x, axis=-1):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


# --------------------------------------------------------------------------------- softmax
@pytest.mark.parametrize("shape, axis", [((5,), -1), ((3, 4), -1), ((3, 4), 0), ((2, 3, 4), 1)])
def test_softmax_and_log_softmax(shape, axis):
    x = leaf(shape)
    expected = reference_log_softmax(x.data, axis)
    np.testing.assert_allclose(F.log_softmax(x, axis=axis).data, expected)
    np.testing.assert_allclose(F.softmax(x, axis=axis).data, np.exp(expected))
    np.testing.assert_allclose(F.softmax(x, axis=axis).data.sum(axis=axis), 1.0)
    weights = np.random.default_rng(1).standard_normal(shape)
    assert gradcheck(lambda t: F.softmax(t, axis=axis) * weights, x)
    assert gradcheck(lambda t: F.log_softmax(t, axis=axis) * weights, x)


def test_softmax_is_stable_for_huge_scores():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        p = F.softmax(minigrad.tensor([1000.0, 1000.0, -1000.0])).data
        logp = F.log_softmax(minigrad.tensor([1000.0, 0.0])).data
    np.testing.assert_allclose(p, [0.5, 0.5, 0.0])
    np.testing.assert_allclose(logp, [0.0, -1000.0])


# --------------------------------------------------------------------------- cross-entropy
def test_cross_entropy_matches_the_definition():
    logits = leaf((4, 5))
    targets = np.array([0, 4, 2, 2])
    log_probs = reference_log_softmax(logits.data)
    picked = -log_probs[np.arange(4), targets]
    assert F.cross_entropy(logits, targets).item() == pytest.approx(picked.mean())
    assert F.cross_entropy(logits, targets, reduction="sum").item() == pytest.approx(picked.sum())
    np.testing.assert_allclose(F.cross_entropy(logits, targets, reduction="none").data, picked)


def test_cross_entropy_gradient_is_softmax_minus_one_hot():
    logits = leaf((3, 4))
    targets = minigrad.tensor(np.array([1, 0, 3]))
    F.cross_entropy(logits, targets, reduction="sum").backward()
    expected = np.exp(reference_log_softmax(logits.data)) - np.eye(4)[targets.data]
    np.testing.assert_allclose(logits.grad, expected)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_with_padding_gradcheck(reduction):
    logits = leaf((6, 5))
    targets = np.array([3, -100, 0, 4, -100, 1])
    assert gradcheck(lambda t: F.cross_entropy(t, targets, reduction=reduction, ignore_index=-100), logits)


def test_ignored_rows_get_no_gradient_and_do_not_count():
    logits = leaf((4, 3))
    targets = np.array([2, 0, 0, 1])
    padded = F.cross_entropy(logits, targets, ignore_index=0)
    kept = F.cross_entropy(logits[[0, 3]], targets[[0, 3]])
    assert padded.item() == pytest.approx(kept.item())
    padded.backward()
    np.testing.assert_array_equal(logits.grad[1:3], 0.0)


def test_cross_entropy_errors():
    logits = leaf((3, 4))
    with pytest.raises(ValueError, match=r"logits must have shape \(N, C\), got \(2, 3, 4\)"):
        F.cross_entropy(leaf((2, 3, 4)), np.zeros((2, 3), dtype=int))
    with pytest.raises(ValueError, match=r"logits \(3, 4\) need targets of shape \(3,\), got \(2,\)"):
        F.cross_entropy(logits, np.array([0, 1]))
    with pytest.raises(TypeError, match="targets must be integer class indices, got dtype float64"):
        F.cross_entropy(logits, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 4\) for logits \(3, 4\), found values from 0 to 4"):
        F.cross_entropy(logits, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match="reduction must be"):
        F.cross_entropy(logits, np.array([0, 1, 2]), reduction="avg")


def test_cross_entropy_float32():
    logits = minigrad.tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    loss = F.cross_entropy(logits, np.array([0, 2]))
    loss.backward()
    assert loss.dtype == np.float32 and logits.grad.dtype == np.float32


# ------------------------------------------------------------------ one_hot, embedding, dropout
def test_one_hot():
    out = F.one_hot(np.array([[0, 2], [1, 1]]), 3)
    assert out.shape == (2, 2, 3) and out.dtype == np.float64
    np.testing.assert_array_equal(out.data[0], [[1, 0, 0], [0, 0, 1]])
    with pytest.raises(ValueError, match=r"one_hot: indices must lie in \[0, 3\), found values from 0 to 3"):
        F.one_hot([0, 3], 3)
    with pytest.raises(TypeError, match="one_hot: indices must be integers, got dtype float64"):
        F.one_hot(np.array([0.0]), 3)


def test_embedding_equals_one_hot_times_weight():
    weight = leaf((5, 3))
    indices = np.array([[0, 4, 4], [2, 0, 1]])
    np.testing.assert_allclose(F.embedding(indices, weight).data, F.one_hot(indices, 5).data @ weight.data)
    assert gradcheck(lambda w: F.embedding(indices, w) * np.arange(18.0).reshape(2, 3, 3), weight)
    with pytest.raises(ValueError, match=r"embedding: indices must lie in \[0, 5\) for weight \(5, 3\)"):
        F.embedding(np.array([5]), weight)


def test_dropout():
    x = minigrad.ones(1000, requires_grad=True)
    y = F.dropout(x, 0.25, rng=np.random.default_rng(0))
    kept = y.data != 0
    assert 0.7 < kept.mean() < 0.8
    np.testing.assert_allclose(y.data[kept], 1 / 0.75)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, y.data)
    assert F.dropout(x, 0.5, training=False) is x
    again = F.dropout(x, 0.25, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(again.data, y.data)
    with pytest.raises(ValueError, match=r"dropout: p must be in \[0, 1\), got 1.0"):
        F.dropout(x, 1.0)


@settings(max_examples=25, deadline=None)
@given(
    logits=hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(2, 5)),
                      elements=st.floats(-20, 20, allow_nan=False)),
    data=st.data(),
)
def test_hypothesis_cross_entropy(logits, data):
    n, classes = logits.shape
    targets = np.array(data.draw(st.lists(st.integers(-1, classes - 1), min_size=n, max_size=n)))
    x = minigrad.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x, targets, reduction="sum", ignore_index=-1)
    kept = targets != -1
    expected = -reference_log_softmax(logits)[np.arange(n)[kept], targets[kept]].sum()
    assert loss.item() == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert gradcheck(lambda t: F.cross_entropy(t, targets, reduction="sum", ignore_index=-1), x)


# ------------------------------------------------------------------------------- composites
def test_vanilla_rnn_over_20_steps_gradcheck():
    """Pattern A (chapter 3): h = tanh(b + W h + U x), o = c + V h, cross-entropy at every step."""
    steps, batch, n_in, hidden, classes = 20, 2, 3, 4, 3
    rng = np.random.default_rng(7)
    x = minigrad.tensor(rng.standard_normal((steps, batch, n_in)))
    targets = rng.integers(0, classes, size=(steps, batch))
    U, W, b = leaf((n_in, hidden), 1, 0.5), leaf((hidden, hidden), 2, 0.5), leaf(hidden, 3, 0.1)
    V, c = leaf((hidden, classes), 4, 0.5), leaf(classes, 5, 0.1)
    h0 = leaf((batch, hidden), 6, 0.5)

    def loss_fn(U, W, b, V, c, h0):
        xw = x @ U + b
        h, states = h0, []
        for t in range(steps):
            h = (xw[t] + h @ W).tanh()
            states.append(h)
        logits = minigrad.stack(states) @ V + c
        return F.cross_entropy(logits.reshape(-1, classes), targets.reshape(-1))

    assert gradcheck(loss_fn, U, W, b, V, c, h0)


def test_one_lstm_step_gradcheck():
    """One LSTM step with PyTorch's gate order i, f, g, o (chapter 10)."""
    batch, n_in, hidden = 2, 3, 4
    x = leaf((batch, n_in), 1)
    h, c = leaf((batch, hidden), 2), leaf((batch, hidden), 3)
    weight_ih, weight_hh = leaf((4 * hidden, n_in), 4, 0.5), leaf((4 * hidden, hidden), 5, 0.5)
    bias = leaf(4 * hidden, 6, 0.1)

    def lstm_step(x, h, c, weight_ih, weight_hh, bias):
        gates = x @ weight_ih.T + h @ weight_hh.T + bias
        i, f, g, o = gates.chunk(4, axis=1)
        c_next = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h_next = o.sigmoid() * c_next.tanh()
        return minigrad.cat([h_next, c_next], axis=1)

    assert gradcheck(lstm_step, x, h, c, weight_ih, weight_hh, bias)


def test_padded_sequence_loss_with_embedding_gradcheck():
    """Embedding -> tanh RNN -> softmax cross-entropy that ignores the padding positions."""
    pad, vocab, steps, batch, hidden = 0, 6, 5, 3, 4
    tokens = np.array([[1, 2, 3, 4, 5], [2, 2, 5, pad, pad], [4, 1, pad, pad, pad]]).T  # (T, B)
    embedding, W = leaf((vocab, hidden), 1, 0.5), leaf((hidden, hidden), 2, 0.5)
    V = leaf((hidden, vocab), 3, 0.5)

    def loss_fn(embedding, W, V):
        xs = F.embedding(tokens[:-1], embedding)
        h = minigrad.zeros(batch, hidden)
        outputs = []
        for t in range(steps - 1):
            h = (xs[t] + h @ W).tanh()
            outputs.append(h @ V)
        logits = minigrad.stack(outputs).reshape(-1, vocab)
        return F.cross_entropy(logits, tokens[1:].reshape(-1), ignore_index=pad)

    assert gradcheck(loss_fn, embedding, W, V)


# --------------------------------------------------------------------------------- grid_taps
def test_grid_taps_gathers_the_neighbours_with_zeros_outside():
    x = np.arange(2 * 3 * 4 * 2, dtype=float).reshape(2, 3, 4, 2)
    offsets = [(-1, -1), (-1, 1), (0, -2), (0, 0), (2, 1)]
    out = F.grid_taps(minigrad.tensor(x), offsets).data
    assert out.shape == (2, 3, 4, 10)
    for s, (dr, dc) in enumerate(offsets):
        for r in range(3):
            for j in range(4):
                inside = 0 <= r + dr < 3 and 0 <= j + dc < 4
                expected = x[:, r + dr, j + dc] if inside else np.zeros((2, 2))
                np.testing.assert_array_equal(out[:, r, j, 2 * s:2 * s + 2], expected)


@pytest.mark.parametrize("shape", [(3, 4, 2), (2, 3, 4, 2), (2, 1, 3, 5, 1)])
def test_grid_taps_gradcheck(shape):
    offsets = [(-1, 0), (-1, 1), (0, -1), (0, 0), (1, -2), (-3, 0)]  # one offset larger than the grid
    assert gradcheck(lambda x: F.grid_taps(x, offsets), leaf(shape, seed=3))


def test_grid_taps_names_bad_arguments():
    with pytest.raises(ValueError, match=r"grid_taps: need an input \(\.\.\., R, C, D\)"):
        F.grid_taps(minigrad.zeros(3, 4), [(0, 0)])
    with pytest.raises(ValueError, match="at least one offset"):
        F.grid_taps(minigrad.zeros(2, 3, 4), [])
