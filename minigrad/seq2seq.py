"""The copy task, on which chapter 14 measures the encoder–decoder's bottleneck and what attention changes.

A source of random tokens is to be copied, in the same order, by the encoder–decoder of chapter 5
(:class:`minigrad.models.EncoderDecoder`), with or without attention. The first token to write
is the first one read, the longest ago, so without attention the whole source must survive in
the encoder's last state, the context :math:`C`. :func:`train_copy` trains one model with
:func:`~minigrad.training.fit`; :func:`greedy_copies` and :func:`copy_accuracy` score it by greedy
decoding (:func:`~minigrad.nn.decoding.greedy_decode_batch`), the decoder fed its own previous
token, as in use.
"""

from __future__ import annotations

import numpy as np

from minigrad.experiments import generators
from minigrad.models import EncoderDecoder
from minigrad.nn.decoding import greedy_decode_batch
from minigrad.tensor import Tensor
from minigrad.training import History, fit

__all__ = ["copy_accuracy", "copy_loss", "copy_model", "copy_task", "greedy_copies", "train_copy"]


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


def copy_model(attention: bool, rng: np.random.Generator, vocabulary: int = 8, embedding_dim: int = 16,
               hidden_size: int = 32) -> EncoderDecoder:
    """Chapter 5's encoder–decoder for the copy task: GRUs, a one-directional encoder, with or without attention.

    The target side has one more token than the source, ``vocabulary``: the start token (it is
    never a target, so it also serves as the end token that greedy decoding watches for).
    """
    return EncoderDecoder(vocabulary, vocabulary + 1, embedding_dim, hidden_size, cell="gru", bidirectional=False,
                          attention=attention, rng=rng)


def _start_token(model: EncoderDecoder) -> int:
    return model.target_embedding.weight.shape[0] - 1


def _decoder_inputs(model: EncoderDecoder, tokens: np.ndarray) -> np.ndarray:
    """The start token, then ``tokens`` without the last: what the decoder reads before each target."""
    return np.concatenate([np.full((1, tokens.shape[1]), _start_token(model)), tokens[:-1]])


def _lengths(source: np.ndarray) -> np.ndarray:
    return np.full(source.shape[1], source.shape[0])


def copy_loss(model: EncoderDecoder, source: np.ndarray) -> Tensor:
    """Teacher-forced cross-entropy per target token (nats) of copying ``source`` :math:`(T, B)`."""
    return model.loss(source, _lengths(source), _decoder_inputs(model, source), source)


def greedy_copies(model: EncoderDecoder, source: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The model's greedy copies of ``source`` :math:`(T, B)`, and where it looked while writing them.

    Returns:
        The tokens written, :math:`(T, B)` (``-1`` after a sequence that ended early), and the
        attention weights :math:`(B, T, S)` (``None`` without attention).
    """
    start = _start_token(model)
    steps = source.shape[0]
    decoded = greedy_decode_batch(model.step, model.start(source, _lengths(source)), start, start, max_length=steps)
    copies = np.full(source.shape, -1)
    for b, (tokens, _) in enumerate(decoded):
        copies[:len(tokens), b] = tokens
    if model.attention is None:
        return copies, None
    return copies, model.attention_weights(source, _lengths(source), _decoder_inputs(model, np.maximum(copies, 0)))


def copy_accuracy(model: EncoderDecoder, source: np.ndarray) -> tuple[float, float]:
    """Greedy copies of ``source`` :math:`(T, B)`: the fraction of tokens right, and of whole sequences right."""
    copies, _ = greedy_copies(model, source)
    right = copies == source
    return float(right.mean()), float(right.all(axis=0).mean())


def train_copy(length: int, seed: int, attention: bool, steps: int = 600, lr: float = 0.01,
               every: int | None = None, vocabulary: int = 8, embedding_dim: int = 16, hidden_size: int = 32,
               batch_size: int = 64, test_size: int = 1000) -> tuple[EncoderDecoder, History, np.ndarray]:
    """Train :func:`copy_model` on the copy task with :func:`~minigrad.training.fit` (chapter 14).

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
    model = copy_model(attention, init_rng, vocabulary, embedding_dim, hidden_size)
    test = copy_task(test_size, length, data_rng, vocabulary)
    batches = (copy_task(batch_size, length, data_rng, vocabulary) for _ in range(steps))
    history = fit(lambda source: copy_loss(model, source), model, batches, lr=lr, clip_norm=1.0,
                  evaluate=lambda: 1.0 - copy_accuracy(model, test)[0], every=every)
    return model, history, test
