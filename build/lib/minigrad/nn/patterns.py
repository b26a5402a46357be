"""The book's three recurrent design patterns, in the book's notation (chapters 3 and 5).

Parameters carry the names of Goodfellow, Bengio and Courville (2016, ch. 10): ``U`` input to
hidden, ``W`` recurrent, ``V`` hidden to output, ``b`` hidden bias, ``c`` output bias. Inputs are
time-major, :math:`x` of shape :math:`(T, B, \\text{input\\_size})`, and :math:`h^{(0)} = 0` unless
``h0`` is given. Every parameter starts from :math:`\\mathcal{U}(-1/\\sqrt{n}, 1/\\sqrt{n})` with
:math:`n` the size of the vector it multiplies (the hidden size for ``b`` and ``c``).
"""

from __future__ import annotations

import numpy as np

import minigrad
from minigrad import functional as F
from minigrad.nn import init
from minigrad.nn.module import Module
from minigrad.tensor import Tensor, as_tensor

__all__ = ["ElmanRNN", "JordanRNN", "SummaryRNN"]


def _check_sequence(who: str, x: Tensor, input_size: int) -> None:
    if x.ndim != 3 or x.shape[-1] != input_size:
        raise ValueError(f"{who}: expected x of shape (T, B, input_size={input_size}), "
                         f"got {tuple(x.shape)}")


def _initial_state(who: str, h0, batch: int, size: int, dtype) -> Tensor:
    if h0 is None:
        return minigrad.zeros((batch, size), dtype=dtype)
    h0 = as_tensor(h0)
    if tuple(h0.shape) != (batch, size):
        raise ValueError(f"{who}: h0 must have shape (B, hidden_size) = {(batch, size)}, got {tuple(h0.shape)}")
    return h0


def elman_states(x: Tensor, h0: Tensor, U: Tensor, W: Tensor, b: Tensor) -> list[Tensor]:
    """The hidden states of the Elman recurrence (chapter 3, the forward pass of pattern A).

    .. math:: a^{(t)} = b + W h^{(t-1)} + U x^{(t)}, \\qquad h^{(t)} = \\tanh(a^{(t)}),
        \\qquad t = 1, \\dots, \\tau

    The input terms :math:`U x^{(t)} + b` of all steps are one matrix product before the loop;
    only :math:`W h^{(t-1)}` has to wait for the previous step.

    Args:
        x: inputs :math:`(\\tau, B, D)`.
        h0: :math:`h^{(0)}`, :math:`(B, H)`.
        U: :math:`(H, D)`.
        W: :math:`(H, H)`.
        b: :math:`(H,)`.

    Returns:
        :math:`[h^{(1)}, \\dots, h^{(\\tau)}]`, each :math:`(B, H)`.
    """
    input_terms = x @ U.T + b
    h, states = h0, []
    for t in range(x.shape[0]):
        h = (input_terms[t] + h @ W.T).tanh()
        states.append(h)
    return states


class _Pattern(Module):
    """The parameters ``U, W, V, b, c`` shared by the three patterns; ``W`` is :math:`(H, n)`."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int, recurrent_size: int,
                 rng: np.random.Generator | None, dtype) -> None:
        super().__init__()
        rng = np.random.default_rng() if rng is None else rng
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, output_size
        self.U = init.uniform_parameter((hidden_size, input_size), input_size, rng, dtype)
        self.W = init.uniform_parameter((hidden_size, recurrent_size), recurrent_size, rng, dtype)
        self.V = init.uniform_parameter((output_size, hidden_size), hidden_size, rng, dtype)
        self.b = init.uniform_parameter((hidden_size,), hidden_size, rng, dtype)
        self.c = init.uniform_parameter((output_size,), hidden_size, rng, dtype)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, {self.output_size}"


class ElmanRNN(_Pattern):
    """Pattern A: an output at every step and hidden-to-hidden recurrence (chapter 3).

    .. math::
        a^{(t)} = b + W h^{(t-1)} + U x^{(t)}, \\quad h^{(t)} = \\tanh(a^{(t)}), \\quad
        o^{(t)} = c + V h^{(t)}

    The prediction is :math:`\\hat{y}^{(t)} = \\text{softmax}(o^{(t)})`; pass :math:`o` to
    :func:`minigrad.functional.cross_entropy` for the loss :math:`L = \\sum_t L^{(t)}`.

    Args:
        input_size: :math:`D`.
        hidden_size: :math:`H`.
        output_size: :math:`O`.
        rng: generator for the initial weights.
        dtype: ``np.float64`` (default) or ``np.float32``.

    Shape:
        ``forward(x, h0=None)``: ``x`` :math:`(T, B, D)`, ``h0`` :math:`(B, H)`. Returns
        ``(o, h)``: logits :math:`(T, B, O)` and hidden states :math:`(T, B, H)`.
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int,
                 rng: np.random.Generator | None = None, dtype=np.float64) -> None:
        super().__init__(input_size, hidden_size, output_size, hidden_size, rng, dtype)

    def forward(self, x, h0=None) -> tuple[Tensor, Tensor]:
        """Return the logits :math:`o^{(1..T)}` and the hidden states :math:`h^{(1..T)}`."""
        x = as_tensor(x)
        _check_sequence("ElmanRNN", x, self.input_size)
        h0 = _initial_state("ElmanRNN", h0, x.shape[1], self.hidden_size, x.dtype)
        h = minigrad.stack(elman_states(x, h0, self.U, self.W, self.b), axis=0)
        return h @ self.V.T + self.c, h


class JordanRNN(_Pattern):
    """Pattern B: recurrence from the previous output to the hidden layer (chapter 5).

    .. math::
        a^{(t)} = b + W y^{(t-1)} + U x^{(t)}, \\quad h^{(t)} = \\tanh(a^{(t)}), \\quad
        o^{(t)} = c + V h^{(t)}

    Here ``W`` is :math:`(H, O)`: only the output passes information forward, which is why this
    pattern is less powerful than pattern A. With *teacher forcing* (``y_prev`` given, the true
    previous targets) no step waits for another, so all steps are computed at once. Running free
    (``y_prev`` omitted) it feeds back its own previous output: :math:`o^{(t-1)}` itself
    (``feedback="identity"``, for real-valued targets) or :math:`\\text{softmax}(o^{(t-1)})`
    (``feedback="softmax"``, for class targets), with :math:`y^{(0)} = 0`.

    Args:
        input_size: :math:`D`.
        hidden_size: :math:`H`.
        output_size: :math:`O`.
        feedback: ``"identity"`` or ``"softmax"``, what is fed back when running free.
        rng: generator for the initial weights.
        dtype: ``np.float64`` (default) or ``np.float32``.

    Shape:
        ``forward(x, y_prev=None)``: ``x`` :math:`(T, B, D)`; ``y_prev[t]`` is what step
        :math:`t` sees as the previous output, :math:`(T, B, O)` real values or :math:`(T, B)`
        class indices, one-hot encoded, where -1 means "no previous output" (the zero vector,
        usual at :math:`t = 1`). Returns ``(o, h)``: :math:`(T, B, O)` and :math:`(T, B, H)`.
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int,
                 feedback: str = "identity", rng: np.random.Generator | None = None,
                 dtype=np.float64) -> None:
        if feedback not in ("identity", "softmax"):
            raise ValueError(f"JordanRNN: feedback must be 'identity' or 'softmax', got {feedback!r}")
        super().__init__(input_size, hidden_size, output_size, output_size, rng, dtype)
        self.feedback = feedback

    def _previous_outputs(self, y_prev, steps: int, batch: int, dtype) -> Tensor:
        y_prev = as_tensor(y_prev)
        if y_prev.dtype.kind in "iu":
            if tuple(y_prev.shape) != (steps, batch):
                raise ValueError(f"JordanRNN: integer y_prev must have shape (T, B) = {(steps, batch)}, "
                                 f"got {tuple(y_prev.shape)}")
            indices = y_prev.data
            if indices.min() < -1 or indices.max() >= self.output_size:
                raise ValueError(f"JordanRNN: class indices in y_prev must lie in [-1, {self.output_size}), "
                                 f"got values from {indices.min()} to {indices.max()}")
            one_hot = np.eye(self.output_size, dtype=dtype)[indices] * (indices >= 0)[..., None]
            return as_tensor(one_hot)
        if tuple(y_prev.shape) != (steps, batch, self.output_size):
            raise ValueError(f"JordanRNN: y_prev must have shape (T, B, output_size) = "
                             f"{(steps, batch, self.output_size)}, got {tuple(y_prev.shape)}")
        return y_prev

    def forward(self, x, y_prev=None) -> tuple[Tensor, Tensor]:
        """Teacher-forced if ``y_prev`` is given, free-running otherwise; return ``(o, h)``."""
        x = as_tensor(x)
        _check_sequence("JordanRNN", x, self.input_size)
        steps, batch = x.shape[0], x.shape[1]
        input_terms = x @ self.U.T + self.b
        if y_prev is not None:
            y_prev = self._previous_outputs(y_prev, steps, batch, x.dtype)
            h = (input_terms + y_prev @ self.W.T).tanh()
            return h @ self.V.T + self.c, h
        y = minigrad.zeros((batch, self.output_size), dtype=x.dtype)
        hs, os = [], []
        for t in range(steps):
            h = (input_terms[t] + y @ self.W.T).tanh()
            o = h @ self.V.T + self.c
            y = F.softmax(o, axis=-1) if self.feedback == "softmax" else o
            hs.append(h)
            os.append(o)
        return minigrad.stack(os, axis=0), minigrad.stack(hs, axis=0)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, {self.output_size}, feedback={self.feedback!r}"


class SummaryRNN(_Pattern):
    """Pattern C: read the whole sequence, then give one output (chapter 5).

    .. math::
        h^{(t)} = \\tanh(b + W h^{(t-1)} + U x^{(t)}), \\quad t = 1..\\tau, \\qquad
        o = c + V h^{(\\tau)}

    The last hidden state :math:`h^{(\\tau)}` is a fixed-size summary of the sequence
    (sequence-to-vector: classification, sentiment).

    Args:
        input_size: :math:`D`.
        hidden_size: :math:`H`.
        output_size: :math:`O`.
        rng: generator for the initial weights.
        dtype: ``np.float64`` (default) or ``np.float32``.

    Shape:
        ``forward(x, h0=None)``: ``x`` :math:`(T, B, D)`; returns :math:`o`, :math:`(B, O)`.
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int,
                 rng: np.random.Generator | None = None, dtype=np.float64) -> None:
        super().__init__(input_size, hidden_size, output_size, hidden_size, rng, dtype)

    def forward(self, x, h0=None) -> Tensor:
        """Return :math:`o = c + V h^{(\\tau)}`."""
        x = as_tensor(x)
        _check_sequence("SummaryRNN", x, self.input_size)
        h0 = _initial_state("SummaryRNN", h0, x.shape[1], self.hidden_size, x.dtype)
        return elman_states(x, h0, self.U, self.W, self.b)[-1] @ self.V.T + self.c
