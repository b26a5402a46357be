"""Reduced-gate cells and their fused layers (minigrad.nn.reduced): gradients, the docstring equations, fused = unrolled."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad.nn.reduced import CIFG, MGU, CIFGCell, MGUCell


def _sig(a):
    return 1 / (1 + np.exp(-a))


def test_reduced_cells_pass_gradcheck():
    rng = np.random.default_rng(0)
    x, h, c = (minigrad.Tensor(rng.standard_normal((2, n)), requires_grad=True) for n in (3, 2, 2))
    mgu, cifg = MGUCell(3, 2, rng=rng), CIFGCell(3, 2, rng=rng)
    assert minigrad.gradcheck(lambda x, h, *p: mgu(x, h), x, h, *mgu.parameters())
    assert minigrad.gradcheck(lambda x, h, c, *p: minigrad.cat(cifg(x, (h, c)), axis=1),
                              x, h, c, *cifg.parameters())


def test_reduced_cells_follow_their_equations():
    rng = np.random.default_rng(1)
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 2)), rng.standard_normal((2, 2))
    mgu = MGUCell(3, 2, rng=rng)
    p = mgu.state_dict()
    gi, gh = x @ p["weight_ih"].T + p["bias_ih"], h @ p["weight_hh"].T + p["bias_hh"]
    f = _sig(gi[:, :2] + gh[:, :2])
    n = np.tanh(gi[:, 2:] + f * gh[:, 2:])
    np.testing.assert_allclose(mgu(minigrad.Tensor(x), minigrad.Tensor(h)).data, (1 - f) * h + f * n, rtol=1e-12)
    assert p["weight_hh"].shape == (4, 2)

    cifg = CIFGCell(3, 2, rng=rng)
    p = cifg.state_dict()
    a = x @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"]
    f, g, o = _sig(a[:, :2]), np.tanh(a[:, 2:4]), _sig(a[:, 4:])
    c1 = f * c + (1 - f) * g
    h1, c1_m = cifg(minigrad.Tensor(x), (minigrad.Tensor(h), minigrad.Tensor(c)))
    np.testing.assert_allclose(c1_m.data, c1, rtol=1e-12)
    np.testing.assert_allclose(h1.data, o * np.tanh(c1), rtol=1e-12)
    assert p["weight_ih"].shape == (6, 3)


@pytest.mark.parametrize("layer_class, cell_class", [(MGU, MGUCell), (CIFG, CIFGCell)])
def test_fused_layer_equals_its_cell_unrolled(layer_class, cell_class):
    rng = np.random.default_rng(2)
    layer = layer_class(3, 4, rng=rng)
    cell = cell_class(3, 4, rng=rng)
    cell.load_state_dict({name[:-3]: value for name, value in layer.state_dict().items()})  # drop "_l0"
    xs = rng.standard_normal((6, 2, 3))
    output, _ = layer(minigrad.Tensor(xs))
    (output * minigrad.Tensor(xs[..., :1])).sum().backward()
    state, outputs = None, []
    for x_t in xs:
        state = cell(minigrad.Tensor(x_t), state)
        outputs.append(state[0] if isinstance(state, tuple) else state)
    unrolled = minigrad.stack(outputs)
    (unrolled * minigrad.Tensor(xs[..., :1])).sum().backward()
    np.testing.assert_allclose(output.data, unrolled.data, rtol=1e-12, atol=1e-15)
    for name, param in layer.named_parameters():
        np.testing.assert_allclose(param.grad, getattr(cell, name[:-3]).grad, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("layer_class", [MGU, CIFG])
def test_fused_layer_gradcheck_with_two_layers_both_directions_and_lengths(layer_class):
    rng = np.random.default_rng(3)
    layer = layer_class(2, 3, num_layers=2, bidirectional=True, rng=rng)
    x = minigrad.Tensor(rng.standard_normal((4, 3, 2)), requires_grad=True)
    assert minigrad.gradcheck(lambda x, *p: layer(x, lengths=[4, 2, 1])[0], x, *layer.parameters())
