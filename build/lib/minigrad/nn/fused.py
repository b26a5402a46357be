"""Fused recurrences: a whole layer direction of an RNN, GRU or LSTM as one autograd operation (chapter 13).

Unrolled from :class:`~minigrad.Tensor` operations, an LSTM costs a dozen graph nodes per time
step, and at small sizes the bookkeeping of those nodes costs as much as the arithmetic. Here
the loop over time runs inside one :class:`~minigrad.autograd.Function` whose backward pass is
backpropagation through time written out by hand (chapters 4, 9 and 10), with the two tricks of
chapter 13:

* the input projection :math:`W_{ih} x^{(t)} + b_{ih}` of every step is computed before the loop,
  in one matrix product, and :math:`\\nabla W_{ih}` after it, in another;
* all gates of a step come from one matrix product :math:`W_{hh} h^{(t-1)}` with the gate
  weights stacked (LSTM: i, f, g, o; GRU: r, z, n), and :math:`\\nabla W_{hh}` is one matrix
  product over all steps at the end.

The step equations are those of :class:`~minigrad.nn.RNNCell`, :class:`~minigrad.nn.GRUCell`
and :class:`~minigrad.nn.LSTMCell`; the tests check that a layer equals its cell unrolled.
"""

from __future__ import annotations

import numpy as np

from minigrad.autograd import Function

__all__ = ["Recurrence", "RNNKernel", "GRUKernel", "LSTMKernel"]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """:math:`\\sigma(x) = (1 + \\tanh(x/2))/2`, which never overflows."""
    out = np.tanh(x * 0.5)
    out *= 0.5
    out += 0.5
    return out


class RNNKernel:
    """One step of the Elman cell, :math:`h' = \\phi(a)`, :math:`a = W_{ih}x + b_{ih} + W_{hh}h + b_{hh}` (chapter 3).

    Args:
        nonlinearity: ``"tanh"`` or ``"relu"`` (:math:`\\phi`).
    """

    n_state = 1
    additive = True  # input and hidden terms are summed before any nonlinearity

    def __init__(self, nonlinearity: str) -> None:
        self.nonlinearity = nonlinearity

    def step(self, xp, state, w_hh, b_hh):
        """``xp`` holds the input terms (and both biases); return the new state and what backward needs."""
        (h,) = state
        a = h @ w_hh.T
        a += xp
        h_new = np.tanh(a, out=a) if self.nonlinearity == "tanh" else np.maximum(a, 0, out=a)
        return (h_new,), h_new

    def step_backward(self, h_new, d_state, w_hh, d_x, d_h):
        """Write :math:`\\partial L/\\partial a` into ``d_x`` (``d_h`` is the same array); return the state gradient."""
        (dh,) = d_state
        if self.nonlinearity == "tanh":
            np.multiply(dh, 1 - h_new * h_new, out=d_x)
        else:
            np.multiply(dh, h_new > 0, out=d_x)
        return (d_x @ w_hh,)


class GRUKernel:
    """One step of the GRU (chapter 9), PyTorch's equations, gate order r, z, n.

    .. math::
        r = \\sigma(x_r + W_{hr}h + b_{hr}),\\ z = \\sigma(x_z + W_{hz}h + b_{hz}),\\
        n = \\tanh(x_n + r \\odot (W_{hn}h + b_{hn})),\\ h' = (1-z)\\odot n + z \\odot h

    where :math:`x_\\ast = W_{i\\ast}x + b_{i\\ast}` is precomputed.
    """

    n_state = 1
    additive = False  # r scales the hidden side of n, so b_hn cannot join the input terms

    def step(self, xp, state, w_hh, b_hh):
        (h,) = state
        size = h.shape[-1]
        gh = h @ w_hh.T
        if b_hh is not None:
            gh += b_hh
        rz = _sigmoid(xp[:, :2 * size] + gh[:, :2 * size])
        r, z = rz[:, :size], rz[:, size:]
        ghn = gh[:, 2 * size:]
        n = np.tanh(xp[:, 2 * size:] + r * ghn)
        h_new = n + z * (h - n)
        return (h_new,), (r, z, n, ghn, h)

    def step_backward(self, cache, d_state, w_hh, d_x, d_h):
        r, z, n, ghn, h = cache
        (dh,) = d_state
        size = h.shape[-1]
        dn = dh * (1 - z) * (1 - n * n)
        dz = dh * (h - n) * z * (1 - z)
        dr = dn * ghn * r * (1 - r)
        d_x[:, :size] = d_h[:, :size] = dr
        d_x[:, size:2 * size] = d_h[:, size:2 * size] = dz
        d_x[:, 2 * size:] = dn
        np.multiply(dn, r, out=d_h[:, 2 * size:])
        return (dh * z + d_h @ w_hh,)


class LSTMKernel:
    """One step of the LSTM (chapter 10), PyTorch's equations, gate order i, f, g, o.

    .. math::
        [i; f; g; o] = [\\sigma; \\sigma; \\tanh; \\sigma](x_{ifgo} + W_{hh}h),\\quad
        c' = f \\odot c + i \\odot g,\\quad h' = o \\odot \\tanh(c')

    where :math:`x_{ifgo} = W_{ih}x + b_{ih} + b_{hh}` is precomputed.
    """

    n_state = 2
    additive = True

    def step(self, xp, state, w_hh, b_hh):
        h, c = state
        size = h.shape[-1]
        a = h @ w_hh.T
        a += xp
        acts = _sigmoid(a)
        g = acts[:, 2 * size:3 * size]
        np.tanh(a[:, 2 * size:3 * size], out=g)
        i, f, o = acts[:, :size], acts[:, size:2 * size], acts[:, 3 * size:]
        c_new = f * c
        c_new += i * g
        tanh_c = np.tanh(c_new)
        return (o * tanh_c, c_new), (acts, c, tanh_c)

    def step_backward(self, cache, d_state, w_hh, d_x, d_h):
        acts, c, tanh_c = cache
        dh, dc = d_state
        size = c.shape[-1]
        i, f, g, o = (acts[:, k * size:(k + 1) * size] for k in range(4))
        dc = dc + dh * o * (1 - tanh_c * tanh_c)
        np.multiply(dc * g, i * (1 - i), out=d_x[:, :size])
        np.multiply(dc * c, f * (1 - f), out=d_x[:, size:2 * size])
        np.multiply(dc * i, 1 - g * g, out=d_x[:, 2 * size:3 * size])
        np.multiply(dh * tanh_c, o * (1 - o), out=d_x[:, 3 * size:])
        return (d_x @ w_hh, dc * f)


class Recurrence(Function):
    """Run one direction of a recurrent layer over a whole sequence, as one graph node (chapter 13).

    Inputs (tensors): ``x`` :math:`(T, B, D)`, ``w_ih`` :math:`(G H, D)`, ``w_hh``
    :math:`(G H, H)`, the initial state (``h0``, and ``c0`` for the LSTM), each :math:`(B, H)`,
    and optionally ``b_ih`` and ``b_hh``, each :math:`(G H,)`; :math:`G` is the number of gates.

    Keyword arguments: ``kernel`` (an :class:`RNNKernel`, :class:`GRUKernel` or
    :class:`LSTMKernel`), ``reverse`` (run from :math:`t = T` down to 1) and ``mask``, a boolean
    array :math:`(T, B, 1)`, true at real (non-padding) steps. At a padding step the state is
    carried over unchanged and the output is 0, so padding changes neither the outputs at real
    steps nor the final state; in reverse, each sequence starts at its own last real step.

    Returns:
        One array of shape :math:`(T + S, B, H)`: the outputs :math:`h^{(t)}` in rows
        ``0..T-1``, then the final state (``h_n``, and ``c_n`` for the LSTM) in rows ``T..``.
    """

    def forward(ctx, x, w_ih, w_hh, *rest, kernel, reverse=False, mask=None):
        n_state = kernel.n_state
        state = tuple(rest[:n_state])
        has_bias = len(rest) > n_state
        steps, batch, _ = x.shape
        size = w_hh.shape[1]
        xproj = (x.reshape(steps * batch, -1) @ w_ih.T).reshape(steps, batch, -1)
        b_hh = None
        if has_bias:
            b_ih, b_hh = rest[n_state:]
            if kernel.additive:  # both biases join the input terms, outside the time loop
                xproj += b_ih + b_hh
                b_hh = None
            else:
                xproj += b_ih
        out = np.zeros((steps + n_state, batch, size), dtype=xproj.dtype)
        order = range(steps - 1, -1, -1) if reverse else range(steps)
        h_prev = np.empty((steps, batch, size), dtype=xproj.dtype)
        caches = [None] * steps
        for t in order:
            h_prev[t] = state[0]
            new_state, caches[t] = kernel.step(xproj[t], state, w_hh, b_hh)
            if mask is None:
                state = new_state
                out[t] = new_state[0]
            else:
                m = mask[t]
                state = tuple(np.where(m, new, old) for new, old in zip(new_state, state))
                out[t] = new_state[0] * m
        for k, final in enumerate(state):
            out[steps + k] = final
        ctx.save_for_backward(x, w_ih, w_hh, h_prev, caches)
        ctx.kernel, ctx.order, ctx.mask, ctx.has_bias = kernel, order, mask, has_bias
        return out

    def backward(ctx, grad_out):
        x, w_ih, w_hh, h_prev, caches = ctx.saved_tensors
        kernel, mask = ctx.kernel, ctx.mask
        steps = h_prev.shape[0]
        d_state = tuple(grad_out[steps + k] for k in range(kernel.n_state))
        d_x = np.empty((steps, grad_out.shape[1], w_hh.shape[0]), dtype=grad_out.dtype)
        d_h = d_x if kernel.additive else np.empty_like(d_x)
        for t in reversed(ctx.order):
            if mask is None:
                d_new = (d_state[0] + grad_out[t], *d_state[1:])
                d_state = kernel.step_backward(caches[t], d_new, w_hh, d_x[t], d_h[t])
            else:
                m = mask[t]
                d_new = ((d_state[0] + grad_out[t]) * m, *(d * m for d in d_state[1:]))
                d_prev = kernel.step_backward(caches[t], d_new, w_hh, d_x[t], d_h[t])
                d_state = tuple(dp + d * ~m for dp, d in zip(d_prev, d_state))
        flat_x = x.reshape(-1, x.shape[-1])
        flat_d_x = d_x.reshape(-1, d_x.shape[-1])
        flat_d_h = d_h.reshape(-1, d_h.shape[-1])
        grad_input = (flat_d_x @ w_ih).reshape(x.shape) if ctx.needs_input_grad[0] else None
        grads = (grad_input, flat_d_x.T @ flat_x, flat_d_h.T @ h_prev.reshape(-1, h_prev.shape[-1]), *d_state)
        if ctx.has_bias:
            grads += (flat_d_x.sum(axis=0), flat_d_h.sum(axis=0))
        return grads
