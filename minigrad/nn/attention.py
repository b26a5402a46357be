"""Attention: a weighted average of stored vectors, the weights chosen by the current query (chapter 14).

One function, :func:`dot_product_attention`, does the arithmetic for both uses the chapter makes
of it:

* a decoder that looks back at every encoder state (:class:`DecoderAttention`, used by
  :class:`minigrad.models.EncoderDecoder`),
* self-attention, in which every position of one sequence looks at every other
  (:class:`SelfAttention`).

Tensors here are batch-first inside the arithmetic, :math:`(B, T, d)`, because the products
:math:`Q K^\\top` are batched matrix products over :math:`B`; the module :class:`SelfAttention`
reads and writes the course's time-major layout :math:`(T, B, d)`, like the recurrent layers.
"""

from __future__ import annotations

import math

import numpy as np

from minigrad import functional as F
from minigrad.nn.layers import Linear
from minigrad.nn.module import Module
from minigrad.tensor import Tensor, as_tensor, cat

__all__ = ["DecoderAttention", "SelfAttention", "causal_mask", "dot_product_attention"]


def causal_mask(steps: int) -> np.ndarray:
    """The boolean :math:`(T, T)` mask that lets position :math:`t` see positions :math:`s \\le t` only."""
    return np.tril(np.ones((steps, steps), dtype=bool))


def dot_product_attention(query, key, value, mask: np.ndarray | None = None) -> tuple[Tensor, Tensor]:
    """Scaled dot-product attention (Vaswani et al. 2017; chapter 14).

    .. math::
        \\alpha = \\operatorname{softmax}\\Big(\\frac{Q K^\\top}{\\sqrt{d}}\\Big), \\qquad
        \\text{output} = \\alpha V,

    the softmax taken over the keys, so that each row of :math:`\\alpha` is a probability
    distribution over the :math:`S` stored positions. Where ``mask`` is false the score is
    :math:`-\\infty` and the weight exactly 0.

    Args:
        query: :math:`Q`, :math:`(\\ast, L, d)`.
        key: :math:`K`, :math:`(\\ast, S, d)`.
        value: :math:`V`, :math:`(\\ast, S, d_v)`.
        mask: boolean, broadcastable to :math:`(\\ast, L, S)`, true where a query may look at a key
            (PyTorch's convention for a boolean ``attn_mask``). Every query needs at least one key.

    Returns:
        ``(output, weights)``: :math:`(\\ast, L, d_v)` and the attention weights :math:`\\alpha`,
        :math:`(\\ast, L, S)`.
    """
    query, key, value = as_tensor(query), as_tensor(key), as_tensor(value)
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(f"dot_product_attention: query (*, L, d) and key (*, S, d) must share d, and key "
                         f"and value (*, S, d_v) must share S; got {tuple(query.shape)}, "
                         f"{tuple(key.shape)}, {tuple(value.shape)}")
    scores = (query @ key.transpose(*range(key.ndim - 2), key.ndim - 1, key.ndim - 2)) * (
        1.0 / math.sqrt(query.shape[-1]))
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if not np.broadcast_to(mask, scores.shape).any(axis=-1).all():
            raise ValueError("dot_product_attention: the mask leaves a query without any key to look at")
        scores = scores + Tensor(np.where(mask, 0.0, -np.inf).astype(scores.dtype))
    weights = F.softmax(scores, axis=-1)
    return weights @ value, weights


class SelfAttention(Module):
    """One head of self-attention over a sequence (Vaswani et al. 2017; chapter 14).

    Every position :math:`t` forms a query, a key and a value from its input,
    :math:`q_t = W_q x_t + b_q`, :math:`k_t = W_k x_t + b_k`, :math:`v_t = W_v x_t + b_v`, and
    its output is the attention-weighted average of the values, passed through a last linear map:

    .. math::
        y_t = W_o \\sum_{s} \\alpha_{ts} v_s + b_o, \\qquad
        \\alpha_{t\\cdot} = \\operatorname{softmax}_s\\big(q_t^\\top k_s / \\sqrt{d}\\big),

    with :math:`s` running over all positions, or over :math:`s \\le t` when ``causal``. The
    parameters carry the names of ``torch.nn.MultiheadAttention`` with one head: ``in_proj_weight``
    :math:`[W_q; W_k; W_v]`, :math:`(3d, d)`, ``in_proj_bias`` :math:`(3d,)` and the ``Linear``
    ``out_proj``.

    Args:
        embed_dim: :math:`d`, features of each input and output.
        causal: let position :math:`t` attend only to positions :math:`s \\le t` (a language model).
        rng: generator for the initial weights.
        dtype: ``np.float64`` (default) or ``np.float32``.

    Shape:
        ``forward(x)``: ``x`` :math:`(T, B, d)`, time-major like :class:`~minigrad.nn.RNN`.
        Returns ``(y, weights)``: :math:`(T, B, d)` and the attention weights :math:`(B, T, T)`.
    """

    def __init__(self, embed_dim: int, causal: bool = False, rng: np.random.Generator | None = None,
                 dtype=np.float64) -> None:
        super().__init__()
        rng = np.random.default_rng() if rng is None else rng
        self.embed_dim, self.causal = embed_dim, causal
        projection = Linear(embed_dim, 3 * embed_dim, rng=rng, dtype=dtype)
        self.in_proj_weight, self.in_proj_bias = projection.weight, projection.bias
        self.out_proj = Linear(embed_dim, embed_dim, rng=rng, dtype=dtype)

    def forward(self, x) -> tuple[Tensor, Tensor]:
        """Return the outputs :math:`(T, B, d)` and the weights :math:`(B, T, T)`."""
        x = as_tensor(x)
        if x.ndim != 3 or x.shape[-1] != self.embed_dim:
            raise ValueError(f"SelfAttention: expected x of shape (T, B, embed_dim={self.embed_dim}), "
                             f"got {tuple(x.shape)}")
        batch_first = x.transpose(1, 0, 2)
        q, k, v = (batch_first @ self.in_proj_weight.T + self.in_proj_bias).chunk(3, axis=-1)
        mask = causal_mask(x.shape[0]) if self.causal else None
        mixed, weights = dot_product_attention(q, k, v, mask)
        return self.out_proj(mixed).transpose(1, 0, 2), weights

    def extra_repr(self) -> str:
        return f"{self.embed_dim}" + (", causal=True" if self.causal else "")


class DecoderAttention(Module):
    """Attention of decoder states over encoder states (Luong et al. 2015, "general" score; chapter 14).

    Decoder state :math:`h^{(t)}` scores every encoder state :math:`s^{(j)}`, the scores become
    weights, and the weighted average of the encoder states, the *context* :math:`c^{(t)}`, is
    combined with :math:`h^{(t)}`:

    .. math::
        \\alpha^{(t)}_j = \\operatorname{softmax}_j\\Big(\\frac{(W_a h^{(t)})^\\top s^{(j)}}{\\sqrt{H}}\\Big), \\qquad
        c^{(t)} = \\sum_j \\alpha^{(t)}_j s^{(j)}, \\qquad
        \\tilde h^{(t)} = \\tanh\\big(W_c [c^{(t)}; h^{(t)}] + b_c\\big).

    :math:`W_a` is ``query.weight``; :math:`W_c, b_c` are the ``Linear`` ``combine``. The scale
    :math:`1/\\sqrt{H}` is Vaswani et al.'s; Luong et al. leave it out, which :math:`W_a` can absorb.
    When the encoder states have another size :math:`K` (a bidirectional encoder's are :math:`2H`),
    :math:`W_a` is :math:`K \\times H` and the scale :math:`1/\\sqrt{K}`.

    Args:
        hidden_size: :math:`H`, the size of the decoder states.
        key_size: :math:`K`, the size of the encoder states (default :math:`H`).
        rng: generator for the initial weights.

    Shape:
        ``forward(decoded, states, lengths=None)``: decoder states :math:`(T, B, H)` and encoder
        states :math:`(S, B, K)`, time-major; ``lengths`` (:math:`B` integers) leaves out the
        padding after each source. Returns :math:`\\tilde h` :math:`(T, B, H)` and the weights
        :math:`\\alpha`, :math:`(B, T, S)`.
    """

    def __init__(self, hidden_size: int, key_size: int | None = None, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        rng = np.random.default_rng() if rng is None else rng
        self.hidden_size = hidden_size
        self.key_size = hidden_size if key_size is None else key_size
        self.query = Linear(hidden_size, self.key_size, bias=False, rng=rng)
        self.combine = Linear(self.key_size + hidden_size, hidden_size, rng=rng)

    def forward(self, decoded, states, lengths=None) -> tuple[Tensor, Tensor]:
        """Return :math:`\\tilde h^{(1..T)}` and :math:`\\alpha`."""
        decoded, states = as_tensor(decoded), as_tensor(states)
        keys = states.transpose(1, 0, 2)
        mask = None
        if lengths is not None:
            mask = (np.arange(keys.shape[1]) < np.asarray(lengths)[:, None])[:, None, :]  # (B, 1, S)
        context, weights = dot_product_attention(self.query(decoded).transpose(1, 0, 2), keys, keys, mask=mask)
        return self.combine(cat([context.transpose(1, 0, 2), decoded], axis=-1)).tanh(), weights

    def extra_repr(self) -> str:
        return f"{self.hidden_size}" + (f", key_size={self.key_size}" if self.key_size != self.hidden_size else "")
