"""Whole networks built from :mod:`minigrad.nn`: a language model, a tagger, a pooled classifier (chapters 6 and 7).

Every network reads integer tokens time-major, :math:`(T, B)`, embeds them, runs a recurrent
layer (``"rnn"``, ``"gru"`` or ``"lstm"``, any depth, one or two directions) and maps the states
to scores with a ``Linear`` output layer. Padded batches pass ``lengths``, so that padding
changes nothing (see :class:`minigrad.nn.RNN`).
"""

from __future__ import annotations

import numpy as np

import minigrad
from minigrad import functional as F
from minigrad.nn import GRU, LSTM, RNN, Embedding, Linear, Module
from minigrad.nn.recurrent import length_mask
from minigrad.tensor import Tensor

__all__ = ["CharLanguageModel", "RNNTagger", "PooledClassifier", "TreeClassifier", "pool_states", "POOLINGS"]

_CELLS = {"rnn": RNN, "gru": GRU, "lstm": LSTM}
POOLINGS = ("last", "mean", "max", "ends")
"""The pooling methods of :func:`pool_states`."""


def _recurrent_layer(cell: str, input_size: int, hidden_size: int, num_layers: int, dropout: float,
                     bidirectional: bool, rng: np.random.Generator):
    if cell not in _CELLS:
        raise ValueError(f"cell must be one of {tuple(_CELLS)}, got {cell!r}")
    return _CELLS[cell](input_size, hidden_size, num_layers=num_layers, dropout=dropout,
                        bidirectional=bidirectional, rng=rng)


class CharLanguageModel(Module):
    """An autoregressive recurrent language model (chapter 6).

    The input at step :math:`t` is the embedding of the previous token,
    :math:`x^{(t)} = E[y_{t-1}]`; the recurrent layer summarises the history in :math:`h^{(t)}`
    and the output layer gives :math:`o^{(t)} = c + V h^{(t)}`, the logits of
    :math:`p(y_t \\mid y_{<t}) = \\operatorname{softmax}(o^{(t)})`.

    Args:
        vocab_size: :math:`V`, tokens (including the end-of-sequence token).
        embedding_dim: size of :math:`x^{(t)}`.
        hidden_size: size of :math:`h^{(t)}`.
        cell: ``"rnn"``, ``"gru"`` or ``"lstm"``.
        num_layers: stacked recurrent layers.
        dropout: dropout between stacked layers (training mode only).
        rng: generator for the initial weights and dropout.
    """

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_size: int, cell: str = "rnn",
                 num_layers: int = 1, dropout: float = 0.0, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        rng = np.random.default_rng() if rng is None else rng
        self.embedding = Embedding(vocab_size, embedding_dim, rng=rng)
        self.rnn = _recurrent_layer(cell, embedding_dim, hidden_size, num_layers, dropout, False, rng)
        self.output = Linear(hidden_size, vocab_size, rng=rng)

    def forward(self, inputs, state=None, lengths=None) -> tuple[Tensor, object]:
        """Logits :math:`(T, B, V)` for the inputs :math:`(T, B)`, and the final state."""
        hidden, state = self.rnn(self.embedding(inputs), state, lengths=lengths)
        return self.output(hidden), state

    def loss(self, inputs, targets, lengths=None, ignore_index: int = -1) -> Tensor:
        """Mean cross-entropy per real token, :math:`-\\frac{1}{N}\\sum_t \\log p(y_t \\mid y_{<t})` (nats)."""
        logits, _ = self(inputs, lengths=lengths)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), np.asarray(targets).reshape(-1),
                               ignore_index=ignore_index)

    def step(self, tokens, state=None) -> tuple[Tensor, object]:
        """One step for :mod:`minigrad.nn.decoding`: logits :math:`(B, V)` after the tokens :math:`(B,)`.

        The state is returned batch-first, :math:`(B, L, H)` (a pair of them for an LSTM), as the
        decoders expect when they reorder a beam; the recurrent layer's own is :math:`(L, B, H)`.
        """
        logits, state = self(np.asarray(tokens)[None, :], _swap_batch_axis(state))
        return logits[0], _swap_batch_axis(state)


def _swap_batch_axis(state):
    """Swap the first two axes of a state tensor, or of each tensor of a tuple (``None`` stays)."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(part.transpose(1, 0, 2) for part in state)
    return state.transpose(1, 0, 2)


class RNNTagger(Module):
    """A sequence tagger: one tag per token, :math:`\\hat{y}^{(t)} = \\operatorname{softmax}(c + V h^{(t)})` (chapter 7).

    With ``bidirectional=True`` the state at step :math:`t` is
    :math:`[\\overrightarrow{h}^{(t)}; \\overleftarrow{h}^{(t)}]`, which has read the whole sentence.

    Args:
        vocab_size: words.
        num_tags: tags.
        embedding_dim: size of the word embeddings.
        hidden_size: size of each direction's state.
        bidirectional: add a right-to-left direction.
        num_layers: stacked recurrent layers.
        dropout: dropout between stacked layers (training mode only).
        cell: ``"rnn"``, ``"gru"`` or ``"lstm"``.
        rng: generator for the initial weights and dropout.
    """

    def __init__(self, vocab_size: int, num_tags: int, embedding_dim: int, hidden_size: int,
                 bidirectional: bool = False, num_layers: int = 1, dropout: float = 0.0,
                 cell: str = "rnn", rng: np.random.Generator | None = None) -> None:
        super().__init__()
        rng = np.random.default_rng() if rng is None else rng
        self.embedding = Embedding(vocab_size, embedding_dim, rng=rng)
        self.rnn = _recurrent_layer(cell, embedding_dim, hidden_size, num_layers, dropout,
                                    bidirectional, rng)
        self.output = Linear(hidden_size * (2 if bidirectional else 1), num_tags, rng=rng)

    def forward(self, words, lengths=None) -> Tensor:
        """Tag logits :math:`(T, B, C)` for the words :math:`(T, B)`."""
        hidden, _ = self.rnn(self.embedding(words), lengths=lengths)
        return self.output(hidden)


def pool_states(outputs: Tensor, lengths, method: str) -> Tensor:
    """Summarise the states of a padded batch in one vector per sequence (chapter 7).

    With :math:`n` the length of a sequence and :math:`h^{(1)}, \\dots, h^{(n)}` its states:

    * ``"last"``: :math:`h^{(n)}`;
    * ``"mean"``: :math:`\\frac{1}{n}\\sum_{t=1}^{n} h^{(t)}`;
    * ``"max"``: :math:`\\max_{t \\le n} h^{(t)}`, element-wise;
    * ``"ends"`` (bidirectional outputs :math:`[\\overrightarrow{h}; \\overleftarrow{h}]`):
      :math:`[\\overrightarrow{h}^{(n)}; \\overleftarrow{h}^{(1)}]`, the state of each direction
      after it has read the whole sequence.

    Steps at or beyond a sequence's length never count, whatever they hold.

    Args:
        outputs: states :math:`(T, B, H)` (:math:`H` even for ``"ends"``).
        lengths: :math:`B` integers in :math:`[1, T]`.
        method: one of :data:`POOLINGS`.

    Returns:
        :math:`(B, H)`.
    """
    steps, batch, size = outputs.shape
    lengths, mask = length_mask(lengths, steps, batch, "pool_states", shortest=1)
    rows = np.arange(batch)
    if method == "last":
        return outputs[lengths - 1, rows]
    if method == "mean":
        total = (outputs * Tensor(mask.astype(outputs.dtype))).sum(axis=0)
        return total / Tensor(lengths[:, None].astype(outputs.dtype))
    if method == "max":
        return (outputs + Tensor(np.where(mask, 0.0, -np.inf).astype(outputs.dtype))).max(axis=0)
    if method == "ends":
        if size % 2:
            raise ValueError(f"pool_states: 'ends' needs bidirectional outputs (even size), got {size}")
        half = size // 2
        return minigrad.cat([outputs[lengths - 1, rows, :half], outputs[0, :, half:]], axis=-1)
    raise ValueError(f"pool_states: method must be one of {POOLINGS}, got {method!r}")


class PooledClassifier(Module):
    """A sequence classifier: pool the recurrent states, then :math:`\\hat{y} = \\operatorname{softmax}(c + V s)` (chapter 7).

    Args:
        vocab_size: tokens.
        num_classes: classes.
        embedding_dim: size of the token embeddings.
        hidden_size: size of each direction's state.
        pooling: one of :data:`POOLINGS` (see :func:`pool_states`); ``"ends"`` makes the recurrent
            layer bidirectional.
        cell: ``"rnn"``, ``"gru"`` or ``"lstm"``.
        rng: generator for the initial weights.
    """

    def __init__(self, vocab_size: int, num_classes: int, embedding_dim: int, hidden_size: int,
                 pooling: str = "last", cell: str = "rnn", rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"PooledClassifier: pooling must be one of {POOLINGS}, got {pooling!r}")
        rng = np.random.default_rng() if rng is None else rng
        self.pooling = pooling
        bidirectional = pooling == "ends"
        self.embedding = Embedding(vocab_size, embedding_dim, rng=rng)
        self.rnn = _recurrent_layer(cell, embedding_dim, hidden_size, 1, 0.0, bidirectional, rng)
        self.output = Linear(hidden_size * (2 if bidirectional else 1), num_classes, rng=rng)

    def forward(self, tokens, lengths) -> Tensor:
        """Class logits :math:`(B, C)` for the tokens :math:`(T, B)`."""
        hidden, _ = self.rnn(self.embedding(tokens), lengths=lengths)
        return self.output(pool_states(hidden, lengths, self.pooling))


class TreeClassifier(Module):
    """A tree network with a softmax output at every node, :math:`\\hat{y}_j = \\operatorname{softmax}(c + V h_j)` (chapter 11).

    Every node :math:`j`, leaves included, gets class scores from its vector :math:`h_j`, so a
    tree whose sub-trees are all labelled (a parse with a value at every phrase) gives a loss
    term at every node; the scores of the roots classify whole trees.

    Args:
        encoder: a :class:`~minigrad.nn.TreeRNN` or :class:`~minigrad.nn.TreeLSTM`.
        num_classes: classes.
        rng: generator for the output layer's initial weights.
    """

    def __init__(self, encoder: Module, num_classes: int, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        self.encoder = encoder
        self.output = Linear(encoder.hidden_size, num_classes, rng=np.random.default_rng() if rng is None else rng)

    def forward(self, trees) -> tuple[Tensor, Tensor]:
        """Scores of the roots :math:`(N_\\text{trees}, C)` and of every node :math:`(N_\\text{nodes}, C)`, in post-order."""
        roots, states = self.encoder(trees)
        return self.output(roots), self.output(states)
