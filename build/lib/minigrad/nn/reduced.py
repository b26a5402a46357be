"""Reduced-gate cells: the minimal gated unit and the coupled input-forget LSTM (chapter 13).

Both remove a gate from a cell of chapters 9 and 10 and keep its additive memory path. They are
cells in the style of :mod:`minigrad.nn.recurrent` (``weight_ih``, ``weight_hh``, ``bias_ih``,
``bias_hh`` with the gate blocks stacked, :math:`\\mathcal{U}(-1/\\sqrt{H}, 1/\\sqrt{H})` start),
built from tensor operations and run step by step.
"""

from __future__ import annotations

from minigrad.nn.recurrent import _Cell
from minigrad.tensor import Tensor

__all__ = ["MGUCell", "CIFGCell"]


class MGUCell(_Cell):
    """The minimal gated unit (Zhou et al. 2016; chapter 13): a GRU whose one gate resets and updates.

    Gates are stacked in the order forget :math:`f`, candidate :math:`n`:

    .. math::
        f &= \\sigma(W_{if} x + b_{if} + W_{hf} h + b_{hf}) \\\\
        n &= \\tanh(W_{in} x + b_{in} + f \\odot (W_{hn} h + b_{hn})) \\\\
        h' &= (1 - f) \\odot h + f \\odot n

    As in :class:`~minigrad.nn.GRUCell`, the gate multiplies the hidden side of :math:`n` after
    its matrix product. Two blocks instead of the GRU's three: a third fewer parameters.

    Args:
        input_size: :math:`D`.
        hidden_size: :math:`H`.
        bias: use ``bias_ih`` and ``bias_hh`` (each :math:`(2H,)`).
        rng: generator for the initial weights.
        dtype: ``np.float64`` or ``np.float32``.

    Shape:
        ``input`` :math:`(B, D)` or :math:`(D,)`; ``hx`` and output :math:`(B, H)` or :math:`(H,)`.
    """

    gates = 2

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        """One step: return :math:`h'`."""
        h = self._zeros_state(input) if hx is None else hx
        x_f, x_n = self._input_part(input).chunk(2, axis=-1)
        h_f, h_n = self._hidden_part(h).chunk(2, axis=-1)
        f = (x_f + h_f).sigmoid()
        n = (x_n + f * h_n).tanh()
        return h + f * (n - h)


class CIFGCell(_Cell):
    """The LSTM with coupled input and forget gates (Greff et al. 2017; chapter 13).

    The input gate is tied to the forget gate, :math:`i = 1 - f`, so what is written is exactly
    what is forgotten. Gates are stacked in the order forget :math:`f`, cell candidate
    :math:`g`, output :math:`o`:

    .. math::
        [f; g; o] &= [\\sigma; \\tanh; \\sigma](W_{ih} x + b_{ih} + W_{hh} h + b_{hh}) \\\\
        c' &= f \\odot c + (1 - f) \\odot g \\\\
        h' &= o \\odot \\tanh(c')

    Args:
        input_size: :math:`D`.
        hidden_size: :math:`H`.
        bias: use ``bias_ih`` and ``bias_hh`` (each :math:`(3H,)`).
        rng: generator for the initial weights.
        dtype: ``np.float64`` or ``np.float32``.

    Shape:
        ``input`` :math:`(B, D)` or :math:`(D,)`; ``hx = (h, c)``, each :math:`(B, H)` or
        :math:`(H,)`, zeros if omitted; returns ``(h', c')``.
    """

    gates = 3

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        """One step: return :math:`(h', c')`."""
        h, c = (self._zeros_state(input),) * 2 if hx is None else hx
        f, g, o = (self._input_part(input) + self._hidden_part(h)).chunk(3, axis=-1)
        f, g = f.sigmoid(), g.tanh()
        c_new = g + f * (c - g)
        return o.sigmoid() * c_new.tanh(), c_new
