"""Measurements of a trained or unrolled network: gradient flow, graph memory, receptive fields, linear probes.

- Gradient flow (chapters 8 to 10): chapter 8 writes the gradient that reaches an early state of a
  vanilla RNN as a product of one Jacobian per step and measures how its norm shrinks or grows with
  the lag; chapters 9 and 10 repeat the measurement for the GRU and for the memory cell of the
  LSTM. :func:`unroll` runs a cell over a sequence and keeps every state's gradient;
  :func:`gradient_norms_by_lag` backpropagates a loss on the last state and reads the norms off,
  ordered by lag. :func:`gradients_three_ways` computes the parameter gradients of a whole
  recurrent layer with its hand-written backpropagation through time, with autograd through the
  cell unrolled step by step, and with finite differences, so that chapters 9 and 10 can check the
  BPTT they derive; :func:`gate_trace` records what the gates of a trained layer do along a
  sequence.
- Graph memory (chapters 3 and 4): :func:`graph_memory` counts the operations of an autograd
  graph and the bytes of the arrays they keep for the backward pass.
- Receptive fields (chapters 1 and 12): :func:`conv_inputs_read` traces which inputs one output of
  a stack of dilated, strided convolutions reads; :func:`pixel_influence` perturbs one input pixel at
  a time and records how much an image model's prediction for one pixel moves.
- Linear probes (chapter 1): :func:`linear_probe` asks how well a quantity can be read off a
  network's states by least squares, on states the fit never saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import numpy as np

import minigrad
from minigrad.autograd import Function, no_grad, topological_order
from minigrad.bptt import central_differences
from minigrad.nn.recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from minigrad.tensor import Tensor

__all__ = ["GraphMemory", "conv_inputs_read", "graph_memory", "gate_trace", "gradient_norms_by_lag",
           "gradients_three_ways", "linear_probe", "pixel_influence", "unroll"]

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


# ----------------------------------------------------------------------------- graph memory
@dataclass(frozen=True)
class GraphMemory:
    """What an autograd graph keeps alive for its backward pass (see :func:`graph_memory`).

    Attributes:
        operations: the number of operations recorded in the graph.
        saved_bytes: bytes of the distinct arrays the operations saved, leaving out the leaves'
            arrays; the memory that exists only because the graph does.
        leaf_bytes: bytes of the leaves' arrays (parameters, inputs) that operations saved too;
            they exist with or without the graph.
        by_operation: ``saved_bytes`` split by the name of the operation that saved each array
            first (in the order of the forward pass).
    """

    operations: int
    saved_bytes: int
    leaf_bytes: int
    by_operation: dict[str, int]


def _arrays_in(item: Any) -> Iterator[np.ndarray]:
    """Every numpy array in ``item``, looking inside tuples, lists and dicts."""
    if isinstance(item, np.ndarray):
        yield item
    elif isinstance(item, (tuple, list)):
        for part in item:
            yield from _arrays_in(part)
    elif isinstance(item, dict):
        for part in item.values():
            yield from _arrays_in(part)


def _buffer(array: np.ndarray) -> np.ndarray:
    """The array that owns the memory of ``array`` (``array`` itself unless it is a view)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def graph_memory(root: Tensor) -> GraphMemory:
    r"""Count the operations in the graph of ``root`` and the memory they keep for ``backward()`` (ch. 3, 4).

    Walks the graph from ``root`` (usually a loss) back to its leaves and collects every numpy array
    an operation kept: what it saved with ``save_for_backward`` and any array it stored on its node
    (an index, a mask). A view is charged to the array that owns its memory, and each owner is
    counted once, so the transposed view ``W.T`` that every step of an unrolled network saves is
    the memory of ``W``, counted once:

    .. math:: \text{saved bytes} = \sum_{\text{distinct owners } A \text{ of saved arrays}}
        \text{nbytes}(A), \quad A \notin \text{leaves}.

    Arrays owned by a leaf of the graph (a parameter, an input) are reported apart, as
    ``leaf_bytes``: they are not freed when the graph is.

    Args:
        root: a tensor made by operations that recorded a graph.

    Returns:
        The :class:`GraphMemory` of the graph.

    Raises:
        ValueError: ``root`` was not made by an operation that recorded a graph (a leaf, or a
            result computed under :class:`minigrad.no_grad`).
    """
    if not isinstance(root, Tensor) or root._ctx is None:
        raise ValueError("graph_memory: root must be a tensor computed with a recorded graph "
                         "(not a leaf, not computed under no_grad)")
    operations = [node for node in topological_order(root._ctx) if isinstance(node, Function)]
    leaves = {id(_buffer(parent.data)) for node in operations for parent in node.parents
              if isinstance(parent, Tensor)}
    owners: dict[int, tuple[np.ndarray, str]] = {}
    for node in operations:
        kept = (getattr(node, "saved_tensors", ()), vars(node))
        for array in _arrays_in(kept):
            owner = _buffer(array)
            owners.setdefault(id(owner), (owner, node.op_name()))
    saved, leaf_bytes, by_operation = 0, 0, {}
    for key, (owner, op) in owners.items():
        if key in leaves:
            leaf_bytes += owner.nbytes
        else:
            saved += owner.nbytes
            by_operation[op] = by_operation.get(op, 0) + owner.nbytes
    return GraphMemory(len(operations), saved, leaf_bytes, by_operation)


# ---------------------------------------------------------------------------- linear probes
def linear_probe(features: Any, targets: Any, rng: np.random.Generator, test_fraction: float = 0.5) -> float:
    r"""How well a linear map reads ``targets`` off ``features``: the held-out :math:`R^2` (chapter 1).

    Shuffles the rows, fits :math:`\hat y = w^\top f + w_0` by least squares on the first part
    and returns, on the other ``test_fraction`` of the rows,

    .. math:: R^2 = 1 - \frac{\sum_i (y_i - \hat y_i)^2}{\sum_i (y_i - \bar y)^2},

    with :math:`\bar y` the mean of the held-out targets: 1 when the targets are a linear function of
    the features, about 0 (or below) when the features say nothing about them. Chapter 1 probes
    whether a recurrent network's state :math:`h^{(t)}` tells its position :math:`t`.

    Args:
        features: one row per example, :math:`(n, k)`.
        targets: one number per example, :math:`(n,)`.
        rng: shuffles the rows before the split.
        test_fraction: the share of rows held out, in (0, 1).

    Returns:
        The held-out :math:`R^2`.

    Raises:
        ValueError: shapes that do not match, a fraction outside (0, 1), too few rows on either
            side, or held-out targets that are all equal.
    """
    features = np.asarray(features, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    if features.ndim != 2 or targets.shape != features.shape[:1]:
        raise ValueError(f"linear_probe: need features (n, k) and targets (n,), got {features.shape} "
                         f"and {targets.shape}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"linear_probe: test_fraction must be in (0, 1), got {test_fraction}")
    n = len(targets)
    held_out = int(round(n * test_fraction))
    if held_out < 2 or n - held_out < 2:
        raise ValueError(f"linear_probe: {n} rows leave too few to fit or to test")
    order = rng.permutation(n)
    design = np.hstack([features, np.ones((n, 1))])[order]
    targets = targets[order]
    fit, test = slice(held_out, None), slice(None, held_out)
    weights, *_ = np.linalg.lstsq(design[fit], targets[fit], rcond=None)
    residual = targets[test] - design[test] @ weights
    spread = targets[test] - targets[test].mean()
    if not np.any(spread):
        raise ValueError("linear_probe: the held-out targets are all equal; R^2 is undefined")
    return float(1.0 - residual @ residual / (spread @ spread))


def conv_inputs_read(widths: Sequence[int], dilations: Sequence[int], strides: Sequence[int]) -> list[int]:
    """The input positions that output 0 of a stack of one-dimensional convolutions reads (chapter 1).

    Layer :math:`\\ell` (first layer first) has width :math:`k_\\ell`, dilation :math:`d_\\ell` and stride
    :math:`s_\\ell`: its output :math:`j` reads positions
    :math:`j s_\\ell + i d_\\ell,\\ i = 0, \\dots, k_\\ell - 1` of the layer below. Tracing output 0 from the
    top layer down gives the inputs it depends on; with dilations some positions inside their span
    are skipped.

    Returns:
        The positions, sorted.
    """
    positions = {0}
    for k, d, s in reversed(list(zip(widths, dilations, strides))):
        positions = {p * int(s) + i * int(d) for p in positions for i in range(int(k))}
    return sorted(positions)


def pixel_influence(model: Any, images: np.ndarray, row: int, col: int, levels: int) -> np.ndarray:
    """How much each input pixel moves an image model's prediction for one pixel: its receptive field (chapter 12).

    For every input position :math:`(r, j)` the images are changed there only, each pixel value
    :math:`v` replaced by :math:`(v + \\lfloor K/2 \\rfloor) \\bmod K`, and the change of the
    target's scores is recorded:

    .. math:: m_{r, j} = \\max_{\\text{images},\\, k} \\big| o_{\\text{row}, \\text{col}, k}(x') - o_{\\text{row}, \\text{col}, k}(x) \\big|.

    Positions with :math:`m = 0` cannot influence the prediction (with these weights and
    images); for a causal model every position at or after the target in raster order must give
    exactly 0. The measurement uses the model as a black box, so it works for any architecture.

    Args:
        model: maps integer images :math:`(N, R, C)` to scores :math:`(N, R, C, K)` (a ``PixelRNN``,
            a ``PixelCNN``).
        images: the integer images to perturb, :math:`(N, R, C)`.
        row, col: the target pixel.
        levels: :math:`K`.

    Returns:
        :math:`m`, a float array :math:`(R, C)`.
    """
    images = np.asarray(images)
    with no_grad():
        base = model(images).data[:, row, col]
        influence = np.zeros(images.shape[1:])
        for r in range(images.shape[1]):
            for j in range(images.shape[2]):
                changed = images.copy()
                changed[:, r, j] = (changed[:, r, j] + levels // 2) % levels
                influence[r, j] = np.abs(model(changed).data[:, row, col] - base).max()
    return influence
