"""Gradient-flow measurements: how much gradient reaches a recurrent state at each time lag (chapters 8 to 10).

Chapter 8 writes the gradient that reaches an early state of a vanilla RNN as a product of one
Jacobian per step and measures how its norm shrinks or grows with the lag; chapters 9 and 10 repeat
the measurement for the GRU and for the memory cell of the LSTM. :func:`unroll` runs a cell over a
sequence and keeps every state's gradient; :func:`gradient_norms_by_lag` backpropagates a loss on the
last state and reads the norms off, ordered by lag. :func:`gradients_three_ways` computes the
parameter gradients of a whole recurrent layer with its hand-written backpropagation through time,
with autograd through the cell unrolled step by step, and with finite differences, so that
chapters 9 and 10 can check the BPTT they derive; :func:`gate_trace` records what the gates of a
trained layer do along a sequence.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

import minigrad
from minigrad.bptt import central_differences
from minigrad.nn.recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from minigrad.tensor import Tensor

__all__ = ["unroll", "gradient_norms_by_lag", "gradients_three_ways", "gate_trace"]

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


def gradients_three_ways(layer: RNN | GRU | LSTM, x: Any, v: Any, eps: float = 1e-6) -> dict[str, dict[str, np.ndarray]]:
    """The parameter gradients of a recurrent layer, by fused BPTT, by autograd on the unrolled cell, and by finite differences (chapters 9 and 10).

    The loss is a fixed random projection of every output, :math:`L = \\sum_t v^{(t)\\top} h^{(t)}`,
    so that gradient flows into every step from every later one. Three computations of
    :math:`\\partial L / \\partial \\theta` for every parameter :math:`\\theta` of the layer:

    - ``"fused"``: the layer's own backward pass, the hand-written backpropagation through time of
      :class:`minigrad.nn.fused.Recurrence` (the equations chapters 9 and 10 derive);
    - ``"unrolled"``: autograd through the matching cell (``RNNCell``, ``GRUCell``, ``LSTMCell``) run
      step by step with the same weights, a graph of elementary tensor operations;
    - ``"finite differences"``: central differences of :math:`L` in float64, one entry at a time.

    Args:
        layer: a one-layer, one-direction ``RNN``, ``GRU`` or ``LSTM`` in float64.
        x: inputs :math:`(T, B, D)`.
        v: output weights :math:`(T, B, H)`.
        eps: the finite-difference step.

    Returns:
        ``{"fused": grads, "unrolled": grads, "finite differences": grads}``, each mapping the
        layer's parameter names (``weight_ih_l0``, ...) to arrays. The layer's parameters are left
        as they were.

    Raises:
        ValueError: a layer of another kind, deeper or bidirectional, or not float64.
    """
    cells = {RNN: RNNCell, GRU: GRUCell, LSTM: LSTMCell}
    if type(layer) not in cells or layer.num_layers != 1 or layer.bidirectional:
        raise ValueError(f"gradients_three_ways: needs a one-layer, one-direction RNN, GRU or LSTM, got {layer!r}")
    params = layer.state_dict()
    if any(value.dtype != np.float64 for value in params.values()):
        raise ValueError("gradients_three_ways: finite differences need a float64 layer")
    x, v = np.asarray(x, dtype=np.float64), np.asarray(v, dtype=np.float64)

    layer.zero_grad()
    output, _ = layer(Tensor(x))
    (output * Tensor(v)).sum().backward()
    fused = {name: p.grad.copy() for name, p in layer.named_parameters()}
    layer.zero_grad()

    extra = {"nonlinearity": layer.nonlinearity} if isinstance(layer, RNN) else {}
    cell = cells[type(layer)](layer.input_size, layer.hidden_size, bias=layer.bias, **extra)
    cell.load_state_dict({name.removesuffix("_l0"): value for name, value in params.items()})
    states = unroll(cell, x)
    hidden = [state[0] if isinstance(state, tuple) else state for state in states]
    sum((h * Tensor(v_t)).sum() for h, v_t in zip(hidden, v)).backward()
    unrolled = {name + "_l0": p.grad.copy() for name, p in cell.named_parameters()}

    def loss(point):
        layer.load_state_dict(point)
        with minigrad.no_grad():
            return float((layer(Tensor(x))[0].data * v).sum())

    try:
        finite = central_differences(loss, params, eps)
    finally:
        layer.load_state_dict(params)
    return {"fused": fused, "unrolled": unrolled, "finite differences": finite}


def gate_trace(layer: GRU | LSTM, x: Any) -> dict[str, np.ndarray]:
    """The gates and states of a GRU or LSTM layer at every step of a sequence (chapters 9 and 10).

    Runs the layer's own step (:class:`~minigrad.nn.fused.GRUKernel` or
    :class:`~minigrad.nn.fused.LSTMKernel`) over ``x`` from a zero state and keeps what it computes:

    - GRU (PyTorch's names): the reset gate ``r``, the gate ``z`` (the fraction of the old state kept;
      the book's update gate is :math:`u = 1 - z`), the candidate ``n`` and the state ``h``;
    - LSTM: the input gate ``i``, forget gate ``f``, candidate ``g``, output gate ``o``, the memory
      cell ``c`` and the hidden state ``h``.

    Args:
        layer: a one-layer, one-direction ``GRU`` or ``LSTM``.
        x: inputs :math:`(T, B, D)`.

    Returns:
        Name to array :math:`(T, B, H)`.

    Raises:
        ValueError: another kind of layer, or a deeper or bidirectional one.
    """
    if type(layer) not in (GRU, LSTM) or layer.num_layers != 1 or layer.bidirectional:
        raise ValueError(f"gate_trace: needs a one-layer, one-direction GRU or LSTM, got {layer!r}")
    kernel = layer._kernel()
    size = layer.hidden_size
    params = {name: p.data for name, p in layer.named_parameters()}
    x = np.asarray(x, dtype=params["weight_ih_l0"].dtype)
    no_bias = np.zeros(params["weight_ih_l0"].shape[0], dtype=x.dtype)
    b_ih, b_hh = params.get("bias_ih_l0", no_bias), params.get("bias_hh_l0", no_bias)
    xp = x @ params["weight_ih_l0"].T + b_ih + (b_hh if kernel.additive else 0)
    state = tuple(np.zeros((x.shape[1], size), dtype=x.dtype) for _ in range(kernel.n_state))
    names = ("r", "z", "n", "h") if isinstance(layer, GRU) else ("i", "f", "g", "o", "c", "h")
    trace = {name: [] for name in names}
    for t in range(x.shape[0]):
        state, cache = kernel.step(xp[t], state, params["weight_hh_l0"], None if kernel.additive else b_hh)
        if isinstance(layer, GRU):
            r, z, n = cache[:3]
            steps = {"r": r, "z": z, "n": n, "h": state[0]}
        else:
            acts = cache[0]
            steps = {name: acts[:, k * size:(k + 1) * size] for k, name in enumerate("ifgo")}
            steps.update(c=state[1], h=state[0])
        for name, value in steps.items():
            trace[name].append(np.array(value))
    return {name: np.stack(values) for name, values in trace.items()}
