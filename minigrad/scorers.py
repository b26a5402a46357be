"""Networks that give every position of a sentence a score: the models of chapter 1's experiment.

Chapter 1 finds a word (a year) in a sentence by scoring every position :math:`t` and picking the
highest score :math:`s_t`. The three models differ only in how the score at :math:`t` may depend
on the tokens :math:`x^{(1)}, \\dots, x^{(T)}` (one-hot vectors over a vocabulary of size
:math:`|\\mathcal{V}|`) and in which weights they share:

- :class:`WindowMLP` reads the whole padded sentence at once, with its own block of first-layer
  weights for each position (no sharing);
- :class:`ConvScorer` applies one small network to the ``width`` tokens around each position
  (sharing across positions, a fixed neighbourhood; ``width=1`` scores each token on its own);
- :class:`RecurrentScorer` runs an Elman network along the sentence (sharing across positions,
  and a state that carries the past).

Every model maps token ids :math:`(T, B)` (time-major, as everywhere in ``minigrad``) to scores
:math:`(B, T)`, ready for :func:`minigrad.functional.cross_entropy` against the true positions.
"""

from __future__ import annotations

import numpy as np

from minigrad import functional as F
from minigrad.nn.layers import Linear
from minigrad.nn.module import Module
from minigrad.nn.patterns import ElmanRNN
from minigrad.tensor import Tensor

__all__ = ["ConvScorer", "RecurrentScorer", "WindowMLP"]


def _check_tokens(tokens) -> np.ndarray:
    tokens = np.asarray(tokens)
    if tokens.ndim != 2:
        raise ValueError(f"expected token ids of shape (T, B), got shape {tokens.shape}")
    return tokens


def _first_layer(layer: Linear, columns: np.ndarray) -> Tensor:
    """The first layer :math:`b + \\sum_j W e_{i_j}` on one-hot inputs :math:`e_{i_j}`, without a product.

    A product of a weight matrix with a one-hot vector picks one column, so a layer that reads
    :math:`k` one-hot vectors side by side needs no matrix product: it adds :math:`k` columns.
    ``columns`` holds the indices :math:`i_j`, shape :math:`(\\dots, k)`; the columns are summed
    over the last axis and the result has shape :math:`(\\dots, H)`.
    """
    return F.embedding(columns, layer.weight.T).sum(axis=-2) + layer.bias


class WindowMLP(Module):
    """A fixed-window MLP that scores every position of a padded sentence (chapter 1).

    The :math:`T` one-hot vectors are concatenated into one input, so the first layer has one
    block of columns :math:`W_{1,t}` per position:

    .. math::
        s = c + V \\tanh\\Big(b_1 + \\sum_{t=1}^{T} W_{1,t}\\, x^{(t)}\\Big) \\in \\mathbb{R}^{T}.

    Args:
        vocab_size: :math:`|\\mathcal{V}|`.
        length: the window length :math:`T`; every sentence must have exactly this many tokens.
        hidden_size: hidden units.
        rng: generator for the initial weights.

    Shape:
        ``forward(tokens)``: ``tokens`` :math:`(T, B)` integers; returns scores :math:`(B, T)`.
    """

    def __init__(self, vocab_size: int, length: int, hidden_size: int,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__()
        self.vocab_size, self.length = vocab_size, length
        self.hidden = Linear(length * vocab_size, hidden_size, rng=rng)
        self.scores = Linear(hidden_size, length, rng=rng)

    def forward(self, tokens) -> Tensor:
        """Return the scores :math:`(B, T)` of every position."""
        tokens = _check_tokens(tokens)
        if tokens.shape[0] != self.length:
            raise ValueError(f"WindowMLP: reads exactly T = {self.length} tokens, got {tokens.shape[0]}")
        # the one-hot vectors side by side: position t's token i is input t |V| + i
        columns = tokens.T + self.vocab_size * np.arange(self.length)  # (B, T)
        return self.scores(_first_layer(self.hidden, columns).tanh())

    def extra_repr(self) -> str:
        return f"vocab_size={self.vocab_size}, length={self.length}"


class ConvScorer(Module):
    """One small network slid along the sentence: a convolution of width :math:`k` (chapter 1).

    With :math:`k = 2r + 1`, the score of position :math:`t` reads the tokens :math:`t - r` to
    :math:`t + r` (the padding token ``pad`` beyond the ends) with the same kernel
    :math:`K_{-r}, \\dots, K_r` at every position:

    .. math::
        s_t = c + v^\\top \\tanh\\Big(b + \\sum_{j=-r}^{r} K_j\\, x^{(t+j)}\\Big).

    ``width=1`` scores every token on its own, whatever surrounds it.

    Args:
        vocab_size: :math:`|\\mathcal{V}|`.
        width: the kernel width :math:`k`, odd.
        hidden_size: hidden units of the small network.
        rng: generator for the initial weights.
        pad: the token id read beyond the ends of the sentence.

    Shape:
        ``forward(tokens)``: ``tokens`` :math:`(T, B)` integers, any :math:`T`; returns scores
        :math:`(B, T)`.
    """

    def __init__(self, vocab_size: int, width: int, hidden_size: int,
                 rng: np.random.Generator | None = None, pad: int = 0) -> None:
        super().__init__()
        if width < 1 or width % 2 == 0:
            raise ValueError(f"ConvScorer: width must be a positive odd number, got {width}")
        self.vocab_size, self.width, self.pad = vocab_size, width, pad
        self.hidden = Linear(width * vocab_size, hidden_size, rng=rng)
        self.scores = Linear(hidden_size, 1, rng=rng)

    def forward(self, tokens) -> Tensor:
        """Return the scores :math:`(B, T)` of every position."""
        tokens = _check_tokens(tokens)
        steps, batch = tokens.shape
        reach = self.width // 2
        edge = np.full((reach, batch), self.pad)
        padded = np.concatenate([edge, tokens, edge])
        # slot j of position t reads token t - r + j; it is input j |V| + (that token) of the layer
        columns = np.stack([padded[j:j + steps] + j * self.vocab_size for j in range(self.width)], axis=-1)
        return self.scores(_first_layer(self.hidden, columns).tanh())[..., 0].T

    def extra_repr(self) -> str:
        return f"vocab_size={self.vocab_size}, width={self.width}"


class RecurrentScorer(Module):
    """An Elman network (pattern A, chapter 3) whose output at each step scores that position (chapter 1).

    .. math::
        h^{(t)} = \\tanh\\big(b + W h^{(t-1)} + U x^{(t)}\\big), \\qquad s_t = o^{(t)} = c + v^\\top h^{(t)},

    from :math:`h^{(0)} = 0`, with the same :math:`U, W, b, v, c` at every position.

    Args:
        vocab_size: :math:`|\\mathcal{V}|`.
        hidden_size: :math:`H`.
        rng: generator for the initial weights.

    Shape:
        ``forward(tokens)``: ``tokens`` :math:`(T, B)` integers, any :math:`T`; returns scores
        :math:`(B, T)`. ``states(tokens)`` returns the hidden states :math:`(T, B, H)`.
    """

    def __init__(self, vocab_size: int, hidden_size: int, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.rnn = ElmanRNN(vocab_size, hidden_size, 1, rng=rng)

    def forward(self, tokens) -> Tensor:
        """Return the scores :math:`(B, T)` of every position."""
        o, _ = self.rnn(F.one_hot(_check_tokens(tokens), self.vocab_size))
        return o[..., 0].T

    def states(self, tokens) -> Tensor:
        """The hidden states :math:`h^{(1)}, \\dots, h^{(T)}`, :math:`(T, B, H)`."""
        return self.rnn(F.one_hot(_check_tokens(tokens), self.vocab_size))[1]

    def extra_repr(self) -> str:
        return f"vocab_size={self.vocab_size}"
