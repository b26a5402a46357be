"""minGRU: a GRU whose gate reads only the input, so that it trains in parallel over time (chapter 14).

Feng et al. (2024) strip the GRU of chapter 9 down to

.. math::
    z_t = \\sigma(W_z x_t + b_z), \\qquad \\tilde h_t = W_h x_t + b_h, \\qquad
    h_t = (1 - z_t) \\odot h_{t-1} + z_t \\odot \\tilde h_t .

Neither the gate nor the candidate sees :math:`h_{t-1}`, and the candidate has no :math:`\\tanh`.
The update is then the diagonal linear recurrence :math:`h_t = a_t \\odot h_{t-1} + b_t` with
:math:`a_t = 1 - z_t` and :math:`b_t = z_t \\odot \\tilde h_t`, both computed for all steps at once
before the recurrence, which :func:`minigrad.scan.linear_recurrence` runs as a parallel scan.
Here :math:`z_t` is the fraction of the state *overwritten*, the book's update gate :math:`u^{(t)}`
(PyTorch's GRU calls the fraction *kept* :math:`z`).
"""

from __future__ import annotations

import numpy as np

from minigrad.nn import init
from minigrad.nn.module import Module
from minigrad.scan import METHODS, linear_recurrence
from minigrad.tensor import Tensor, as_tensor

__all__ = ["MinGRU"]


class MinGRU(Module):
    """One minGRU layer over whole sequences (Feng et al. 2024; chapter 14).

    Args:
        input_size: :math:`D`.
        hidden_size: :math:`H`.
        method: how the recurrence runs, ``"scan"`` (in :math:`\\lceil \\log_2 T \\rceil` rounds) or
            ``"loop"`` (in :math:`T`); the same result (see :func:`~minigrad.scan.linear_recurrence`).
            An attribute: change it at any time.
        rng: generator for the initial weights, :math:`\\mathcal{U}(-1/\\sqrt{H}, 1/\\sqrt{H})` as
            for the recurrent layers.
        dtype: ``np.float64`` (default) or ``np.float32``.

    Parameters: ``weight_ih`` :math:`(2H, D)`, the blocks :math:`W_z` and :math:`W_h` stacked, and
    ``bias_ih`` :math:`(2H,)`, :math:`[b_z; b_h]`. There is no ``weight_hh``: nothing multiplies
    the state.

    Shape:
        ``forward(input, hx=None)``: ``input`` :math:`(T, B, D)`, ``hx`` :math:`(1, B, H)` (zeros
        if omitted), as :class:`~minigrad.nn.GRU`. Returns ``(output, h_n)``, :math:`(T, B, H)` and
        :math:`(1, B, H)`.
    """

    def __init__(self, input_size: int, hidden_size: int, method: str = "scan",
                 rng: np.random.Generator | None = None, dtype=np.float64) -> None:
        super().__init__()
        if method not in METHODS:
            raise ValueError(f"MinGRU: method must be one of {METHODS}, got {method!r}")
        rng = np.random.default_rng() if rng is None else rng
        self.input_size, self.hidden_size, self.method = input_size, hidden_size, method
        self.weight_ih = init.uniform_parameter((2 * hidden_size, input_size), hidden_size, rng, dtype)
        self.bias_ih = init.uniform_parameter((2 * hidden_size,), hidden_size, rng, dtype)

    def forward(self, input, hx=None) -> tuple[Tensor, Tensor]:
        """Run the sequence; return ``(output, h_n)``."""
        x = as_tensor(input)
        if x.ndim != 3 or x.shape[-1] != self.input_size:
            raise ValueError(f"MinGRU: expected input of shape (T, B, input_size={self.input_size}), "
                             f"got {tuple(x.shape)}")
        h0 = None
        if hx is not None:
            hx = as_tensor(hx)
            if tuple(hx.shape) != (1, x.shape[1], self.hidden_size):
                raise ValueError(f"MinGRU: hx must have shape (1, B, H) = {(1, x.shape[1], self.hidden_size)}, "
                                 f"got {tuple(hx.shape)}")
            h0 = hx[0]
        gate, candidate = (x @ self.weight_ih.T + self.bias_ih).chunk(2, axis=-1)
        z = gate.sigmoid()
        output = linear_recurrence(1 - z, z * candidate, h0, method=self.method)
        return output, output[-1:]

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + (", method='loop'" if self.method == "loop" else "")
