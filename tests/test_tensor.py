"""Tests of minigrad.Tensor: construction, every operation's gradient (float64, finite differences),
broadcasting in the backward pass, indexing, joining and splitting, and the errors."""

from __future__ import annotations

import re
import weakref

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad
from minigrad import Tensor, gradcheck
from minigrad.tensor import Index

RNG_SEED = 0


def leaf(shape, seed=RNG_SEED, positive=False, dtype=np.float64):
    """A float64 leaf that requires grad, with standard normal (or positive) entries."""
    values = np.random.default_rng(seed).standard_normal(shape)
    if positive:
        values = np.abs(values) + 0.5
    return minigrad.tensor(values.astype(dtype), requires_grad=True)


# ------------------------------------------------------------------------------ construction
def test_python_numbers_become_float64_and_arrays_keep_their_dtype():
    assert minigrad.tensor([1, 2, 3]).dtype == np.float64
    assert minigrad.tensor(2.5).dtype == np.float64
    assert minigrad.tensor(np.arange(3)).dtype == np.int64
    assert minigrad.tensor(np.ones(2, dtype=np.float32)).dtype == np.float32
    assert minigrad.tensor([1, 2], dtype=np.int64).dtype == np.int64


def test_constructor_copies_its_array():
    array = np.zeros(3)
    t = minigrad.tensor(array)
    array[0] = 5.0
    assert t.data[0] == 0.0


def test_attributes_and_conversions():
    t = minigrad.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and len(t) == 2
    assert t.grad is None and not t.requires_grad and t.is_leaf
    assert t.numpy() is t.data
    assert minigrad.tensor([[7.0]]).item() == 7.0
    assert f"{minigrad.tensor(0.123456):.3f}" == "0.123"
    assert repr(minigrad.tensor([1.0, 2.0], requires_grad=True)) == "tensor([1., 2.], requires_grad=True)"
    assert [row.shape for row in t] == [(3,), (3,)]


def test_creation_functions():
    assert minigrad.zeros(2, 3).shape == (2, 3)
    assert minigrad.zeros((2, 3), dtype=np.float32).dtype == np.float32
    assert np.all(minigrad.ones(4).data == 1.0)
    a = minigrad.randn(3, 2, rng=np.random.default_rng(1), requires_grad=True)
    b = minigrad.randn((3, 2), rng=np.random.default_rng(1))
    assert a.requires_grad and np.array_equal(a.data, b.data)
    assert minigrad.randn(2, rng=np.random.default_rng(0), dtype=np.float32).dtype == np.float32


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(TypeError, match=r"dtype int64 \(shape \(3,\)\) cannot require gradients"):
        minigrad.tensor(np.arange(3), requires_grad=True)
    t = minigrad.tensor([1, 2], dtype=np.int32)
    with pytest.raises(TypeError, match="int32"):
        t.requires_grad = True


def test_non_numeric_data_is_refused():
    with pytest.raises(TypeError, match="numeric"):
        minigrad.tensor(["a", "b"])


def test_requires_grad_can_only_be_set_on_leaves():
    y = leaf(3) * 2
    with pytest.raises(RuntimeError, match="leaf.*made by mul"):
        y.requires_grad = False
    assert y.detach().is_leaf and not y.detach().requires_grad


def test_float32_stays_float32_through_ops_and_gradients():
    x = leaf((2, 3), dtype=np.float32)
    w = leaf((3, 4), seed=1, dtype=np.float32)
    y = ((x @ w).tanh() * 2.0 + 1).sigmoid().mean()
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


# ----------------------------------------------------------------- gradients of binary operations
BROADCAST_PAIRS = [
    ((3,), (3,)),
    ((3,), (2, 3)),
    ((2, 3), (3,)),
    ((2, 1), (1, 3)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((4, 1, 3), (2, 1)),
]
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shape_a, shape_b", BROADCAST_PAIRS)
def test_binary_op_gradients_with_broadcasting(name, shape_a, shape_b):
    a = leaf(shape_a, seed=1, positive=True)
    b = leaf(shape_b, seed=2, positive=name in ("div", "pow"))
    out = BINARY[name](a, b)
    assert out.shape == np.broadcast_shapes(shape_a, shape_b)
    assert gradcheck(BINARY[name], a, b)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_ops_with_numbers_and_arrays_on_either_side(name):
    x = leaf((2, 3), positive=True)
    array = np.full((3,), 1.5)
    fn = BINARY[name]
    for other in (2.0, 3, array):
        assert np.allclose(fn(x, other).data, fn(x.data, other))
        assert np.allclose(fn(other, x).data, fn(other, x.data))
        assert gradcheck(lambda t: fn(t, other), x)
        assert gradcheck(lambda t: fn(other, t), x)
    assert isinstance(array + x, Tensor)


def test_negation_and_constant_power():
    x = leaf((2, 3), positive=True)
    assert gradcheck(lambda t: -t, x)
    for exponent in (2, 3.0, 0.5, -1.5, 0):
        assert gradcheck(lambda t: t**exponent, x)


def test_power_with_zero_base_has_finite_exponent_gradient():
    base = minigrad.tensor([0.0, 2.0])
    exponent = minigrad.tensor([2.0, 3.0], requires_grad=True)
    (base**exponent).sum().backward()
    assert np.allclose(exponent.grad, [0.0, 8.0 * np.log(2.0)])


MATMUL_SHAPES = [
    ((3,), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3,)),
    ((2, 3), (3, 4)),
    ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)),
    ((5, 2, 3), (5, 3, 4)),
    ((5, 1, 2, 3), (4, 3, 2)),
    ((3,), (5, 3, 4)),
    ((5, 2, 3), (3,)),
]


@pytest.mark.parametrize("shape_a, shape_b", MATMUL_SHAPES)
def test_matmul_gradients(shape_a, shape_b):
    a, b = leaf(shape_a, seed=1), leaf(shape_b, seed=2)
    out = a @ b
    np.testing.assert_allclose(out.data, a.data @ b.data)
    assert gradcheck(lambda x, y: x @ y, a, b)


def test_matmul_with_a_constant_array():
    a = leaf((2, 3))
    m = np.arange(12.0).reshape(3, 4)
    assert gradcheck(lambda x: x @ m, a)
    assert gradcheck(lambda x: m.T @ x.T, a)


# ----------------------------------------------------------------- unary maps and reductions
UNARY = {
    "exp": lambda t: t.exp(),
    "log": lambda t: t.log(),
    "tanh": lambda t: t.tanh(),
    "sigmoid": lambda t: t.sigmoid(),
    "relu": lambda t: t.relu(),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 1, 3)])
def test_unary_gradients(name, shape):
    x = leaf(shape, seed=3, positive=name == "log")
    if name == "relu":  # keep away from the kink at 0, where finite differences are meaningless
        x.data[np.abs(x.data) < 1e-3] = 0.5
    assert gradcheck(UNARY[name], x)


def test_unary_values():
    x = np.array([-2.0, 0.0, 3.0])
    t = minigrad.tensor(x)
    np.testing.assert_allclose(t.exp().data, np.exp(x))
    np.testing.assert_allclose(t.tanh().data, np.tanh(x))
    np.testing.assert_allclose(t.sigmoid().data, 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(t.relu().data, [0.0, 0.0, 3.0])


def test_sigmoid_does_not_overflow():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = minigrad.tensor([-1000.0, 1000.0]).sigmoid()
    np.testing.assert_allclose(y.data, [0.0, 1.0])


def test_relu_gradient_at_zero_is_zero():
    x = minigrad.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 1.0])


REDUCTION_CASES = [
    ((), None, False),
    ((4,), None, False),
    ((4,), 0, True),
    ((2, 3), None, True),
    ((2, 3), 0, False),
    ((2, 3), -1, True),
    ((2, 3, 4), (0, 2), False),
    ((2, 3, 4), 1, True),
]


@pytest.mark.parametrize("reduction", ["sum", "mean", "max"])
@pytest.mark.parametrize("shape, axis, keepdims", REDUCTION_CASES)
def test_reduction_gradients(reduction, shape, axis, keepdims):
    x = leaf(shape, seed=4)
    out = getattr(x, reduction)(axis=axis, keepdims=keepdims)
    expected = getattr(np, reduction)(x.data, axis=axis, keepdims=keepdims)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected)
    assert gradcheck(lambda t: getattr(t, reduction)(axis=axis, keepdims=keepdims), x)


def test_max_splits_the_gradient_between_ties():
    x = minigrad.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])


def test_argmax_is_an_integer_tensor_outside_the_graph():
    x = leaf((3, 4))
    idx = x.argmax(axis=1)
    assert idx.dtype.kind == "i" and not idx.requires_grad
    np.testing.assert_array_equal(idx.data, x.data.argmax(axis=1))


# ------------------------------------------------------------------------------- shape ops
def test_reshape_and_transpose_gradients():
    x = leaf((2, 3, 4))
    assert x.reshape(6, 4).shape == (6, 4) and x.reshape((4, -1)).shape == (4, 6)
    assert gradcheck(lambda t: t.reshape(4, 6) * np.arange(24.0).reshape(4, 6), x)
    assert x.transpose(1, 0, 2).shape == (3, 2, 4) and x.transpose((2, 0, 1)).shape == (4, 2, 3)
    assert x.T.shape == (4, 3, 2) and x.transpose().shape == (4, 3, 2)
    weights = np.arange(24.0).reshape(3, 4, 2)
    assert gradcheck(lambda t: t.transpose(1, 2, 0) * weights, x)
    assert gradcheck(lambda t: t.transpose(-1, 0, 1) * weights.transpose(1, 2, 0), x)  # negative axes
    assert gradcheck(lambda t: t.T * weights.transpose(1, 0, 2), x)


INDEXES = [
    1,
    -1,
    slice(1, 3),
    (slice(None), 2),
    (0, slice(None, None, 2)),
    (Ellipsis, 1),
    (None, 1),
    [0, 2, 0],
    np.array([[1, 1], [2, 0]]),
    (np.array([0, 2, 2]), np.array([1, 0, 1])),
    (slice(None), [3, 3, 0]),
    np.array([True, False, True]),
]


@pytest.mark.parametrize("index", INDEXES, ids=[repr(i) for i in INDEXES])
def test_indexing_values_and_gradients(index):
    x = leaf((3, 4))
    np.testing.assert_array_equal(x[index].data, x.data[index])
    weights = np.random.default_rng(5).standard_normal(x.data[index].shape)
    assert gradcheck(lambda t: t[index] * weights, x)


def test_indexing_with_an_integer_tensor_and_repeated_indices_adds_up():
    x = minigrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[minigrad.tensor(np.array([0, 0, 2, 0]))].sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 1.0])


def test_taking_every_time_step_gives_one_gradient_buffer():
    xw = leaf((5, 2, 3))
    steps = [xw[t] * (t + 1) for t in range(5)]
    minigrad.stack(steps).sum().backward()
    expected = np.broadcast_to(np.arange(1.0, 6.0)[:, None, None], (5, 2, 3))
    np.testing.assert_array_equal(xw.grad, expected)
    assert xw.grad.flags.writeable and xw.grad.flags.owndata


def _node_fields(tensor):
    ctx = tensor._ctx
    return (type(ctx), ctx.index, ctx.views_input, ctx.parents, ctx.needs_input_grad, ctx.out_shape)


@pytest.mark.parametrize("shape", [(4, 2, 3), (4,)])
def test_one_time_step_builds_the_node_the_general_path_builds(shape):
    x = leaf(shape)
    for t in (2, -1):
        step, general = x[t], Index.apply(x, index=t)
        assert _node_fields(step) == _node_fields(general)
        assert type(step.data) is np.ndarray and np.shares_memory(step.data, x.data) == (len(shape) > 1)
        np.testing.assert_array_equal(step.data, general.data)
    made = x * 2.0
    assert made[1]._ctx.parents == (made._ctx,)


def test_one_time_step_of_a_constant_or_without_a_graph_is_a_constant():
    x = leaf((3, 2))
    with minigrad.no_grad():
        assert not x[0].requires_grad and x[0]._ctx is None
    constant = minigrad.ones(3, 2)
    assert not constant[0].requires_grad and constant[0].is_leaf


def test_a_view_passes_its_gradient_on_without_a_visit_unless_it_is_watched(monkeypatch):
    calls = []
    original = Index.backward
    monkeypatch.setattr(Index, "backward", lambda ctx, grad: calls.append(ctx.index) or original(ctx, grad))
    x = leaf((4, 3))
    scale = np.arange(1.0, 4.0)
    (x[1] * scale + x[1:3].sum(axis=0) + x[-1]).sum().backward()
    assert calls == []  # every view sent its gradient straight into x's buffer
    np.testing.assert_array_equal(x.grad, [[0, 0, 0], scale + 1, [1, 1, 1], [1, 1, 1]])

    x.grad = None
    watched = x[2].retain_grad()
    (watched * scale).sum().backward()
    assert calls == [2]  # a retained view is visited, and keeps its gradient
    np.testing.assert_array_equal(watched.grad, scale)
    np.testing.assert_array_equal(x.grad, [[0, 0, 0], [0, 0, 0], scale, [0, 0, 0]])


def test_views_that_overlap_broadcast_or_are_nested_add_up():
    x = leaf((4, 3))
    weights = np.random.default_rng(3).standard_normal((2, 3))

    def f(x):
        pair, row = x[0:2], x[1]
        return (pair + row) * weights + pair[1] * x[1:3] + pair[0] + x[3]

    assert gradcheck(f, x)


def test_backward_from_a_view_and_through_a_view_of_an_operation():
    x = leaf((3, 2))
    y = (x * 3.0)[1]
    y.backward(np.ones(2))
    np.testing.assert_array_equal(x.grad, [[0, 0], [3, 3], [0, 0]])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_cat_and_stack(axis):
    a, b, c = leaf((2, 3), seed=1), leaf((2, 3), seed=2), leaf((2, 3), seed=3)
    np.testing.assert_array_equal(minigrad.cat([a, b, c], axis=axis).data, np.concatenate([a.data, b.data, c.data], axis))
    np.testing.assert_array_equal(minigrad.stack([a, b, c], axis=axis).data, np.stack([a.data, b.data, c.data], axis))
    w_cat = np.random.default_rng(1).standard_normal(np.concatenate([a.data] * 3, axis).shape)
    w_stack = np.random.default_rng(2).standard_normal(np.stack([a.data] * 3, axis).shape)
    assert gradcheck(lambda x, y, z: minigrad.cat([x, y, z], axis=axis) * w_cat, a, b, c)
    assert gradcheck(lambda x, y, z: minigrad.stack([x, y, z], axis=axis) * w_stack, a, b, c)


def test_cat_of_different_lengths_and_a_constant():
    a, b = leaf((2, 3)), leaf((2, 1), seed=1)
    constant = minigrad.ones(2, 2)
    out = minigrad.cat([a, constant, b], axis=1)
    assert out.shape == (2, 6)
    assert gradcheck(lambda x, y: minigrad.cat([x, constant, y], axis=1) * np.arange(12.0).reshape(2, 6), a, b)


def test_split_and_chunk():
    x = leaf((7, 2))
    assert [p.shape for p in x.split(3)] == [(3, 2), (3, 2), (1, 2)]
    assert [p.shape for p in x.split([2, 5])] == [(2, 2), (5, 2)]
    assert [p.shape for p in x.chunk(2)] == [(4, 2), (3, 2)]
    assert [p.shape for p in x.chunk(2, axis=1)] == [(7, 1), (7, 1)]
    assert gradcheck(lambda t: sum((p * (i + 1)).sum() for i, p in enumerate(t.split(3))), x)
    assert gradcheck(lambda t: t.chunk(2, axis=1)[1] * 3.0, x)


def test_split_errors_name_the_shapes():
    x = leaf((7, 2))
    with pytest.raises(ValueError, match=r"split: sections \[2, 2\] do not add up to the length 7"):
        x.split([2, 2])
    with pytest.raises(ValueError, match="positive"):
        x.chunk(0)


# ------------------------------------------------------------------------------ the graph
def test_a_plus_a_and_a_reused_node():
    a = minigrad.tensor([2.0, -1.0], requires_grad=True)
    (a + a).sum().backward()
    np.testing.assert_array_equal(a.grad, [2.0, 2.0])
    b = minigrad.tensor([3.0], requires_grad=True)
    c = b * b  # used twice below
    (c * c + c).sum().backward()  # d/db (b^4 + b^2) = 4b^3 + 2b
    np.testing.assert_allclose(b.grad, [4 * 27.0 + 6.0])


def test_two_leaves_given_the_same_gradient_array_do_not_share_it():
    a, b = leaf(3, seed=1), leaf(3, seed=2)
    (a + b).sum().backward()
    a.grad *= 10
    np.testing.assert_array_equal(b.grad, np.ones(3))


def test_backward_twice_accumulates_on_leaves_and_resets_intermediates():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    h = (x * 3.0).retain_grad()
    loss = (h * h).sum()
    loss.backward()
    loss.backward()
    np.testing.assert_allclose(x.grad, 2 * 18.0 * x.data)
    np.testing.assert_allclose(h.grad, 2 * h.data)


def test_intermediate_tensors_keep_their_gradient_only_if_asked():
    x = leaf((2, 3))
    h, kept = x.tanh(), x.exp().retain_grad()
    (h * 2.0 + kept * 3.0).sum().backward()
    assert h.grad is None
    np.testing.assert_array_equal(kept.grad, np.full((2, 3), 3.0))
    assert x.retain_grad() is x and x.grad is not None


def test_the_graph_does_not_keep_intermediate_tensors_alive():
    x = leaf(3)
    y = x * 2.0
    alive = weakref.ref(y)
    z = y.tanh()  # tanh saves its output array, not y
    del y
    assert alive() is None
    z.sum().backward()
    np.testing.assert_allclose(x.grad, 2.0 * (1 - z.data**2))


def test_numpy_interoperation():
    t = minigrad.tensor([[1.0, 2.0]])
    assert np.asarray(t) is t.data
    assert (np.ones(2) * t).shape == (1, 2)
    with pytest.raises(TypeError):
        np.exp(t)  # numpy functions do not record a graph: use the Tensor method


def test_backward_with_an_explicit_gradient():
    x = leaf((2, 3))
    upstream = np.arange(6.0).reshape(2, 3)
    (x * 2.0).backward(upstream)
    np.testing.assert_array_equal(x.grad, 2 * upstream)
    with pytest.raises(RuntimeError, match=r"grad has shape \(3,\) but the tensor has shape \(2, 3\)"):
        (x * 2.0).backward(np.ones(3))


def test_a_chain_100000_operations_deep_backpropagates():
    x = minigrad.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad == 1.0
    del y  # freeing a 100,000-deep graph must not overflow the C stack either


def test_no_grad_records_nothing_and_restores_the_mode():
    w = leaf(3)
    with minigrad.no_grad():
        y = w * 2
        assert not y.requires_grad and y.is_leaf
    assert (w * 2).requires_grad

    @minigrad.no_grad()
    def evaluate(t):
        return t.tanh()

    assert not evaluate(w).requires_grad


def test_graph_inspection():
    x = leaf(3)
    y = x.tanh()
    assert y.op == "tanh" and x.op == "" and (x * 2).op == "mul"


# ---------------------------------------------------------------------------------- errors
def test_shape_mismatch_errors_name_op_and_shapes():
    a, b = leaf((2, 3)), leaf((4,))
    with pytest.raises(ValueError, match=r"add: .*\(2,3\).*\(4,\).*inputs float64 \(2, 3\), float64 \(4,\)"):
        a + b
    with pytest.raises(ValueError, match=r"matmul: .*inputs float64 \(2, 3\), float64 \(4,\)"):
        a @ b
    with pytest.raises(ValueError, match=r"reshape: cannot reshape array of size 6 into shape \(4,\)"):
        a.reshape(4)
    with pytest.raises(ValueError, match=r"cat: .*inputs float64 \(2, 3\), float64 \(4,\)"):
        minigrad.cat([a, b])
    with pytest.raises(ValueError, match=r"stack: .*same shape"):
        minigrad.stack([a, b])
    with pytest.raises(ValueError, match="sum: axis 2 is out of bounds"):
        a.sum(axis=2)


def test_index_error_names_the_tensor_shape():
    with pytest.raises(IndexError, match=r"index: index 5 is out of bounds .* \(input float64 \(3,\)\)"):
        leaf(3)[5]


def test_backward_on_a_non_scalar_needs_grad():
    y = leaf((2, 3)) * 2
    with pytest.raises(RuntimeError, match=r"only for a scalar output.*shape \(2, 3\)"):
        y.backward()


def test_backward_on_a_tensor_without_grad():
    with pytest.raises(RuntimeError, match=r"does not require grad"):
        (minigrad.ones(2) * 2).sum().backward()


@pytest.mark.parametrize("op", ["+=", "-=", "*=", "/="])
def test_in_place_ops_on_a_tensor_that_requires_grad_raise(op):
    x = leaf((2, 3))
    with pytest.raises(RuntimeError, match=rf"in-place {re.escape(op)} .*requires grad \(float64 \(2, 3\)\)"):
        exec(f"x {op} 2.0", {"x": x})
    with pytest.raises(RuntimeError, match=r"in-place assignment .*float64 \(2, 3\)"):
        x[0] = 1.0


def test_in_place_ops_are_allowed_without_a_graph():
    x = leaf(3)
    before = x
    with minigrad.no_grad():
        x -= 0.5 * np.ones(3)
        x[0] = 10.0
    assert x is before and x.data[0] == 10.0
    plain = minigrad.ones(2)
    plain += 1
    np.testing.assert_array_equal(plain.data, [2.0, 2.0])


def test_detect_anomaly_names_the_op_of_a_forward_nan():
    x = minigrad.tensor([-1.0, 1.0], requires_grad=True)
    with minigrad.detect_anomaly(), np.errstate(invalid="ignore"):
        with pytest.raises(FloatingPointError, match=r"log produced nan or inf in its forward pass.*\(2,\)"):
            x.log()


def test_detect_anomaly_names_the_op_of_a_backward_inf():
    x = minigrad.tensor([0.0, 1.0], requires_grad=True)
    y = x**0.5  # finite forward, infinite derivative at 0
    with minigrad.detect_anomaly(), np.errstate(divide="ignore"):
        with pytest.raises(FloatingPointError, match=r"pow produced nan or inf in its backward pass.*input 0"):
            y.sum().backward()


def test_without_detect_anomaly_nan_passes_silently():
    with np.errstate(invalid="ignore"):
        y = minigrad.tensor([-1.0]).log()
    assert np.isnan(y.data[0])


# ------------------------------------------------------------------------------ Hypothesis
def _broadcastable_pair():
    return hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)


finite = st.floats(-3, 3, allow_nan=False, allow_infinity=False)


@settings(max_examples=25, deadline=None)
@given(shapes=_broadcastable_pair(), data=st.data())
def test_hypothesis_arithmetic_gradients(shapes, data):
    shape_a, shape_b = shapes.input_shapes
    a = minigrad.tensor(data.draw(hnp.arrays(np.float64, shape_a, elements=finite)), requires_grad=True)
    b_values = data.draw(hnp.arrays(np.float64, shape_b, elements=st.floats(0.5, 3)))
    b = minigrad.tensor(b_values, requires_grad=True)
    assert gradcheck(lambda x, y: (x * y - x / y + y).tanh(), a, b)


@settings(max_examples=25, deadline=None)
@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
    data=st.data(),
)
def test_hypothesis_reductions_and_indexing(shape, data):
    x = minigrad.tensor(data.draw(hnp.arrays(np.float64, shape, elements=finite)), requires_grad=True)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    keepdims = data.draw(st.booleans())
    rows = data.draw(st.lists(st.integers(0, shape[0] - 1), min_size=1, max_size=5))
    assert gradcheck(lambda t: t.sum(axis=axis, keepdims=keepdims) * 1.5, x)
    assert gradcheck(lambda t: t.mean(axis=axis, keepdims=keepdims).exp(), x)
    assert gradcheck(lambda t: t[rows].sigmoid(), x)


@settings(max_examples=20, deadline=None)
@given(
    batch=hnp.array_shapes(min_dims=0, max_dims=2, max_side=3),
    m=st.integers(1, 3),
    k=st.integers(1, 3),
    n=st.integers(1, 3),
)
def test_hypothesis_batched_matmul(batch, m, k, n):
    rng = np.random.default_rng(sum(batch) + 10 * m + 100 * k + 1000 * n)
    a = minigrad.tensor(rng.standard_normal((*batch, m, k)), requires_grad=True)
    b = minigrad.tensor(rng.standard_normal((k, n)), requires_grad=True)
    assert gradcheck(lambda x, y: x @ y, a, b)
    batched_b = minigrad.tensor(rng.standard_normal((*batch, k, n)), requires_grad=True)
    assert gradcheck(lambda x, y: x @ y, a, batched_b)
