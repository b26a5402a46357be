"""Recurrent cells and layers with PyTorch's names, shapes, gate orders and initialisation.

A *cell* computes one time step from tensor operations, so its equations read as in the book
(``RNNCell`` chapter 3, ``GRUCell`` chapter 9, ``LSTMCell`` chapter 10). A *layer* (``RNN``,
``GRU``, ``LSTM``) runs a whole sequence, possibly several stacked layers (chapter 7) in both
directions, with each layer direction fused into one graph node (:mod:`minigrad.nn.fused`,
chapter 13). Parameter names are PyTorch's, so state dicts move between the two libraries.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import minigrad
from minigrad import functional as F
from minigrad.nn import init
from minigrad.nn.fused import GRUKernel, LSTMKernel, Recurrence, RNNKernel
from minigrad.nn.module import Module
from minigrad.tensor import Tensor

__all__ = ["RNNCell", "GRUCell", "LSTMCell", "RNN", "GRU", "LSTM", "length_mask", "lstm_update"]


def length_mask(lengths: Any, steps: int, batch: int, who: str, shortest: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Check the lengths of a padded batch and return them with the mask of the steps that exist.

    Args:
        lengths: one integer :math:`n_b` in ``[shortest, steps]`` per sequence.
        steps, batch: :math:`T` and :math:`B` of the padded batch.
        who: the name that error messages start with.
        shortest: the smallest length allowed.

    Returns:
        ``(lengths, mask)``: the lengths as an array, and the boolean mask :math:`(T, B, 1)` with
        :math:`m_{t b} = [t < n_b]`.

    Raises:
        ValueError: naming ``who``, for lengths of the wrong shape or type, or out of range.
    """
    lengths = np.asarray(lengths)
    if lengths.shape != (batch,) or lengths.dtype.kind not in "iu":
        raise ValueError(f"{who}: lengths must be {batch} integers (one per sequence), "
                         f"got {lengths.dtype} array of shape {lengths.shape}")
    if lengths.min() < shortest or lengths.max() > steps:
        raise ValueError(f"{who}: lengths must lie in [{shortest}, {steps}], got {lengths.tolist()}")
    return lengths, (np.arange(steps)[:, None] < lengths[None, :])[:, :, None]


def _check_input(who: str, x: Tensor, input_size: int, ndims: tuple[int, ...]) -> None:
    if x.ndim not in ndims or x.shape[-1] != input_size:
        raise ValueError(
            f"{who}: expected input with {' or '.join(map(str, ndims))} dimensions and last "
            f"dimension input_size={input_size}, got shape {tuple(x.shape)}"
        )


# ------------------------------------------------------------------------------------ cells
def lstm_update(gates: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    """The LSTM's memory update from the stacked gate pre-activations (chapter 10).

    .. math::
        [i; f; g; o] = \\text{gates}, \\qquad
        c' = \\sigma(f) \\odot c + \\sigma(i) \\odot \\tanh(g), \\qquad
        h' = \\sigma(o) \\odot \\tanh(c')

    Args:
        gates: :math:`(\\ast, 4H)`, the four pre-activations in PyTorch's order i, f, g, o.
        c: the previous memory cell :math:`(\\ast, H)`.

    Returns:
        :math:`(h', c')`.
    """
    i, f, g, o = gates.chunk(4, axis=-1)
    c_new = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c_new.tanh(), c_new


class _Cell(Module):
    """Shared constructor of the cells: ``weight_ih (G H, D)``, ``weight_hh (G H, H)``, biases ``(G H,)``."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 rng: np.random.Generator | None = None, dtype=np.float64) -> None:
        super().__init__()
        rng = np.random.default_rng() if rng is None else rng
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        rows = self.gates * hidden_size
        self.weight_ih = init.uniform_parameter((rows, input_size), hidden_size, rng, dtype)
        self.weight_hh = init.uniform_parameter((rows, hidden_size), hidden_size, rng, dtype)
        if bias:
            self.bias_ih = init.uniform_parameter((rows,), hidden_size, rng, dtype)
            self.bias_hh = init.uniform_parameter((rows,), hidden_size, rng, dtype)

    def _zeros_state(self, x: Tensor) -> Tensor:
        return minigrad.zeros((*x.shape[:-1], self.hidden_size), dtype=x.dtype)

    def _input_part(self, x: Tensor) -> Tensor:
        """:math:`W_{ih} x + b_{ih}`."""
        _check_input(type(self).__name__, x, self.input_size, (1, 2))
        out = x @ self.weight_ih.T
        return out + self.bias_ih if self.bias else out

    def _hidden_part(self, h: Tensor) -> Tensor:
        """:math:`W_{hh} h + b_{hh}`."""
        out = h @ self.weight_hh.T
        return out + self.bias_hh if self.bias else out

    def extra_repr(self) -> str:
        extra = "" if self.bias else ", bias=False"
        return f"{self.input_size}, {self.hidden_size}{extra}"


class RNNCell(_Cell):
    """The Elman cell (chapter 3), as ``torch.nn.RNNCell``.

    .. math:: h' = \\phi(W_{ih} x + b_{ih} + W_{hh} h + b_{hh})

    with :math:`\\phi = \\tanh` or ReLU. In the book's notation :math:`W_{ih} = U`,
    :math:`W_{hh} = W` and :math:`b_{ih} + b_{hh} = b`. All parameters start from
    :math:`\\mathcal{U}(-1/\\sqrt{H}, 1/\\sqrt{H})`.

    Args:
        input_size: :math:`D`, features of :math:`x`.
        hidden_size: :math:`H`, features of :math:`h`.
        bias: use ``bias_ih`` and ``bias_hh``.
        nonlinearity: ``"tanh"`` or ``"relu"``.
        rng: generator for the initial weights.
        dtype: ``np.float64`` (default) or ``np.float32``.

    Shape:
        ``input`` :math:`(B, D)` or :math:`(D,)`; ``hx`` :math:`(B, H)` or :math:`(H,)`, zeros if
        omitted; output :math:`(B, H)` or :math:`(H,)`.
    """

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", rng: np.random.Generator | None = None,
                 dtype=np.float64) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, rng, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        """One step: return :math:`h'`."""
        h = self._zeros_state(input) if hx is None else hx
        a = self._input_part(input) + self._hidden_part(h)
        return a.tanh() if self.nonlinearity == "tanh" else a.relu()

    def extra_repr(self) -> str:
        relu = ", nonlinearity='relu'" if self.nonlinearity == "relu" else ""
        return super().extra_repr() + relu


class GRUCell(_Cell):
    """The gated recurrent unit (Cho et al. 2014; chapter 9), as ``torch.nn.GRUCell``.

    Gates are stacked in the order reset :math:`r`, update :math:`z`, candidate :math:`n`:

    .. math::
        r &= \\sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}) \\\\
        z &= \\sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz}) \\\\
        n &= \\tanh(W_{in} x + b_{in} + r \\odot (W_{hn} h + b_{hn})) \\\\
        h' &= (1 - z) \\odot n + z \\odot h

    Here :math:`z` is the fraction of the old state kept (the book's :math:`1 - u_t`).

    Args:
        input_size: :math:`D`.
        hidden_size: :math:`H`.
        bias: use ``bias_ih`` and ``bias_hh`` (each :math:`(3H,)`).
        rng: generator for the initial weights, :math:`\\mathcal{U}(-1/\\sqrt{H}, 1/\\sqrt{H})`.
        dtype: ``np.float64`` or ``np.float32``.

    Shape:
        ``input`` :math:`(B, D)` or :math:`(D,)`; ``hx`` and output :math:`(B, H)` or :math:`(H,)`.
    """

    gates = 3

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        """One step: return :math:`h'`."""
        h = self._zeros_state(input) if hx is None else hx
        x_r, x_z, x_n = self._input_part(input).chunk(3, axis=-1)
        h_r, h_z, h_n = self._hidden_part(h).chunk(3, axis=-1)
        r = (x_r + h_r).sigmoid()
        z = (x_z + h_z).sigmoid()
        n = (x_n + r * h_n).tanh()
        return (1 - z) * n + z * h


class LSTMCell(_Cell):
    """The long short-term memory cell (Hochreiter and Schmidhuber 1997; chapter 10), as ``torch.nn.LSTMCell``.

    Gates are stacked in the order input :math:`i`, forget :math:`f`, cell candidate :math:`g`,
    output :math:`o`:

    .. math::
        [i; f; g; o] &= [\\sigma; \\sigma; \\tanh; \\sigma](W_{ih} x + b_{ih} + W_{hh} h + b_{hh}) \\\\
        c' &= f \\odot c + i \\odot g \\\\
        h' &= o \\odot \\tanh(c')

    One matrix product per side computes all four gates (chapter 13). For a forget-gate bias of
    1 use :func:`minigrad.nn.init.lstm_forget_bias_`.

    Args:
        input_size: :math:`D`.
        hidden_size: :math:`H`.
        bias: use ``bias_ih`` and ``bias_hh`` (each :math:`(4H,)`).
        rng: generator for the initial weights, :math:`\\mathcal{U}(-1/\\sqrt{H}, 1/\\sqrt{H})`.
        dtype: ``np.float64`` or ``np.float32``.

    Shape:
        ``input`` :math:`(B, D)` or :math:`(D,)`; ``hx = (h, c)``, each :math:`(B, H)` or
        :math:`(H,)`, zeros if omitted; returns ``(h', c')``.
    """

    gates = 4

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        """One step: return :math:`(h', c')`."""
        h, c = (self._zeros_state(input),) * 2 if hx is None else hx
        return lstm_update(self._input_part(input) + self._hidden_part(h), c)


# ----------------------------------------------------------------------------------- layers
class _RecurrentLayer(Module):
    """Shared code of ``RNN``, ``GRU`` and ``LSTM``: parameters, directions, layers, lengths."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 rng: np.random.Generator | None = None, dtype=np.float64) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"{type(self).__name__}: num_layers must be >= 1, got {num_layers}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"{type(self).__name__}: dropout must be in [0, 1), got {dropout}")
        self.rng = np.random.default_rng() if rng is None else rng
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, dropout
        self.bidirectional = bidirectional
        self.num_directions = 2 if bidirectional else 1
        rows = self.gates * hidden_size
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * self.num_directions
            for suffix in self._suffixes(layer):
                setattr(self, f"weight_ih{suffix}",
                        init.uniform_parameter((rows, layer_input), hidden_size, self.rng, dtype))
                setattr(self, f"weight_hh{suffix}",
                        init.uniform_parameter((rows, hidden_size), hidden_size, self.rng, dtype))
                if bias:
                    setattr(self, f"bias_ih{suffix}", init.uniform_parameter((rows,), hidden_size, self.rng, dtype))
                    setattr(self, f"bias_hh{suffix}", init.uniform_parameter((rows,), hidden_size, self.rng, dtype))

    def _suffixes(self, layer: int) -> list[str]:
        """PyTorch's parameter-name suffixes of one layer: ``_l0`` and ``_l0_reverse``."""
        return [f"_l{layer}", f"_l{layer}_reverse"][: self.num_directions]

    def _kernel(self):
        raise NotImplementedError

    def _run(self, x: Tensor, state0: list[tuple], mask: np.ndarray | None,
             kernel) -> tuple[Tensor, list[list[Tensor]]]:
        """All layers and directions over ``x`` :math:`(T, B, D)`; ``state0[k]`` is the initial state
        of layer direction ``k``. Return the last layer's output and the final states."""
        steps = x.shape[0]
        finals: list[list[Tensor]] = [[] for _ in range(kernel.n_state)]
        for layer in range(self.num_layers):
            outputs = []
            for direction, suffix in enumerate(self._suffixes(layer)):
                names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if self.bias else [])
                weight_ih, weight_hh, *biases = (getattr(self, name + suffix) for name in names)
                state = state0[layer * self.num_directions + direction]
                packed = Recurrence.apply(x, weight_ih, weight_hh, *state, *biases,
                                          kernel=kernel, reverse=direction == 1, mask=mask)
                outputs.append(packed[:steps])
                for k in range(kernel.n_state):
                    finals[k].append(packed[steps + k])
            x = outputs[0] if len(outputs) == 1 else minigrad.cat(outputs, axis=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True, rng=self.rng)
        return x, finals

    def _prepare(self, input: Tensor, lengths) -> tuple[Tensor, np.ndarray | None]:
        name = type(self).__name__
        _check_input(name, input, self.input_size, (3,))
        x = input.transpose(1, 0, 2) if self.batch_first else input
        if lengths is None:
            return x, None
        return x, length_mask(lengths, x.shape[0], x.shape[1], name)[1]

    def _initial_states(self, hx, n_state: int, batch: int, dtype) -> list[tuple]:
        count = self.num_layers * self.num_directions
        if hx is None:
            zeros = np.zeros((batch, self.hidden_size), dtype=dtype)
            return [(zeros,) * n_state] * count
        parts = hx if n_state > 1 else (hx,)
        expected = (count, batch, self.hidden_size)
        for part in parts:
            if tuple(part.shape) != expected:
                raise ValueError(f"{type(self).__name__}: initial state must have shape "
                                 f"(num_layers * num_directions, B, H) = {expected}, "
                                 f"got {tuple(part.shape)}")
        return [tuple(part[k] for part in parts) for k in range(count)]

    def _forward(self, input: Tensor, hx, lengths) -> tuple[Tensor, list[Tensor]]:
        """The output (in the caller's layout) and the final states, each :math:`(L K, B, H)`."""
        x, mask = self._prepare(input, lengths)
        kernel = self._kernel()
        state0 = self._initial_states(hx, kernel.n_state, x.shape[1], x.dtype)
        output, finals = self._run(x, state0, mask, kernel)
        if self.batch_first:
            output = output.transpose(1, 0, 2)
        return output, [minigrad.stack(final, axis=0) for final in finals]

    def extra_repr(self) -> str:
        extra = [f"{self.input_size}, {self.hidden_size}"]
        if self.num_layers != 1:
            extra.append(f"num_layers={self.num_layers}")
        if not self.bias:
            extra.append("bias=False")
        if self.batch_first:
            extra.append("batch_first=True")
        if self.dropout:
            extra.append(f"dropout={self.dropout}")
        if self.bidirectional:
            extra.append("bidirectional=True")
        return ", ".join(extra)


_LAYER_ARGS = """
    Args:
        input_size: :math:`D`, features per step.
        hidden_size: :math:`H`.
        num_layers: stacked layers; layer :math:`l > 0` reads the output of layer :math:`l - 1`
            (chapter 7).
        bias: use ``bias_ih_l{k}`` and ``bias_hh_l{k}``.
        batch_first: inputs and outputs are :math:`(B, T, \\cdot)` instead of :math:`(T, B, \\cdot)`.
        dropout: dropout probability on the outputs of every layer but the last, in training
            mode (never on the recurrent connections; chapter 7).
        bidirectional: add a layer direction that reads the sequence backwards; outputs are
            concatenated :math:`[\\overrightarrow{h}; \\overleftarrow{h}]` (chapter 7).
        rng: generator for the initial weights (:math:`\\mathcal{U}(-1/\\sqrt{H}, 1/\\sqrt{H})`,
            as PyTorch) and for dropout.
        dtype: ``np.float64`` (default) or ``np.float32``.

    Parameters are named as in PyTorch: ``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``,
    ``bias_hh_l0``, then ``..._l0_reverse`` for the backward direction, then ``..._l1``.

    ``forward`` takes ``lengths`` (one integer per sequence) for padded batches: steps at or beyond
    a sequence's length change neither the outputs at its real steps nor its final state, and
    their outputs are 0 (as PyTorch's packed sequences give).

"""


def _document_layer(cls: type) -> type:
    """Put the arguments shared by ``RNN``, ``GRU`` and ``LSTM`` into ``cls``'s docstring."""
    cls.__doc__ = cls.__doc__.replace("    {layer_args}\n", _LAYER_ARGS)
    return cls


@_document_layer
class RNN(_RecurrentLayer):
    """A multi-layer Elman RNN over whole sequences (chapters 3 and 7), as ``torch.nn.RNN``.

    Every layer direction applies :class:`RNNCell`'s step
    :math:`h^{(t)} = \\phi(W_{ih} x^{(t)} + b_{ih} + W_{hh} h^{(t-1)} + b_{hh})` for
    :math:`t = 1..T` (or :math:`T..1` in reverse), :math:`\\phi` = ``nonlinearity``
    (``"tanh"`` or ``"relu"``; it comes right after ``num_layers``, as in PyTorch).
    {layer_args}
    Shape:
        ``forward(input, hx=None, lengths=None)``: ``input`` :math:`(T, B, D)`; ``hx``
        :math:`(L \\cdot K, B, H)` with :math:`K` directions. Returns ``(output, h_n)``, output
        :math:`(T, B, K H)` and ``h_n`` :math:`(L \\cdot K, B, H)`.
    """

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False,
                 rng: np.random.Generator | None = None, dtype=np.float64) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, rng, dtype)
        self.nonlinearity = nonlinearity

    def _kernel(self) -> RNNKernel:
        return RNNKernel(self.nonlinearity)

    def forward(self, input: Tensor, hx: Tensor | None = None, lengths=None) -> tuple[Tensor, Tensor]:
        """Run the sequence; return ``(output, h_n)``."""
        output, (h_n,) = self._forward(input, hx, lengths)
        return output, h_n


@_document_layer
class GRU(_RecurrentLayer):
    """A multi-layer GRU over whole sequences (chapters 7 and 9), as ``torch.nn.GRU``.

    Every layer direction applies :class:`GRUCell`'s step (gate order r, z, n), ending in
    :math:`h^{(t)} = (1 - z_t) \\odot n_t + z_t \\odot h^{(t-1)}`.
    {layer_args}
    Shape:
        ``forward(input, hx=None, lengths=None)``: as :class:`RNN`; returns ``(output, h_n)``.
    """

    gates = 3

    def _kernel(self) -> GRUKernel:
        return GRUKernel()

    def forward(self, input: Tensor, hx: Tensor | None = None, lengths=None) -> tuple[Tensor, Tensor]:
        """Run the sequence; return ``(output, h_n)``."""
        output, (h_n,) = self._forward(input, hx, lengths)
        return output, h_n


@_document_layer
class LSTM(_RecurrentLayer):
    """A multi-layer LSTM over whole sequences (chapters 7 and 10), as ``torch.nn.LSTM``.

    Every layer direction applies :class:`LSTMCell`'s step (gate order i, f, g, o):
    :math:`c^{(t)} = f \\odot c^{(t-1)} + i \\odot g`, :math:`h^{(t)} = o \\odot \\tanh(c^{(t)})`.
    {layer_args}
    Shape:
        ``forward(input, hx=None, lengths=None)``: ``hx = (h_0, c_0)``, each
        :math:`(L \\cdot K, B, H)`. Returns ``(output, (h_n, c_n))``.
    """

    gates = 4

    def _kernel(self) -> LSTMKernel:
        return LSTMKernel()

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None,
                lengths=None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """Run the sequence; return ``(output, (h_n, c_n))``."""
        output, (h_n, c_n) = self._forward(input, hx, lengths)
        return output, (h_n, c_n)
