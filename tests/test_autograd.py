"""Tests of minigrad.autograd: custom Functions, unbroadcasting, the one accumulation point, order."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad import autograd, gradcheck
from minigrad.autograd import Function, unbroadcast


class ScaledCube(Function):
    """y = k x^3, with a keyword argument and a saved array."""

    def forward(ctx, x, scale=1.0):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return scale * x**3

    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return 3 * ctx.scale * x**2 * grad_out


class BroadcastingProduct(Function):
    """a * b whose backward leaves the broadcast gradient for the engine to sum down."""

    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        return grad_out * b, grad_out * a


class TorchStyleExp(Function):
    """PyTorch's style: static methods with an explicit ctx."""

    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        return ctx.saved_tensors[0] * grad_out


class BadShape(Function):
    def forward(ctx, x):
        return x.sum()

    def backward(ctx, grad_out):
        return np.ones(7)


def test_custom_function_with_keyword_arguments():
    x = minigrad.tensor([1.0, -2.0], requires_grad=True)
    y = ScaledCube.apply(x, scale=2.0)
    np.testing.assert_allclose(y.data, [2.0, -16.0])
    assert y.op == "scaledcube"
    assert gradcheck(lambda t: ScaledCube.apply(t, scale=2.0), x)


def test_custom_function_with_static_methods():
    x = minigrad.tensor([0.5, -1.0], requires_grad=True)
    assert gradcheck(lambda t: TorchStyleExp.apply(t), x)


def test_custom_function_accepts_arrays_and_numbers_as_constants():
    x = minigrad.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    assert gradcheck(lambda t: BroadcastingProduct.apply(t, np.array([[2.0], [3.0]])), x)
    assert gradcheck(lambda t: BroadcastingProduct.apply(2.0, t), x)


def test_engine_sums_broadcast_gradients_of_custom_functions():
    a = minigrad.tensor(np.ones((2, 1)), requires_grad=True)
    b = minigrad.tensor(np.arange(3.0), requires_grad=True)
    BroadcastingProduct.apply(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [[3.0], [3.0]])
    np.testing.assert_array_equal(b.grad, [2.0, 2.0, 2.0])


def test_a_gradient_of_the_wrong_shape_names_the_op_and_shapes():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"badshape backward: the gradient for input 0 has shape \(7,\).*\(2,\)"):
        BadShape.apply(x).backward()


@pytest.mark.parametrize(
    "grad_shape, shape, expected",
    [
        ((2, 3), (3,), np.full(3, 2.0)),
        ((2, 3), (2, 1), np.full((2, 1), 3.0)),
        ((2, 3), (1, 3), np.full((1, 3), 2.0)),
        ((2, 3), (), np.array(6.0)),
        ((4, 2, 3), (2, 1), np.full((2, 1), 12.0)),
        ((2, 3), (2, 3), np.ones((2, 3))),
    ],
)
def test_unbroadcast(grad_shape, shape, expected):
    out = unbroadcast(np.ones(grad_shape), shape)
    assert out.shape == shape
    np.testing.assert_array_equal(out, expected)


def test_unbroadcast_refuses_impossible_shapes():
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\), which does not reduce to the input's shape \(2,\)"):
        unbroadcast(np.ones((2, 3)), (2,))
    with pytest.raises(RuntimeError, match=r"does not reduce to the input's shape \(1, 2, 3\)"):
        unbroadcast(np.ones((2, 3)), (1, 2, 3))


@pytest.mark.parametrize("arity", [1, 2, 3])
def test_apply_records_one_node_per_input_for_every_arity(arity):
    # apply spells out one and two inputs: each must record the same nodes as the general case
    leaf = minigrad.tensor([1.0, 2.0], requires_grad=True)
    made = leaf * 2.0
    constant = minigrad.tensor([3.0, 4.0])
    inputs = [made, leaf, constant][:arity]
    ctx = minigrad.stack(inputs)._ctx
    expected = [made._ctx, leaf, constant][:arity]
    assert len(ctx.parents) == arity
    assert all(node is want for node, want in zip(ctx.parents, expected))
    assert ctx.needs_input_grad == (True, True, False)[:arity]
    with_numbers = BroadcastingProduct.apply(made, 3.0)._ctx
    assert with_numbers.parents[0] is made._ctx and with_numbers.needs_input_grad == (True, False)


def test_topological_order_puts_inputs_first_and_skips_constants():
    x = minigrad.tensor([1.0], requires_grad=True)
    constant = minigrad.tensor([2.0])
    a = x * constant
    b = a.tanh()
    c = a + b
    order = autograd.topological_order(c._ctx)
    assert order == [x, a._ctx, b._ctx, c._ctx]


def test_longest_chain_counts_the_operations_that_must_run_in_order():
    x = minigrad.tensor([1.0], requires_grad=True)
    assert autograd.longest_chain(x) == 0
    a = x * 2.0
    b = a.tanh()
    assert autograd.longest_chain(a + b) == 3  # mul, tanh, add
    assert autograd.longest_chain((x * 2.0) + (x * 3.0)) == 2  # two products side by side, then the sum
    chain = x
    for _ in range(10):
        chain = chain.tanh()
    assert autograd.longest_chain(chain) == 10


def test_detect_anomaly_and_no_grad_restore_the_previous_mode():
    with minigrad.no_grad():
        with minigrad.no_grad():
            pass
        assert not autograd.is_grad_enabled()
    assert autograd.is_grad_enabled()
    with minigrad.detect_anomaly():
        pass
    x = minigrad.tensor([0.0], requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        (x.log() * 0.0).sum().backward()  # no anomaly mode: a nan gradient passes silently
    assert np.isnan(x.grad[0])


@pytest.mark.parametrize("index", [1, (1, 2), -1])
def test_backward_through_an_element_selected_by_integers(index):
    # regression: an integer for every axis selects a numpy scalar (a copy), whose gradient was lost
    data = np.arange(12.0).reshape(3, 4) if isinstance(index, tuple) else np.arange(3.0)
    x = minigrad.tensor(data, requires_grad=True)
    (x * x)[index].backward()
    expected = np.zeros_like(data)
    expected[index] = 2 * data[index]
    np.testing.assert_array_equal(x.grad, expected)


def test_one_gradient_for_an_operation_of_two_inputs_is_an_error_naming_the_operation():
    class HalfBackward(Function):
        def forward(ctx, a, b):
            return a + b

        def backward(ctx, grad_out):
            return grad_out  # should be a tuple of two

    x = minigrad.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"halfbackward backward: returned 1 gradient\(s\) for 2 inputs"):
        HalfBackward.apply(x, x).sum().backward()


def test_a_tuple_of_the_wrong_length_from_backward_is_an_error_naming_the_operation():
    class ExtraBackward(Function):
        def forward(ctx, x):
            return 2 * x

        def backward(ctx, grad_out):
            return 2 * grad_out, grad_out  # one too many

    x = minigrad.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"extrabackward backward: returned 2 gradient\(s\) for 1 inputs"):
        ExtraBackward.apply(x).sum().backward()


class FirstRow(Function):
    """y = x[0], whose backward returns an IndexedGrad (the engine scatter-adds it)."""

    def forward(ctx, x, wrong=False):
        ctx.wrong = wrong
        return x[0]

    def backward(ctx, grad_out):
        values = np.concatenate([grad_out, grad_out]) if ctx.wrong else grad_out
        return autograd.IndexedGrad(0, values, basic=True)


def test_an_indexed_gradient_from_a_custom_function_is_scatter_added_and_checked():
    x = minigrad.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    (FirstRow.apply(x) * 3.0 + x[2]).sum().backward()
    np.testing.assert_array_equal(x.grad, [[3, 3], [0, 0], [1, 1]])
    with pytest.raises(RuntimeError, match=r"firstrow backward: gradient of shape \(4,\) for a slice of shape \(2,\) of input 0"):
        FirstRow.apply(x, wrong=True).sum().backward()
