"""Generating sequences from an autoregressive model: sampling, greedy decoding, beam search (chapter 6).

A language model gives :math:`p(y_t \\mid y_{<t})`; a sequence's log-probability is
:math:`\\log p(y) = \\sum_t \\log p(y_t \\mid y_{<t})`. The model is passed as a *step function*

``step(tokens, state) -> (logits, new_state)``

which takes the last tokens of a batch of sequences (an integer array :math:`(B,)`) and the
recurrent state (``None`` at the start: the model then uses its initial state) and returns the
next-token logits :math:`(B, V)` (a tensor or an array) and the new state. The state is a
tensor, an array, or a tuple or list of them (``(h, c)`` for an LSTM), batch along axis 0, so
that beam search can reorder it. Every function works under :class:`minigrad.no_grad`.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from minigrad import functional as F
from minigrad.autograd import no_grad
from minigrad.tensor import Tensor, as_tensor

__all__ = ["sample", "greedy_decode", "beam_search"]

StepFunction = Callable[[np.ndarray, Any], tuple[Any, Any]]


def _log_probs(logits: Any) -> np.ndarray:
    """:math:`\\log \\text{softmax}` of a batch of logits, as a numpy array."""
    return F.log_softmax(as_tensor(logits), axis=-1).data


def _select(state: Any, rows: np.ndarray) -> Any:
    """The rows ``rows`` (batch axis 0) of every tensor or array in ``state``."""
    if state is None:
        return None
    if isinstance(state, (tuple, list)):
        return type(state)(_select(part, rows) for part in state)
    if isinstance(state, (Tensor, np.ndarray)):
        return state[rows]
    raise TypeError(f"decoding: a state must be a Tensor, an array, or a tuple/list of them, "
                    f"got {type(state).__name__}")


def _check_length(max_length: int) -> None:
    if max_length < 1:
        raise ValueError(f"decoding: max_length must be >= 1, got {max_length}")


def categorical_sample(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One index per row of ``probs`` :math:`(B, V)`, row ``b`` drawn with the probabilities ``probs[b]``.

    Inverts the cumulative distribution with one uniform number per row: the index is the number
    of cumulative probabilities below :math:`u \\sum_k p_k`, :math:`u \\sim \\mathcal{U}[0, 1)`.
    """
    cumulative = probs.cumsum(axis=1)
    draws = rng.random((len(probs), 1)) * cumulative[:, -1:]
    return np.minimum((cumulative < draws).sum(axis=1), probs.shape[1] - 1)


def sample(step: StepFunction, start_token: int, max_length: int, rng: np.random.Generator,
           num_samples: int = 1, temperature: float = 1.0, top_k: int | None = None,
           eos_token: int | None = None, state: Any = None) -> list[tuple[list[int], float]]:
    """Draw sequences token by token, :math:`y_t \\sim p_T(\\cdot \\mid y_{<t})` (chapter 6).

    With temperature :math:`T` the next token is drawn from
    :math:`p_T(v) \\propto \\exp(o_v / T)`: :math:`T < 1` sharpens the distribution towards the
    most likely tokens, :math:`T > 1` flattens it. With ``top_k`` only the :math:`k` most likely
    tokens can be drawn (renormalised). A sequence stops after ``eos_token`` or ``max_length``
    tokens.

    Args:
        step: the model's step function (see the module docstring).
        start_token: fed at the first step (not part of the returned sequences).
        max_length: the most tokens per sequence.
        rng: the random generator.
        num_samples: how many sequences, drawn together as one batch.
        temperature: :math:`T > 0`.
        top_k: keep only the :math:`k` most likely tokens at each step.
        eos_token: the end-of-sequence token (kept in the sequence); ``None`` for none.
        state: the initial state for a batch of ``num_samples`` (``None``: the model's own).

    Returns:
        ``num_samples`` pairs ``(tokens, log_prob)``: ``log_prob`` is :math:`\\log p(y)` under the
        model itself (temperature 1, all tokens), whatever was used to draw :math:`y`.
    """
    _check_length(max_length)
    if temperature <= 0:
        raise ValueError(f"sample: temperature must be > 0, got {temperature}")
    tokens = np.full(num_samples, start_token, dtype=np.int64)
    sequences = [[] for _ in range(num_samples)]
    log_probs = np.zeros(num_samples)
    alive = np.ones(num_samples, dtype=bool)
    with no_grad():
        for _ in range(max_length):
            logits, state = step(tokens, state)
            logits = np.asarray(getattr(logits, "data", logits), dtype=np.float64)
            scaled = logits / temperature
            if top_k is not None and top_k < scaled.shape[1]:
                kth = np.partition(scaled, -top_k, axis=1)[:, -top_k][:, None]
                scaled = np.where(scaled >= kth, scaled, -np.inf)
            tokens = categorical_sample(np.exp(_log_probs(scaled)), rng)
            model_log_probs = _log_probs(logits)[np.arange(num_samples), tokens]
            for b in np.flatnonzero(alive):
                sequences[b].append(int(tokens[b]))
                log_probs[b] += model_log_probs[b]
                if eos_token is not None and tokens[b] == eos_token:
                    alive[b] = False
            if not alive.any():
                break
    return [(seq, float(lp)) for seq, lp in zip(sequences, log_probs)]


def greedy_decode(step: StepFunction, start_token: int, max_length: int,
                  eos_token: int | None = None, state: Any = None) -> tuple[list[int], float]:
    """Take the most likely token at every step, :math:`y_t = \\arg\\max_v p(v \\mid y_{<t})` (chapter 6).

    Cheap, but it can miss the most probable sequence: a likely first token may only lead to
    unlikely continuations (see :func:`beam_search`).

    Args:
        step: the model's step function.
        start_token: fed at the first step.
        max_length: the most tokens.
        eos_token: stop after this token (kept); ``None`` for none.
        state: the initial state for a batch of 1 (``None``: the model's own).

    Returns:
        ``(tokens, log_prob)`` with :math:`\\log p(y)` under the model.
    """
    _check_length(max_length)
    token, tokens, log_prob = start_token, [], 0.0
    with no_grad():
        for _ in range(max_length):
            logits, state = step(np.array([token]), state)
            log_p = _log_probs(logits)[0]
            token = int(np.argmax(log_p))
            tokens.append(token)
            log_prob += float(log_p[token])
            if token == eos_token:
                break
    return tokens, log_prob


def beam_search(step: StepFunction, start_token: int, beam_width: int, max_length: int,
                eos_token: int | None = None, length_penalty: float = 0.0,
                state: Any = None) -> list[tuple[list[int], float]]:
    """Keep the ``beam_width`` best partial sequences at every step (chapter 6).

    At each step every kept sequence is extended by every token, and the ``beam_width``
    extensions with the highest :math:`\\log p(y_{\\le t})` are kept; an extension ending in
    ``eos_token`` is finished and set aside. Finished (and, at ``max_length``, unfinished)
    sequences are ranked by the length-normalised score

    .. math:: s(y) = \\log p(y) / |y|^{\\alpha}

    with :math:`\\alpha` = ``length_penalty`` (0: plain log-probability, which favours short
    sequences; 1: mean log-probability per token). Beam width 1 is greedy decoding.

    Args:
        step: the model's step function.
        start_token: fed at the first step.
        beam_width: how many partial sequences to keep.
        max_length: the most tokens per sequence.
        eos_token: the end-of-sequence token; ``None`` for none.
        length_penalty: :math:`\\alpha \\ge 0`.
        state: the initial state for a batch of 1 (``None``: the model's own).

    Returns:
        Up to ``beam_width`` pairs ``(tokens, log_prob)``, best score first.
    """
    _check_length(max_length)
    if beam_width < 1:
        raise ValueError(f"beam_search: beam_width must be >= 1, got {beam_width}")
    beams: list[list[int]] = [[]]
    beam_log_probs = np.zeros(1)
    tokens = np.array([start_token])
    finished: list[tuple[list[int], float]] = []
    with no_grad():
        for _ in range(max_length):
            logits, state = step(tokens, state)
            candidates = beam_log_probs[:, None] + _log_probs(logits)
            vocab = candidates.shape[1]
            best = np.argsort(-candidates, axis=None, kind="stable")[:beam_width]
            parents, tokens = best // vocab, best % vocab
            keep = []
            for k, (parent, token) in enumerate(zip(parents, tokens)):
                sequence = beams[parent] + [int(token)]
                if token == eos_token:
                    finished.append((sequence, float(candidates[parent, token])))
                else:
                    keep.append(k)
            if not keep:
                beams = []
                break
            keep = np.array(keep)
            beams = [beams[parents[k]] + [int(tokens[k])] for k in keep]
            beam_log_probs = candidates[parents[keep], tokens[keep]]
            tokens = tokens[keep]
            state = _select(state, parents[keep])
    finished.extend((beam, float(lp)) for beam, lp in zip(beams, beam_log_probs))
    finished.sort(key=lambda pair: -pair[1] / len(pair[0]) ** length_penalty)
    return finished[:beam_width]
