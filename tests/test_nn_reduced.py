"""Reduced-gate cells (minigrad.nn.reduced): gradients and the docstring equations."""

from __future__ import annotations

import numpy as np

import minigrad
from minigrad.nn.reduced import CIFGCell, MGUCell


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
