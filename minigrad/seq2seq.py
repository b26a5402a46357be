"""An encoder–decoder over token sequences, with or without attention, and the copy task it is measured on (chapter 14).

The encoder reads the source :math:`x^{(1)}, \\dots, x^{(S)}` into states
:math:`s^{(1)}, \\dots, s^{(S)}`; the decoder starts from the last of them, :math:`h^{(0)} = s^{(S)}`,
and predicts the target one token at a time, fed the previous target token (teacher forcing in
training, its own previous prediction when generating), as in Sutskever et al. (2014) and chapter 5.
Without attention the last encoder state is all the decoder ever learns about the source: a
context vector of fixed size, however long the source. With attention
(:class:`~minigrad.nn.attention.DecoderAttention`) every decoder state looks back at all encoder
states. The context enters after the decoder's recurrence (Luong et al. 2015, without input
feeding), so a teacher-forced decoder still runs in one call of :class:`~minigrad.nn.GRU` and the
attention of all its steps is one batched product.
"""

from __future__ import annotations

import numpy as np

import minigrad
from minigrad import functional as F
from minigrad.experiments import generators
from minigrad.nn import GRU, Embedding, Linear, Module
from minigrad.nn.attention import DecoderAttention
from minigrad.tensor import Tensor
from minigrad.training import History, fit

__all__ = ["Seq2Seq", "copy_accuracy", "copy_task", "train_copy"]


class Seq2Seq(Module):
    """A GRU encoder and a GRU decoder, optionally with attention over the encoder states (chapter 14).

    .. math::
        h^{(0)} = s^{(S)}, \\qquad h^{(t)} = \\operatorname{GRU}\\big(h^{(t-1)}, E\\, y^{(t-1)}\\big), \\qquad
        o^{(t)} = V \\tilde h^{(t)} + c,

    with :math:`\\tilde h^{(t)} = h^{(t)}` without attention and the output of
    :class:`~minigrad.nn.attention.DecoderAttention` with it; :math:`y^{(0)}` is the start token.

    Args:
        vocab_size: :math:`V`, tokens of the source and of the target; the decoder's input has one
            more, the start token :attr:`start_token` :math:`= V`.
        embedding_dim: size of the token embeddings :math:`E`.
        hidden_size: :math:`H`, the state of the encoder and of the decoder.
        attention: look back at every encoder state (``True``) or only start from the last (``False``).
        rng: generator for the initial weights.

    Shape:
        ``forward(source, target)``: integer tokens :math:`(S, B)` and :math:`(T, B)`, time-major.
        Returns the teacher-forced logits :math:`(T, B, V)` and the attention weights
        :math:`(B, T, S)` (``None`` without attention).
    """

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_size: int, attention: bool = False,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__()
        rng = np.random.default_rng() if rng is None else rng
        self.vocab_size, self.start_token = vocab_size, vocab_size
        self.source_embedding = Embedding(vocab_size, embedding_dim, rng=rng)
        self.target_embedding = Embedding(vocab_size + 1, embedding_dim, rng=rng)
        self.encoder = GRU(embedding_dim, hidden_size, rng=rng)
        self.decoder = GRU(embedding_dim, hidden_size, rng=rng)
        self.attention = DecoderAttention(hidden_size, rng=rng) if attention else None
        self.output = Linear(hidden_size, vocab_size, rng=rng)

    def decode(self, previous, states: Tensor, h: Tensor) -> tuple[Tensor, Tensor | None, Tensor]:
        """Run the decoder on the previous tokens :math:`(T, B)` from its state ``h`` :math:`(1, B, H)`.

        Returns the logits :math:`(T, B, V)`, the attention weights :math:`(B, T, S)` (or ``None``)
        and the decoder's last state.
        """
        decoded, h = self.decoder(self.target_embedding(previous), h)
        if self.attention is None:
            return self.output(decoded), None, h
        features, weights = self.attention(decoded, states)
        return self.output(features), weights, h

    def forward(self, source, target) -> tuple[Tensor, Tensor | None]:
        """Teacher-forced logits :math:`(T, B, V)`: step :math:`t` is fed target token :math:`t - 1`."""
        target = np.asarray(target)
        previous = np.concatenate([np.full((1, target.shape[1]), self.start_token), target[:-1]])
        states, h = self.encoder(self.source_embedding(source))
        logits, weights, _ = self.decode(previous, states, h)
        return logits, weights

    def loss(self, source, target) -> Tensor:
        """Mean teacher-forced cross-entropy per target token (nats)."""
        logits, _ = self(source, target)
        return F.cross_entropy(logits.reshape(-1, self.vocab_size), np.asarray(target).reshape(-1))

    def generate(self, source, steps: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Greedy decoding of a batch: feed back the most probable token, ``steps`` times.

        Returns the tokens :math:`(T, B)` and the attention weights :math:`(B, T, S)` (or ``None``).
        """
        with minigrad.no_grad():
            states, h = self.encoder(self.source_embedding(source))
            token = np.full((1, states.shape[1]), self.start_token)
            tokens, weights = [], []
            for _ in range(steps):
                logits, alpha, h = self.decode(token, states, h)
                token = logits.data.argmax(axis=-1)
                tokens.append(token[0])
                if alpha is not None:
                    weights.append(alpha.data[:, 0])
        return np.stack(tokens), (np.stack(weights, axis=1) if weights else None)

    def extra_repr(self) -> str:
        return f"vocab_size={self.vocab_size}"


def copy_task(n: int, length: int, rng: np.random.Generator, vocabulary: int = 8) -> np.ndarray:
    """Sequences of uniform random tokens, to be copied in the same order (chapter 14).

    The target equals the source. Its first token was read longest ago, so without attention the
    whole sequence must survive in the encoder's last state (chapter 5 reversed the sequence, which
    puts the most recent token first).

    Returns:
        Integer tokens :math:`(T, B)` in ``range(vocabulary)``.
    """
    if length < 1 or vocabulary < 2:
        raise ValueError(f"copy_task: need length >= 1 and vocabulary >= 2, got {length}, {vocabulary}")
    return rng.integers(0, vocabulary, size=(length, n))


def copy_accuracy(model: Seq2Seq, source: np.ndarray) -> tuple[float, float]:
    """Greedy copies of ``source`` :math:`(T, B)`: the fraction of tokens right, and of whole sequences right."""
    copied, _ = model.generate(source, source.shape[0])
    right = copied == source
    return float(right.mean()), float(right.all(axis=0).mean())


def train_copy(length: int, seed: int, attention: bool, steps: int = 600, lr: float = 0.01,
               every: int | None = None, vocabulary: int = 8, embedding_dim: int = 16, hidden_size: int = 32,
               batch_size: int = 64, test_size: int = 1000) -> tuple[Seq2Seq, History, np.ndarray]:
    """Train a :class:`Seq2Seq` on the copy task with :func:`~minigrad.training.fit` (chapter 14).

    ``generators(seed)`` gives one stream for the initial weights and one for the data, so that the
    models with and without attention trained with the same seed see the same test set and the
    same batches. The test set (``test_size`` fresh sequences) is drawn first, then ``steps`` fresh
    batches; Adam with learning rate ``lr`` and gradients clipped to norm 1.

    Args:
        length: tokens per sequence.
        seed: the seed of the run.
        attention: with or without attention.
        steps: training steps.
        lr: Adam's learning rate.
        every: evaluate the test token error :math:`1 - \\text{accuracy}` every ``every`` steps
            (and at the end); ``None`` for only at the end.
        vocabulary, embedding_dim, hidden_size, batch_size, test_size: the sizes.

    Returns:
        ``(model, history, test)``: the trained model, the :class:`~minigrad.training.History`
        (``history.evaluations`` holds the test token errors) and the test sources :math:`(T, N)`.
    """
    init_rng, data_rng = generators(seed)
    model = Seq2Seq(vocabulary, embedding_dim, hidden_size, attention=attention, rng=init_rng)
    test = copy_task(test_size, length, data_rng, vocabulary)
    batches = (copy_task(batch_size, length, data_rng, vocabulary) for _ in range(steps))
    history = fit(lambda source: model.loss(source, source), model, batches, lr=lr, clip_norm=1.0,
                  evaluate=lambda: 1.0 - copy_accuracy(model, test)[0], every=every)
    return model, history, test
