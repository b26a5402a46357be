"""Tests of minigrad.gradcheck: it passes correct gradients, catches wrong ones and says where."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad import gradcheck
from minigrad.autograd import Function
from minigrad.gradcheck import GradcheckError


class WrongSquare(Function):
    """x^2 with the backward pass off by a factor 1.5 on the last entry only."""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        grad = 2 * x * grad_out
        grad.reshape(-1)[-1] *= 1.5
        return grad


def test_passes_a_correct_gradient_and_returns_true():
    x = minigrad.tensor([[0.5, -1.0, 2.0]], requires_grad=True)
    assert gradcheck(lambda t: (t * t).tanh(), x) is True


def test_reports_the_input_index_and_relative_error_of_the_worst_entry():
    a = minigrad.tensor([1.0, 2.0], requires_grad=True)
    b = minigrad.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    with pytest.raises(GradcheckError) as error:
        gradcheck(lambda x, y: x.sum() + WrongSquare.apply(y).sum(), a, b)
    message = str(error.value)
    assert "input 1 (shape (2, 2)) at index (1, 1)" in message
    assert "analytic 1.200000e+01, numeric 8.000000e+00" in message
    assert "relative error 3.33e-01" in message


def test_is_an_assertion_error():
    x = minigrad.tensor([3.0], requires_grad=True)
    with pytest.raises(AssertionError):
        gradcheck(lambda t: WrongSquare.apply(t), x)


def test_non_scalar_outputs_are_checked_through_a_random_projection():
    x = minigrad.tensor(np.arange(1.0, 7.0).reshape(2, 3), requires_grad=True)
    assert gradcheck(lambda t: t * t, x)
    with pytest.raises(GradcheckError, match=r"index \(1, 2\)"):
        gradcheck(lambda t: WrongSquare.apply(t), x)


def test_leaves_data_and_grad_as_they_were():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    x.grad = np.array([5.0, 5.0])
    data = x.data.copy()
    gradcheck(lambda t: t.exp(), x)
    np.testing.assert_array_equal(x.data, data)
    np.testing.assert_array_equal(x.grad, [5.0, 5.0])


def test_other_inputs_pass_through_unchanged():
    x = minigrad.tensor([[1.0, 2.0, 0.5]], requires_grad=True)
    targets = np.array([2])
    assert gradcheck(lambda t, y, scale: minigrad.functional.cross_entropy(t * scale, y), x, targets, 3.0)


def test_needs_float64_and_an_input_to_check():
    x32 = minigrad.tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    with pytest.raises(TypeError, match="input 0 is float32; finite differences need float64"):
        gradcheck(lambda t: t * 2, x32)
    with pytest.raises(TypeError, match="no input is a tensor with requires_grad=True"):
        gradcheck(lambda t: t * 2, minigrad.ones(2))


def test_an_input_the_output_does_not_depend_on_has_zero_gradient():
    x, unused = minigrad.tensor([1.0], requires_grad=True), minigrad.tensor([2.0], requires_grad=True)
    assert gradcheck(lambda a, b: a * 3.0, x, unused)
