"""Gradient-flow measurements (minigrad.analysis), checked in float64 against the product of
Jacobians and against finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad import Tensor, nn
from minigrad.analysis import gate_trace, gradient_norms_by_lag, gradients_three_ways, unroll


def _v_dot_last_h(cell, xs, state):
    """L = v . h(tau) as a float, running ``cell`` over ``xs`` from ``state`` (no graph)."""
    with minigrad.no_grad():
        for x in xs:
            state = cell(Tensor(x), state)
    return state[0].data if isinstance(state, tuple) else state.data


def _output_gate(cell, x, h_prev):
    """o(t) = sigmoid(block 3 of W_ih x + b_ih + W_hh h(t-1) + b_hh) of an LSTMCell (gate order i, f, g, o)."""
    pre = cell.weight_ih.data @ x + cell.bias_ih.data + cell.weight_hh.data @ h_prev + cell.bias_hh.data
    return 1 / (1 + np.exp(-np.split(pre, 4)[3]))


def _finite_difference_norms(cell, xs, v, wrt="h", eps=1e-6):
    """||dL/ds(t)|| by central differences on each state s(t), by lag.

    A change of the memory cell c(t) also changes h(t) = o(t) tanh(c(t)) of the same step.
    """
    with minigrad.no_grad():
        states = unroll(cell, xs)
    norms = []
    for t in range(len(xs) - 1, -1, -1):  # lag 0 first
        state = states[t]
        parts = [p.data for p in state] if isinstance(state, tuple) else [state.data]
        which = 1 if wrt == "c" else 0
        grad = np.zeros_like(parts[which])
        for i in range(grad.size):
            values = []
            for sign in (1, -1):
                moved = [p.copy() for p in parts]
                moved[which].flat[i] += sign * eps
                if wrt == "c":
                    h_prev = states[t - 1][0].data if t else np.zeros_like(moved[0])
                    moved[0] = _output_gate(cell, xs[t], h_prev) * np.tanh(moved[1])
                start = tuple(Tensor(p) for p in moved) if len(moved) == 2 else Tensor(moved[0])
                values.append(float(_v_dot_last_h(cell, xs[t + 1:], start) @ v))
            grad.flat[i] = (values[0] - values[1]) / (2 * eps)
        norms.append(np.linalg.norm(grad))
    return np.array(norms)


def test_vanilla_rnn_norms_equal_the_product_of_jacobians():
    rng = np.random.default_rng(0)
    cell = nn.RNNCell(3, 5, rng=rng)
    xs, v = rng.normal(size=(7, 3)), rng.normal(size=5)
    norms = gradient_norms_by_lag(cell, xs, v)

    with minigrad.no_grad():
        h = np.stack([s.data for s in unroll(cell, xs)])
    W = cell.weight_hh.data
    grad, expected = v.copy(), []
    for k in range(len(xs) - 1, -1, -1):  # dL/dh(k) = W^T diag(1 - h(k+1)^2) dL/dh(k+1)
        expected.append(np.linalg.norm(grad))
        grad = W.T @ ((1 - h[k] ** 2) * grad)
    assert norms.shape == (7,) and norms.dtype == np.float64
    np.testing.assert_allclose(norms, expected, rtol=1e-12)
    assert norms[0] == pytest.approx(np.linalg.norm(v), rel=1e-15)  # lag 0: the gradient is v itself


@pytest.mark.parametrize("make_cell, wrt", [(nn.GRUCell, "h"), (nn.LSTMCell, "h"), (nn.LSTMCell, "c")])
def test_gated_cell_norms_match_finite_differences(make_cell, wrt):
    rng = np.random.default_rng(1)
    cell = make_cell(2, 3, rng=rng)
    xs, v = rng.normal(size=(5, 2)), rng.normal(size=3)
    norms = gradient_norms_by_lag(cell, xs, v, wrt=wrt)
    np.testing.assert_allclose(norms, _finite_difference_norms(cell, xs, v, wrt), rtol=1e-6, atol=1e-10)


def test_lstm_cell_gradient_differs_from_hidden_gradient():
    rng = np.random.default_rng(2)
    cell = nn.LSTMCell(2, 4, rng=rng)
    xs, v = rng.normal(size=(6, 2)), rng.normal(size=4)
    by_h, by_c = gradient_norms_by_lag(cell, xs, v, "h"), gradient_norms_by_lag(cell, xs, v, "c")
    assert not np.allclose(by_h, by_c)


def test_orthogonal_recurrence_in_the_linear_regime_decays_like_rho_to_the_lag():
    rng = np.random.default_rng(3)
    hidden, rho, tau = 16, 0.9, 30
    cell = nn.RNNCell(2, hidden, rng=rng)
    nn.init.orthogonal_(cell.weight_hh, gain=rho, rng=rng)
    cell.weight_ih.data *= 1e-4  # tiny inputs keep tanh' close to 1
    nn.init.zeros_(cell.bias_ih)
    nn.init.zeros_(cell.bias_hh)
    v = rng.normal(size=hidden)
    v /= np.linalg.norm(v)
    norms = gradient_norms_by_lag(cell, rng.normal(size=(tau, 2)), v)
    np.testing.assert_allclose(norms, rho ** np.arange(tau), rtol=1e-6)


def test_batched_inputs_sum_the_loss_over_the_batch():
    rng = np.random.default_rng(4)
    cell = nn.RNNCell(3, 4, rng=rng)
    xs, v = rng.normal(size=(5, 2, 3)), rng.normal(size=4)
    batched = gradient_norms_by_lag(cell, xs, v)
    each = [gradient_norms_by_lag(cell, xs[:, b], v) for b in range(2)]
    np.testing.assert_allclose(batched, np.hypot(*each), rtol=1e-12)


def test_unroll_keeps_the_gradient_of_every_state_and_starts_from_the_given_state():
    rng = np.random.default_rng(5)
    cell = nn.LSTMCell(2, 3, rng=rng)
    xs = rng.normal(size=(4, 2))
    start = (Tensor(rng.normal(size=3)), Tensor(rng.normal(size=3)))
    states = unroll(cell, xs, start)
    assert len(states) == 4 and all(isinstance(s, tuple) for s in states)
    expected = cell(Tensor(xs[0]), start)
    np.testing.assert_array_equal(states[0][0].data, expected[0].data)
    states[-1][0].sum().backward()
    assert all(h.grad is not None and c.grad is not None for h, c in states)


def test_bad_arguments_are_named():
    cell = nn.RNNCell(2, 3, rng=np.random.default_rng(6))
    xs = np.zeros((4, 2))
    with pytest.raises(ValueError, match="wrt must be 'h' or 'c'"):
        gradient_norms_by_lag(cell, xs, np.ones(3), wrt="a")
    with pytest.raises(ValueError, match="LSTMCell.*RNNCell"):
        gradient_norms_by_lag(cell, xs, np.ones(3), wrt="c")
    with pytest.raises(ValueError, match=r"v must have shape \(3,\)"):
        gradient_norms_by_lag(cell, xs, np.ones(4))
    with pytest.raises(ValueError, match="at least one input step"):
        gradient_norms_by_lag(cell, np.zeros((0, 2)), np.ones(3))


@pytest.mark.parametrize("make_layer", [lambda rng: nn.RNN(3, 4, rng=rng), lambda rng: nn.GRU(3, 4, rng=rng),
                                        lambda rng: nn.LSTM(3, 4, rng=rng)])
def test_gradients_three_ways_agree_and_leave_the_layer_unchanged(make_layer):
    rng = np.random.default_rng(20)
    layer = make_layer(rng)
    before = layer.state_dict()
    x, v = rng.normal(size=(5, 2, 3)), rng.normal(size=(5, 2, 4))
    grads = gradients_three_ways(layer, x, v)
    assert set(grads) == {"fused", "unrolled", "finite differences"}
    for name, value in grads["fused"].items():
        np.testing.assert_allclose(grads["unrolled"][name], value, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(grads["finite differences"][name], value, rtol=1e-5, atol=1e-7)
        assert np.abs(value).max() > 1e-3, f"{name}: a vacuous check"
    for name, value in layer.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_gradients_three_ways_rejects_what_it_cannot_check():
    with pytest.raises(ValueError, match="one-layer"):
        gradients_three_ways(nn.LSTM(2, 3, num_layers=2), np.zeros((2, 1, 2)), np.zeros((2, 1, 3)))
    with pytest.raises(ValueError, match="float64"):
        gradients_three_ways(nn.GRU(2, 3, dtype=np.float32), np.zeros((2, 1, 2)), np.zeros((2, 1, 3)))


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_gate_trace_records_the_layers_own_states_and_gates(kind):
    rng = np.random.default_rng(21)
    layer = (nn.GRU if kind == "gru" else nn.LSTM)(3, 4, rng=rng)
    x = rng.normal(size=(6, 2, 3))
    trace = gate_trace(layer, x)
    output, final = layer(Tensor(x))
    np.testing.assert_allclose(trace["h"], output.data, atol=1e-14)
    gates = ("r", "z") if kind == "gru" else ("i", "f", "o")
    for name in gates:
        assert trace[name].shape == (6, 2, 4) and trace[name].min() > 0 and trace[name].max() < 1
    if kind == "lstm":
        np.testing.assert_allclose(trace["c"][-1], final[1].data[0], atol=1e-14)
        # c(t) = f c(t-1) + i g, step by step
        np.testing.assert_allclose(trace["c"][1:], trace["f"][1:] * trace["c"][:-1] + trace["i"][1:] * trace["g"][1:],
                                   atol=1e-14)
    else:
        np.testing.assert_allclose(trace["h"][1:], (1 - trace["z"][1:]) * trace["n"][1:] + trace["z"][1:] * trace["h"][:-1],
                                   atol=1e-14)
    with pytest.raises(ValueError, match="GRU or LSTM"):
        gate_trace(nn.RNN(3, 4), x)
