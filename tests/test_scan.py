"""The diagonal linear recurrence (minigrad.scan): loop and parallel scan agree, the scan takes
ceil(log2 T) rounds, and the autograd op's backward (a reverse scan) matches finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigrad import Tensor, gradcheck
from minigrad.scan import linear_recurrence, loop_recurrence, scan_recurrence


def _by_hand(a, b, h0):
    """h_t = a_t h_{t-1} + b_t for one sequence of scalars, written plainly."""
    h, states = h0, []
    for a_t, b_t in zip(a, b):
        h = a_t * h + b_t
        states.append(h)
    return np.array(states)


def test_loop_follows_the_recurrence():
    a, b = np.array([0.5, 2.0, -1.0]), np.array([1.0, 1.0, 3.0])
    h, rounds = loop_recurrence(a, b, np.array(4.0))
    np.testing.assert_array_equal(h, [3.0, 7.0, -4.0])  # 0.5*4+1, 2*3+1, -7+3
    assert rounds == 3


@settings(max_examples=40, deadline=None)
@given(steps=st.integers(1, 70), width=st.integers(1, 4), seed=st.integers(0, 2**16), with_h0=st.booleans())
def test_scan_equals_loop_and_takes_log_rounds(steps, width, seed, with_h0):
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(-1.2, 1.2, (steps, width)), rng.normal(size=(steps, width))
    h0 = rng.normal(size=width) if with_h0 else None
    looped, loop_rounds = loop_recurrence(a, b, h0)
    scanned, scan_rounds = scan_recurrence(a, b, h0)
    np.testing.assert_allclose(scanned, looped, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(looped[:, 0], _by_hand(a[:, 0], b[:, 0], 0.0 if h0 is None else h0[0]),
                               rtol=1e-12, atol=1e-12)
    assert loop_rounds == steps and scan_rounds == math.ceil(math.log2(steps))


def test_scan_leaves_its_inputs_alone_and_keeps_float32():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(size=(9, 2)).astype(np.float32), rng.normal(size=(9, 2)).astype(np.float32)
    a_copy, b_copy = a.copy(), b.copy()
    h, _ = scan_recurrence(a, b, np.ones(2, np.float32))
    assert h.dtype == np.float32
    np.testing.assert_array_equal(a, a_copy)
    np.testing.assert_array_equal(b, b_copy)


@pytest.mark.parametrize("method", ["scan", "loop"])
@pytest.mark.parametrize("steps", [1, 2, 5, 8, 13])
def test_gradients_match_finite_differences(method, steps):
    rng = np.random.default_rng(steps)
    a = Tensor(rng.uniform(-1, 1, (steps, 2, 3)), requires_grad=True)
    b = Tensor(rng.normal(size=(steps, 2, 3)), requires_grad=True)
    h0 = Tensor(rng.normal(size=(2, 3)), requires_grad=True)
    assert gradcheck(lambda a, b, h0: linear_recurrence(a, b, h0, method=method), a, b, h0)


def test_backward_is_the_reverse_recurrence():
    # g_t = grad_t + a_{t+1} g_{t+1}: with grad only at the last step, dL/db_t = a_{t+1} ... a_T
    a = Tensor(np.array([[2.0], [3.0], [5.0]]), requires_grad=True)
    b = Tensor(np.zeros((3, 1)), requires_grad=True)
    h0 = Tensor(np.array([1.0]), requires_grad=True)
    h = linear_recurrence(a, b, h0)
    np.testing.assert_array_equal(h.data[:, 0], [2.0, 6.0, 30.0])
    h[-1].sum().backward()
    np.testing.assert_array_equal(b.grad[:, 0], [15.0, 5.0, 1.0])
    np.testing.assert_array_equal(a.grad[:, 0], [15.0 * 1.0, 5.0 * 2.0, 1.0 * 6.0])  # g_t h_{t-1}
    np.testing.assert_array_equal(h0.grad, [30.0])


def test_zero_initial_state_and_constants():
    rng = np.random.default_rng(3)
    a, b = rng.uniform(size=(4, 2)), rng.normal(size=(4, 2))
    h = linear_recurrence(a, b)
    assert not h.requires_grad
    np.testing.assert_allclose(h.data, loop_recurrence(a, b)[0], rtol=1e-12)


@pytest.mark.parametrize("a_shape, b_shape, h0_shape, message", [
    ((3, 2), (3, 4), None, "same shape"),
    ((0, 2), (0, 2), None, "T >= 1"),
    ((3, 2), (3, 2), (3,), "h0 must have the shape of one step"),
])
def test_shape_errors(a_shape, b_shape, h0_shape, message):
    h0 = None if h0_shape is None else np.zeros(h0_shape)
    with pytest.raises(ValueError, match=message):
        linear_recurrence(np.zeros(a_shape), np.zeros(b_shape), h0)


def test_unknown_method():
    with pytest.raises(ValueError, match="method must be one of"):
        linear_recurrence(np.ones((2, 1)), np.ones((2, 1)), method="fft")
