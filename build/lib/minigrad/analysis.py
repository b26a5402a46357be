"""Gradient-flow measurements: how much gradient reaches a recurrent state at each time lag (chapters 8 to 10).

Chapter 8 writes the gradient that reaches an early state of a vanilla RNN as a product of one
Jacobian per step and measures how its norm shrinks or grows with the lag; chapters 9 and 10 repeat
the measurement for the GRU and for the memory cell of the LSTM. :func:`unroll` runs a cell over a
sequence and keeps every state's gradient; :func:`gradient_norms_by_lag` backpropagates a loss on the
last state and reads the norms off, ordered by lag.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from minigrad.tensor import Tensor

__all__ = ["unroll", "gradient_norms_by_lag"]

_STATES = ("h", "c")


def unroll(cell: Any, xs: Sequence[Any], state: Any = None) -> list[Any]:
    """Run a recurrent cell over a sequence and return every state, with gradients retained (chapter 8).

    Computes :math:`s^{(t)} = \\text{cell}(x^{(t)}, s^{(t-1)})` for :math:`t = 1, \\dots, \\tau`, where
    the state :math:`s^{(t)}` is :math:`h^{(t)}` for an ``RNNCell`` or ``GRUCell`` and the pair
    :math:`(h^{(t)}, c^{(t)})` for an ``LSTMCell``. Every state tensor is marked with
    :meth:`~minigrad.Tensor.retain_grad`, so after a ``backward()`` from a loss on a later state its
    ``.grad`` holds :math:`\\nabla_{s^{(t)}} L` (under :func:`minigrad.no_grad` there is no graph and
    the states are plain values).

    Args:
        cell: an ``RNNCell``, ``GRUCell`` or ``LSTMCell`` (anything called as ``cell(x, state)``).
        xs: the inputs :math:`x^{(1)}, \\dots, x^{(\\tau)}`: an array :math:`(\\tau, D)` or
            :math:`(\\tau, B, D)`, or a sequence of arrays or tensors.
        state: the initial state :math:`s^{(0)}`; ``None`` (the cell's zeros) if omitted.

    Returns:
        The states :math:`s^{(1)}, \\dots, s^{(\\tau)}`, in time order.
    """
    states = []
    for x in xs:
        state = cell(x if isinstance(x, Tensor) else Tensor(x), state)
        for part in state if isinstance(state, tuple) else (state,):
            part.retain_grad()
        states.append(state)
    return states


def gradient_norms_by_lag(cell: Any, xs: Sequence[Any], v: Any, wrt: str = "h") -> np.ndarray:
    """Norms of the gradient of :math:`L^{(\\tau)} = v^\\top h^{(\\tau)}` reaching each earlier state, by lag (chapter 8).

    Unrolls ``cell`` over the :math:`\\tau` inputs from a zero state (:func:`unroll`), puts the loss
    :math:`L^{(\\tau)} = v^\\top h^{(\\tau)}` on the last hidden state, backpropagates, and returns

    .. math::
        n_k = \\big\\| \\nabla_{s^{(\\tau - k)}} L^{(\\tau)} \\big\\|, \\qquad k = 0, 1, \\dots, \\tau - 1,

    ordered by the lag :math:`k = \\tau - t`, where :math:`s` is the hidden state :math:`h`
    (``wrt="h"``) or the memory cell :math:`c` of an LSTM (``wrt="c"``). For a vanilla RNN the
    gradient is the product of Jacobians of chapter 8 applied to :math:`v`,

    .. math::
        \\nabla_{h^{(t)}} L^{(\\tau)} = \\Big( \\prod_{k=t+1}^{\\tau}
            \\operatorname{diag}\\big(\\tanh'(a^{(k)})\\big)\\, W \\Big)^{\\!\\top} v ,

    so with a unit vector :math:`v` the result shows how that product shrinks or grows with the
    lag; chapter 9 measures a GRU and chapter 10 the cell of an LSTM,
    :math:`\\partial c^{(t)} / \\partial c^{(t-1)} = \\operatorname{diag}(f^{(t)})` along the carousel.
    With a batch axis the loss is summed over the batch.

    Args:
        cell: an ``RNNCell``, ``GRUCell`` or ``LSTMCell``.
        xs: the inputs, :math:`(\\tau, D)` or :math:`(\\tau, B, D)` (see :func:`unroll`).
        v: the weights of the loss on :math:`h^{(\\tau)}`, :math:`(H,)`.
        wrt: ``"h"`` for :math:`\\|\\partial L / \\partial h^{(t)}\\|`, ``"c"`` for
            :math:`\\|\\partial L / \\partial c^{(t)}\\|` (LSTM only).

    Returns:
        The norms :math:`n_0, \\dots, n_{\\tau - 1}`, a float array :math:`(\\tau,)`.

    Raises:
        ValueError: ``wrt`` is not ``"h"`` or ``"c"``, ``"c"`` for a cell without a memory cell,
            no inputs, or ``v`` of the wrong shape.
    """
    if wrt not in _STATES:
        raise ValueError(f"gradient_norms_by_lag: wrt must be 'h' or 'c', got {wrt!r}")
    states = unroll(cell, xs)
    if not states:
        raise ValueError("gradient_norms_by_lag: needs at least one input step, got none")
    paired = isinstance(states[-1], tuple)
    if wrt == "c" and not paired:
        raise ValueError(f"gradient_norms_by_lag: wrt='c' needs a cell with a memory cell (an LSTMCell), "
                         f"got {type(cell).__name__}")
    h_last = states[-1][0] if paired else states[-1]
    v = np.asarray(v)
    if v.shape != h_last.shape[-1:]:
        raise ValueError(f"gradient_norms_by_lag: v must have shape {h_last.shape[-1:]} (the hidden size), "
                         f"got {v.shape}")
    (h_last * Tensor(v)).sum().backward()
    tracked = [state[_STATES.index(wrt)] if paired else state for state in reversed(states)]
    return np.array([np.linalg.norm(state.grad) for state in tracked])
