"""The hand-derived BPTT of pattern A (minigrad.bptt, chapter 4) against autograd, finite differences and SymPy."""

import numpy as np
import pytest
import sympy

from minigrad import Tensor
from minigrad import functional as F
from minigrad.bptt import (
    PARAMETER_NAMES,
    bptt_gradients,
    central_differences,
    elman_forward,
    relative_difference,
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
