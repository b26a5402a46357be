"""Optimisers and gradient clipping (minigrad.optim), against PyTorch trajectories."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import minigrad
from minigrad import optim

FIXTURE = Path(__file__).parent / "fixtures" / "torch_optim.npz"

CONFIGS = {
    "SGD_momentum": (optim.SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
    "SGD_plain": (optim.SGD, dict(lr=0.1)),
    "Adam": (optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-8, weight_decay=0.1)),
    "Adagrad": (optim.Adagrad, dict(lr=0.1, weight_decay=0.05, initial_accumulator_value=0.2)),
}


@pytest.mark.parametrize("name", CONFIGS)
def test_trajectory_matches_pytorch(name):
    with np.load(FIXTURE) as data:
        start, grads, path = data["start"], data["grads"], data[f"{name}/path"]
    cls, kwargs = CONFIGS[name]
    param = minigrad.Tensor(start.copy(), requires_grad=True)
    optimiser = cls([param], **kwargs)
    for g, expected in zip(grads, path):
        param.grad = g.copy()
        optimiser.step()
        np.testing.assert_allclose(param.data, expected, rtol=1e-12, atol=1e-14)


def test_clip_grad_norm_matches_pytorch_and_returns_the_norm_before_clipping():
    with np.load(FIXTURE) as data:
        a = minigrad.Tensor(np.zeros(3), requires_grad=True)
        b = minigrad.Tensor(np.zeros((2, 2)), requires_grad=True)
        a.grad, b.grad = data["clip/a"].copy(), data["clip/b"].copy()
        total = optim.clip_grad_norm_([a, b], max_norm=1.5)
        assert total == pytest.approx(float(data["clip/norm"]), rel=1e-12)
        np.testing.assert_allclose(a.grad, data["clip/a_clipped"], rtol=1e-12)
        np.testing.assert_allclose(b.grad, data["clip/b_clipped"], rtol=1e-12)
    norm_after = math.sqrt((a.grad ** 2).sum() + (b.grad ** 2).sum())
    assert norm_after == pytest.approx(1.5, rel=1e-5)


def test_clip_grad_norm_leaves_small_gradients_and_skips_missing_ones():
    a = minigrad.Tensor(np.zeros(2), requires_grad=True)
    b = minigrad.Tensor(np.zeros(2), requires_grad=True)
    a.grad = np.array([0.3, 0.4])
    assert optim.clip_grad_norm_([a, b], max_norm=1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(a.grad, [0.3, 0.4])
    assert b.grad is None
    a.grad = np.array([3.0, -4.0])
    assert optim.clip_grad_norm_(a, max_norm=1.0, norm_type=math.inf) == 4.0
    np.testing.assert_allclose(a.grad, [0.75, -1.0], rtol=1e-6)


def test_clip_grad_value_clips_elementwise():
    a = minigrad.Tensor(np.zeros(3), requires_grad=True)
    a.grad = np.array([-5.0, 0.2, 3.0])
    optim.clip_grad_value_([a], 1.0)
    np.testing.assert_array_equal(a.grad, [-1.0, 0.2, 1.0])
    with pytest.raises(ValueError, match="clip_value must be > 0"):
        optim.clip_grad_value_([a], 0.0)


def test_optimisers_minimise_a_quadratic_and_skip_parameters_without_gradients():
    for cls, kwargs in [(optim.SGD, dict(lr=0.1, momentum=0.5)), (optim.Adam, dict(lr=0.1)),
                        (optim.Adagrad, dict(lr=0.5))]:
        w = minigrad.Tensor([3.0, -2.0], requires_grad=True)
        untouched = minigrad.Tensor([1.0], requires_grad=True)
        optimiser = cls([w, untouched], **kwargs)
        for _ in range(200):
            optimiser.zero_grad()
            ((w - 1.0) ** 2).sum().backward()
            optimiser.step()
        np.testing.assert_allclose(w.data, [1.0, 1.0], atol=0.05, err_msg=cls.__name__)
        assert untouched.data[0] == 1.0 and untouched.grad is None


def test_float32_parameters_stay_float32():
    w = minigrad.Tensor(np.ones(3, np.float32), requires_grad=True)
    w.grad = np.ones(3, np.float32)
    optim.Adam([w]).step()
    assert w.data.dtype == np.float32


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="learning rate must be >= 0"):
        optim.SGD([minigrad.Tensor([1.0], requires_grad=True)], lr=-1)
    with pytest.raises(TypeError, match="requires_grad=True"):
        optim.Adam([minigrad.Tensor([1.0])])
