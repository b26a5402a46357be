"""Gradient-flow measurements (minigrad.analysis), checked in float64 against the product of
Jacobians and against finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad import Tensor, nn
from minigrad.analysis import (conv_inputs_read, gate_trace, gradient_norms_by_lag, gradients_three_ways, graph_memory, linear_probe,
                               pixel_influence, unroll)


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


# ---------------------------------------------------------------------------- graph_memory
def test_graph_memory_counts_saved_arrays_and_sets_leaves_apart():
    rng = np.random.default_rng(0)
    x = Tensor(rng.normal(size=(4, 3)))  # a constant input: a leaf
    w = Tensor(rng.normal(size=(3, 5)), requires_grad=True)
    loss = (x @ w).tanh().sum()
    memory = graph_memory(loss)
    assert memory.operations == 3  # matmul, tanh, sum
    assert memory.saved_bytes == 4 * 5 * 8  # the tanh output; matmul saved only leaves
    assert memory.leaf_bytes == x.data.nbytes + w.data.nbytes
    assert memory.by_operation == {"tanh": 4 * 5 * 8}


def test_graph_memory_charges_a_view_to_its_owner_once():
    rng = np.random.default_rng(1)
    w = Tensor(rng.normal(size=(6, 6)), requires_grad=True)
    h0 = Tensor(rng.normal(size=(2, 6)))
    h = h0
    for _ in range(5):  # a new view w.T at every step, as an unrolled network without hoisting
        h = (h @ w.T).tanh()
    memory = graph_memory(h.sum())
    assert memory.leaf_bytes == w.data.nbytes + h0.data.nbytes  # w once, not five times
    assert memory.saved_bytes == 5 * 2 * 6 * 8  # the five tanh outputs, each saved twice
    y = (Tensor(rng.normal(size=(3, 4))) @ w[:4, :]).tanh()  # y owns its buffer
    row = y[0]  # a view of y, saved twice by the product below
    assert graph_memory((row * row).sum()).by_operation["tanh"] == y.data.nbytes


def test_graph_memory_grows_by_the_same_bytes_every_step():
    rng = np.random.default_rng(2)
    model = nn.ElmanRNN(3, 8, 4, rng=rng)
    batch, sizes = 5, []
    for steps in (10, 20, 30):
        o, _ = model(rng.normal(size=(steps, batch, 3)))
        loss = minigrad.functional.cross_entropy(o.reshape(-1, 4), rng.integers(0, 4, size=steps * batch),
                                                 reduction="sum")
        sizes.append(graph_memory(loss))
    per_step = (batch * 8 + batch * 8 + batch * 4) * 8  # tanh output, stacked state, log-probabilities
    assert [b.saved_bytes - a.saved_bytes for a, b in zip(sizes, sizes[1:])] == [10 * per_step] * 2
    assert [b.operations - a.operations for a, b in zip(sizes, sizes[1:])] == [10 * 4] * 2
    # the leaves that grow are the inputs (3 numbers per step and sequence) and the targets (1)
    assert sizes[1].leaf_bytes - sizes[0].leaf_bytes == 10 * batch * (3 + 1) * 8


def test_graph_memory_needs_a_graph():
    with pytest.raises(ValueError, match="recorded graph"):
        graph_memory(Tensor([1.0, 2.0], requires_grad=True))
    with minigrad.no_grad():
        y = Tensor([1.0], requires_grad=True) * 2
    with pytest.raises(ValueError, match="recorded graph"):
        graph_memory(y)


# ---------------------------------------------------------------------------- linear_probe
def test_linear_probe_reads_a_linear_target_and_not_noise():
    rng = np.random.default_rng(3)
    features = rng.normal(size=(400, 5))
    assert linear_probe(features, features @ [1.0, -2.0, 0.5, 0.0, 3.0] + 4.0, rng) == pytest.approx(1.0)
    assert linear_probe(features, rng.normal(size=400), rng) < 0.1
    halfway = linear_probe(features, features[:, 0] + rng.normal(size=400), rng)
    assert 0.3 < halfway < 0.7  # half of the variance is explained


def test_linear_probe_rejects_bad_input():
    rng = np.random.default_rng(4)
    with pytest.raises(ValueError, match="features"):
        linear_probe(np.zeros((10, 2)), np.zeros(9), rng)
    with pytest.raises(ValueError, match="test_fraction"):
        linear_probe(np.zeros((10, 2)), np.zeros(10), rng, test_fraction=1.0)
    with pytest.raises(ValueError, match="too few"):
        linear_probe(np.zeros((3, 2)), np.arange(3.0), rng)
    with pytest.raises(ValueError, match="all equal"):
        linear_probe(rng.normal(size=(10, 2)), np.ones(10), rng)


def test_pixel_influence_finds_the_row_lstm_triangle_and_nothing_after_the_target():
    """One Row LSTM layer, k = 1: at d rows above the target it reaches columns j - (d + 1) .. j + d."""
    model = nn.PixelRNN(8, 8, levels=5, hidden_size=4, embedding_dim=3, rng=np.random.default_rng(0))
    images = np.random.default_rng(1).integers(0, 5, size=(3, 8, 8))
    row, col = 5, 3
    seen = pixel_influence(model, images, row, col, levels=5) > 0
    expected = np.zeros((8, 8), dtype=bool)
    expected[row, col - 1] = True
    for d in range(1, row + 1):
        expected[row - d, max(0, col - d - 1):col + d + 1] = True
    np.testing.assert_array_equal(seen, expected)
    assert seen.sum() == 34


def test_conv_inputs_read_traces_dilations_and_strides():
    """Adjacent reads give 1 + L (k - 1) positions; a dilation skips positions; a stride below spreads the layer above."""
    assert conv_inputs_read([3, 3, 3], [1, 1, 1], [1, 1, 1]) == list(range(7))
    assert conv_inputs_read([2, 2], [1, 2], [1, 1]) == [0, 1, 2, 3]
    assert conv_inputs_read([3], [2], [1]) == [0, 2, 4]
    assert conv_inputs_read([2, 2], [1, 1], [2, 1]) == [0, 1, 2, 3]
    assert conv_inputs_read([1, 2], [1, 1], [3, 1]) == [0, 3]
