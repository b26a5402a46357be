"""The diagonal linear recurrence, by a loop and by a parallel scan, and as an autograd op (chapter 14).

The recurrence

.. math:: h_t = a_t \\odot h_{t-1} + b_t, \\qquad t = 1, \\dots, T,

is *linear* in the state, and its coefficients :math:`a_t` do not depend on it. Two steps therefore
compose into one step of the same form: applying :math:`(a_1, b_1)` and then :math:`(a_2, b_2)` is
:math:`h \\mapsto a_2 a_1 h + (a_2 b_1 + b_2)`, the pair

.. math:: (a_1, b_1) \\bullet (a_2, b_2) = (a_2 \\odot a_1,\\; a_2 \\odot b_1 + b_2),

and :math:`\\bullet` is associative. All prefixes of an associative product can be computed in
:math:`\\lceil \\log_2 T \\rceil` rounds, each a handful of element-wise operations over the whole
sequence at once (Hillis and Steele 1986): :func:`scan_recurrence`. The loop
(:func:`loop_recurrence`) needs :math:`T` rounds, one per step.

The gradient of a loss :math:`L` with respect to the states runs the same kind of recurrence
backwards in time, :math:`g_t = \\bar h_t + a_{t+1} \\odot g_{t+1}` with :math:`\\bar h_t` the
gradient that reaches :math:`h_t` from outside the recurrence, so :class:`LinearRecurrence`'s
backward pass is itself a scan, run on the time-reversed sequence.
"""

from __future__ import annotations

import numpy as np

from minigrad.autograd import Function
from minigrad.tensor import Tensor, as_tensor

__all__ = ["LinearRecurrence", "linear_recurrence", "loop_recurrence", "scan_recurrence"]

METHODS = ("scan", "loop")


def _check(a: np.ndarray, b: np.ndarray, h0: np.ndarray | None) -> None:
    if a.shape != b.shape or a.ndim < 1 or a.shape[0] < 1:
        raise ValueError(f"linear recurrence: a and b must have the same shape (T, ...) with T >= 1, "
                         f"got {a.shape} and {b.shape}")
    if h0 is not None and h0.shape != a.shape[1:]:
        raise ValueError(f"linear recurrence: h0 must have the shape of one step, {a.shape[1:]}, got {h0.shape}")


def loop_recurrence(a: np.ndarray, b: np.ndarray, h0: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """:math:`h_t = a_t \\odot h_{t-1} + b_t` one step after another.

    Args:
        a: coefficients :math:`(T, \\ast)`.
        b: inputs :math:`(T, \\ast)`.
        h0: :math:`h_0`, :math:`(\\ast)`; zeros when ``None``.

    Returns:
        ``(h, rounds)``: the states :math:`h_1, \\dots, h_T` as :math:`(T, \\ast)`, and the number of
        rounds that had to wait for the one before, :math:`T`.
    """
    _check(a, b, h0)
    h = np.empty(a.shape, dtype=np.result_type(a, b))
    state = np.zeros(a.shape[1:], dtype=h.dtype) if h0 is None else h0
    for t in range(a.shape[0]):
        state = a[t] * state + b[t]
        h[t] = state
    return h, a.shape[0]


def scan_recurrence(a: np.ndarray, b: np.ndarray, h0: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """:math:`h_t = a_t \\odot h_{t-1} + b_t` for all :math:`t` by a parallel prefix scan (Hillis and Steele 1986).

    :math:`h_0` is folded into the first input, :math:`b_1 \\leftarrow a_1 h_0 + b_1`. Then, in round
    :math:`k = 1, 2, \\dots`, every position :math:`t > d = 2^{k-1}` combines its pair with the pair
    :math:`d` positions earlier, :math:`(A_t, B_t) \\leftarrow (A_{t-d}, B_{t-d}) \\bullet (A_t, B_t)`,
    all positions at once. After round :math:`k` the pair at :math:`t` covers steps
    :math:`t - 2^k + 1` to :math:`t` (or all from 1), so after :math:`\\lceil \\log_2 T \\rceil`
    rounds it covers the whole prefix and :math:`B_t = h_t`. The work is :math:`O(T \\log T)`, more
    than the loop's :math:`O(T)`, but the rounds are :math:`\\log_2 T` instead of :math:`T`.

    Args:
        a: coefficients :math:`(T, \\ast)`.
        b: inputs :math:`(T, \\ast)`.
        h0: :math:`h_0`, :math:`(\\ast)`; zeros when ``None``.

    Returns:
        ``(h, rounds)``: the states :math:`(T, \\ast)` and the number of rounds,
        :math:`\\lceil \\log_2 T \\rceil`.
    """
    _check(a, b, h0)
    dtype = np.result_type(a, b)
    A, B = a.astype(dtype, copy=True), b.astype(dtype, copy=True)
    if h0 is not None:
        B[0] += A[0] * h0
    steps, distance, rounds = a.shape[0], 1, 0
    while distance < steps:
        # the right-hand sides are computed before either array is written
        B[distance:] = A[distance:] * B[:-distance] + B[distance:]
        A[distance:] = A[distance:] * A[:-distance]
        distance, rounds = 2 * distance, rounds + 1
    return B, rounds


_RECURRENCES = {"scan": scan_recurrence, "loop": loop_recurrence}


class LinearRecurrence(Function):
    """:math:`h_t = a_t \\odot h_{t-1} + b_t` over a whole sequence, as one graph node (chapter 14).

    With :math:`\\bar h_t = \\partial L / \\partial h_t` from outside the recurrence, the total
    gradient reaching :math:`h_t` obeys the reverse recurrence

    .. math:: g_T = \\bar h_T, \\qquad g_t = \\bar h_t + a_{t+1} \\odot g_{t+1},

    and then :math:`\\partial L/\\partial b_t = g_t`, :math:`\\partial L/\\partial a_t = g_t \\odot
    h_{t-1}` and :math:`\\partial L/\\partial h_0 = a_1 \\odot g_1`. The reverse recurrence is
    computed by the same method as the forward one (a scan or a loop) on the reversed sequence.

    Inputs: ``a`` and ``b`` :math:`(T, \\ast)`, ``h0`` :math:`(\\ast)`; keyword ``method``,
    ``"scan"`` or ``"loop"``. Output: :math:`h_1, \\dots, h_T`, :math:`(T, \\ast)`.
    """

    def forward(ctx, a, b, h0, method="scan"):
        recurrence = _RECURRENCES[method]
        h, _ = recurrence(a, b, h0)
        ctx.save_for_backward(a, h0, h)
        ctx.recurrence = recurrence
        return h

    def backward(ctx, grad_out):
        a, h0, h = ctx.saved_tensors
        following = np.zeros_like(a)  # a_{t+1}, and 0 after the last step
        following[:-1] = a[1:]
        g = ctx.recurrence(following[::-1], grad_out[::-1])[0][::-1]
        need_a, need_b, need_h0 = ctx.needs_input_grad
        grad_a = None
        if need_a:
            grad_a = np.empty_like(g)
            grad_a[0] = g[0] * h0
            grad_a[1:] = g[1:] * h[:-1]
        return grad_a, (g if need_b else None), (a[0] * g[0] if need_h0 else None)


def linear_recurrence(a, b, h0=None, method: str = "scan") -> Tensor:
    """The states of :math:`h_t = a_t \\odot h_{t-1} + b_t`, differentiable in ``a``, ``b`` and ``h0`` (chapter 14).

    Args:
        a: coefficients :math:`(T, \\ast)` (a tensor or an array).
        b: inputs :math:`(T, \\ast)`.
        h0: :math:`h_0`, :math:`(\\ast)`; zeros when ``None``.
        method: ``"scan"`` (:func:`scan_recurrence`, :math:`\\lceil \\log_2 T \\rceil` rounds) or
            ``"loop"`` (:func:`loop_recurrence`, :math:`T` rounds); both give the same states, up to
            rounding.

    Returns:
        :math:`h_1, \\dots, h_T`, a tensor :math:`(T, \\ast)`.
    """
    if method not in METHODS:
        raise ValueError(f"linear_recurrence: method must be one of {METHODS}, got {method!r}")
    a, b = as_tensor(a), as_tensor(b)
    h0 = Tensor(np.zeros(a.shape[1:], dtype=np.result_type(a.dtype, b.dtype))) if h0 is None else as_tensor(h0)
    _check(a.data, b.data, h0.data)
    return LinearRecurrence.apply(a, b, h0, method=method)
