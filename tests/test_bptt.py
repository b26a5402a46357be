"""The hand-derived BPTT of pattern A (minigrad.bptt, chapter 4) against autograd, finite differences and SymPy."""

import numpy as np
import pytest
import sympy

from minigrad import Tensor
from minigrad import functional as F
from minigrad.analysis import graph_memory
from minigrad.bptt import (
    PARAMETER_NAMES,
    bptt_gradients,
    central_differences,
    checkpointed_backward,
    elman_forward,
    per_loss_state_gradients,
    relative_difference,
    rtrl_gradients,
    squared_error_gradients,
    windowed_bptt_gradients,
    symbolic_gradients,
    symbolic_loss,
    symbolic_agreement,
)
from minigrad.nn import ElmanRNN


def _problem(seed, steps, batch, inputs, hidden, outputs):
    rng = np.random.default_rng(seed)
    model = ElmanRNN(inputs, hidden, outputs, rng=rng)
    x = rng.normal(size=(steps, batch, inputs))
    targets = rng.integers(0, outputs, size=(steps, batch))
    h0 = rng.normal(scale=0.5, size=(batch, hidden))
    return model, x, targets, h0


def _params(model):
    return {name: p.data.copy() for name, p in model.named_parameters()}


def _autograd(model, x, targets, h0, truncation=None):
    """Gradients by minigrad's autograd; with truncation, detach the state every k steps."""
    model.zero_grad()
    h_start = Tensor(h0, requires_grad=True)
    state, steps = h_start, x.shape[0]
    k = truncation or steps
    for start in range(0, steps, k):
        o, h = model(x[start:start + k], h0=state)
        loss = F.cross_entropy(o.reshape(-1, o.shape[-1]), targets[start:start + k].reshape(-1), reduction="sum")
        loss.backward()
        state = h[-1].detach()
    grads = {name: p.grad.copy() for name, p in model.named_parameters()}
    grads["h0"] = h_start.grad.copy()
    return grads


@pytest.mark.parametrize("sizes", [(1, 1, 1, 1, 2), (5, 3, 2, 4, 3), (9, 2, 3, 5, 4)])
def test_bptt_matches_autograd(sizes):
    model, x, targets, h0 = _problem(0, *sizes)
    params = _params(model)
    ours = bptt_gradients(params, elman_forward(params, x, targets, h0))
    theirs = _autograd(model, x, targets, h0)
    for name in (*PARAMETER_NAMES, "h0"):
        assert ours[name].shape == theirs[name].shape
        assert relative_difference(ours[name], theirs[name]) < 1e-12, name


def test_bptt_matches_finite_differences():
    model, x, targets, h0 = _problem(1, 6, 2, 3, 4, 3)
    params = _params(model)
    ours = bptt_gradients(params, elman_forward(params, x, targets, h0))
    numeric = central_differences(lambda p: elman_forward(p, x, targets, h0).loss, params)
    for name in PARAMETER_NAMES:
        assert relative_difference(ours[name], numeric[name]) < 1e-7, name


def test_gradient_of_hidden_state_is_total_derivative():
    """grad["h"][0] is dL/dh^(1) through every later step: the direct term of step 1's output plus
    the gradient with respect to the initial state of the sequence that starts at step 2."""
    model, x, targets, h0 = _problem(2, 4, 1, 2, 3, 2)
    params = _params(model)
    grads = bptt_gradients(params, elman_forward(params, x, targets, h0))
    rest = bptt_gradients(params, elman_forward(params, x[1:], targets[1:], elman_forward(params, x[:1], targets[:1], h0).h[1]))
    direct = (grads["o"][0] @ params["V"])
    assert relative_difference(grads["h"][0], rest["h0"] + direct) < 1e-12


@pytest.mark.parametrize("k", [1, 2, 3, 7])
def test_truncated_bptt_matches_detached_autograd(k):
    model, x, targets, h0 = _problem(3, 7, 2, 2, 3, 3)
    params = _params(model)
    ours = bptt_gradients(params, elman_forward(params, x, targets, h0), truncation=k)
    theirs = _autograd(model, x, targets, h0, truncation=k)
    for name in PARAMETER_NAMES:
        assert relative_difference(ours[name], theirs[name]) < 1e-12, (k, name)


def test_truncation_changes_the_gradient_and_full_length_does_not():
    model, x, targets, h0 = _problem(4, 8, 1, 2, 3, 2)
    params = _params(model)
    forward = elman_forward(params, x, targets, h0)
    full = bptt_gradients(params, forward)
    assert relative_difference(bptt_gradients(params, forward, truncation=8)["W"], full["W"]) == 0
    assert relative_difference(bptt_gradients(params, forward, truncation=2)["W"], full["W"]) > 1e-3


def _windowed_autograd(model, x, targets, h0, window, stride):
    """BPTT(h; h') with autograd: every h' steps, rerun the last h steps from the stored (detached)
    state and backpropagate the losses of the last h' steps only."""
    model.zero_grad()
    params = _params(model)
    states = elman_forward(params, x, targets, h0).h  # h^(0..tau)
    steps = x.shape[0]
    for end in range(stride, steps + stride, stride):
        start, stop = max(end - window, 0), min(end, steps)
        o, _ = model(x[start:stop], h0=Tensor(states[start]))
        losses = o[end - stride - start:]
        F.cross_entropy(losses.reshape(-1, o.shape[-1]), targets[end - stride:stop].reshape(-1),
                        reduction="sum").backward()
    return {name: p.grad.copy() for name, p in model.named_parameters()}


@pytest.mark.parametrize("window, stride", [(4, 2), (5, 1), (6, 4), (3, 3), (20, 1)])
def test_windowed_bptt_matches_windowed_autograd(window, stride):
    model, x, targets, h0 = _problem(7, 11, 2, 2, 3, 3)
    params = _params(model)
    ours = windowed_bptt_gradients(params, elman_forward(params, x, targets, h0), window, stride)
    theirs = _windowed_autograd(model, x, targets, h0, window, stride)
    for name in PARAMETER_NAMES:
        assert relative_difference(ours[name], theirs[name]) < 1e-12, (window, stride, name)


def test_windowed_bptt_contains_chunks_and_full_bptt():
    model, x, targets, h0 = _problem(8, 9, 2, 3, 4, 3)
    params = _params(model)
    forward = elman_forward(params, x, targets, h0)
    full, chunked = bptt_gradients(params, forward), bptt_gradients(params, forward, truncation=4)
    same_chunks = windowed_bptt_gradients(params, forward, 4, 4)
    every_loss_fully = windowed_bptt_gradients(params, forward, 9, 1)
    for name in (*PARAMETER_NAMES, "h", "o", "h0"):
        assert relative_difference(same_chunks[name], chunked[name]) < 1e-14, name
        assert relative_difference(every_loss_fully[name], full[name]) < 1e-12, name
    with pytest.raises(ValueError, match="stride <= window"):
        windowed_bptt_gradients(params, forward, 2, 3)


def test_per_loss_terms_sum_to_the_recursion_and_match_one_loss_autograd():
    model, x, targets, h0 = _problem(9, 6, 2, 2, 3, 3)
    params = _params(model)
    forward = elman_forward(params, x, targets, h0)
    terms = per_loss_state_gradients(params, forward)
    assert terms.shape == (6, 6, 2, 3)
    assert relative_difference(terms.sum(axis=0), bptt_gradients(params, forward)["h"]) < 1e-12
    loss_steps, later_states = np.triu_indices(6, 1)
    assert np.all(terms[loss_steps, later_states] == 0)  # the loss of step k never reaches a state after k
    k = 4  # the loss of step 5 alone, by autograd on every state
    from minigrad.nn.patterns import elman_states
    U, W, b = (Tensor(params[n], requires_grad=True) for n in ("U", "W", "b"))
    states = elman_states(Tensor(x), Tensor(h0), U, W, b)
    for state in states:
        state.retain_grad()
    o = states[k] @ Tensor(params["V"]).T + Tensor(params["c"])
    F.cross_entropy(o, targets[k], reduction="sum").backward()
    for t in range(k + 1):
        assert relative_difference(terms[k, t], states[t].grad) < 1e-12, t


@pytest.mark.parametrize("sizes", [(1, 1, 1, 1, 2), (7, 3, 2, 4, 3)])
def test_rtrl_equals_bptt(sizes):
    model, x, targets, h0 = _problem(10, *sizes)
    params = _params(model)
    forward = elman_forward(params, x, targets, h0)
    ours, reference = rtrl_gradients(params, forward), bptt_gradients(params, forward)
    for name in PARAMETER_NAMES:
        assert ours[name].shape == reference[name].shape
        assert relative_difference(ours[name], reference[name]) < 1e-12, name


@pytest.mark.parametrize("segment", [1, 3, 4, 10, 12])
def test_checkpointed_backward_equals_autograd(segment):
    model, x, targets, h0 = _problem(11, 10, 2, 3, 4, 3)
    reference = _autograd(model, x, targets, h0)
    model.zero_grad()
    graphs = []
    loss = checkpointed_backward(model, x, targets, segment, h0=h0, on_graph=graphs.append)
    assert loss == pytest.approx(elman_forward(_params(model), x, targets, h0).loss, rel=1e-12)
    assert len(graphs) == -(-10 // segment)
    for name, p in model.named_parameters():
        assert relative_difference(p.grad, reference[name]) < 1e-12, (segment, name)


def test_checkpointing_keeps_a_smaller_graph():
    model, x, targets, h0 = _problem(12, 16, 2, 3, 4, 3)
    sizes = {}
    for segment in (1, 4, 16):
        graphs = []
        model.zero_grad()
        checkpointed_backward(model, x, targets, segment,
                              on_graph=lambda loss: graphs.append(graph_memory(loss)))
        sizes[segment] = max(g.saved_bytes for g in graphs)
    assert sizes[1] < sizes[4] < sizes[16]
    with pytest.raises(ValueError, match="at least 1"):
        checkpointed_backward(model, x, targets, 0)


def test_squared_error_gradients_match_autograd():
    rng = np.random.default_rng(13)
    model = ElmanRNN(3, 4, 2, rng=rng)
    model.b.data[...] = 0.0
    model.c.data[...] = 0.0
    xs, d, S0 = rng.normal(size=(6, 3)), rng.uniform(size=(6, 2)), rng.uniform(-0.5, 0.5, size=4)
    o, h = model(Tensor(xs[:, None]), h0=Tensor(S0[None]))
    Y = o[:, 0].sigmoid()
    ((Tensor(d) - Y) ** 2).sum().backward()
    S = np.vstack([S0, h.data[:, 0]])
    ours = squared_error_gradients(model.U.data, model.W.data, model.V.data, xs, S, Y.data, d)
    for ours_name, name in (("W_x", "U"), ("W_s", "W"), ("W_Y", "V")):
        assert relative_difference(ours[ours_name], getattr(model, name).grad) < 1e-12, name


def test_forward_loss_matches_cross_entropy():
    model, x, targets, h0 = _problem(5, 4, 3, 2, 3, 4)
    o, _ = model(x, h0=Tensor(h0))
    expected = F.cross_entropy(o.reshape(-1, 4), targets.reshape(-1), reduction="sum").item()
    assert elman_forward(_params(model), x, targets, h0).loss == pytest.approx(expected, rel=1e-12)


def test_bad_input_names_the_problem():
    model, x, targets, h0 = _problem(6, 3, 2, 2, 3, 2)
    params = _params(model)
    with pytest.raises(ValueError, match="x must have shape"):
        elman_forward(params, x[..., :1], targets, h0)
    with pytest.raises(ValueError, match="targets must be integers"):
        elman_forward(params, x, targets.astype(float), h0)
    with pytest.raises(ValueError, match="targets must lie in"):
        elman_forward(params, x, targets + 5, h0)
    with pytest.raises(ValueError, match="parameter W has shape"):
        elman_forward({**params, "W": np.zeros((2, 2))}, x, targets, h0)
    with pytest.raises(KeyError, match="missing c"):
        elman_forward({k: v for k, v in params.items() if k != "c"}, x, targets, h0)
    with pytest.raises(ValueError, match="truncation"):
        bptt_gradients(params, elman_forward(params, x, targets, h0), truncation=0)


def test_relative_difference():
    assert relative_difference([1.0, 2.0], [1.0, 2.0]) == 0
    assert relative_difference([0.0, 0.0], [0.0, 0.0]) == 0
    assert relative_difference([1.0, 4.0], [1.0, 2.0]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="shapes differ"):
        relative_difference([1.0], [1.0, 2.0])


@pytest.mark.parametrize("sizes", [(2, 1, 1, 1, [1, 0]), (2, 1, 2, 2, [1, 0])])
def test_symbolic_recursion_equals_sympy_derivative(sizes):
    *dims, targets = sizes
    unrolled = symbolic_loss(*dims, targets)
    agreement = symbolic_agreement(unrolled, symbolic_gradients(unrolled))
    assert set(agreement) == set(PARAMETER_NAMES)
    assert all(all(entries) for entries in agreement.values()), agreement


def test_symbolic_agreement_detects_a_wrong_formula():
    unrolled = symbolic_loss(2, 1, 1, 1, [1, 0])
    formulas = symbolic_gradients(unrolled)
    wrong = dict(formulas, W=formulas["W"] * 2)
    agreement = symbolic_agreement(unrolled, wrong)
    assert agreement["W"] == [False] and agreement["U"] == [True]


def test_symbolic_matches_numeric():
    unrolled = symbolic_loss(3, 1, 2, 2, [1, 0, 1])
    formulas = symbolic_gradients(unrolled)
    rng = np.random.default_rng(7)
    params = {"U": rng.normal(size=(2, 1)), "W": rng.normal(size=(2, 2)), "V": rng.normal(size=(2, 2)),
              "b": rng.normal(size=2), "c": rng.normal(size=2)}
    x, h0 = rng.normal(size=(3, 1, 1)), rng.normal(size=(1, 2))
    values = {s: sympy.Float(params[n].reshape(-1)[i]) for n, m in unrolled["params"].items() for i, s in enumerate(m)}
    values.update({s: sympy.Float(x[t, 0, i]) for t, m in enumerate(unrolled["x"]) for i, s in enumerate(m)})
    values.update({s: sympy.Float(h0[0, i]) for i, s in enumerate(unrolled["h"][0])})
    numeric = bptt_gradients(params, elman_forward(params, x, np.array([[1], [0], [1]]), h0))
    for name in PARAMETER_NAMES:
        evaluated = np.array(formulas[name].xreplace(values), dtype=float).reshape(numeric[name].shape)
        assert relative_difference(evaluated, numeric[name]) < 1e-12, name
