"""Generating sequences from an autoregressive model: sampling, greedy decoding, beam search (chapters 5 and 6).

A language model gives :math:`p(y_t \\mid y_{<t})`; a sequence's log-probability is
:math:`\\log p(y) = \\sum_t \\log p(y_t \\mid y_{<t})`. The model is passed as a *step function*

``step(tokens, state) -> (logits, new_state)``

which takes the last tokens of a batch of sequences (an integer array :math:`(B,)`) and the
recurrent state (``None`` at the start: the model then uses its initial state) and returns the
next-token logits :math:`(B, V)` (a tensor or an array) and the new state. The state is a
tensor, an array, or a tuple or list of them (``(h, c)`` for an LSTM), batch along axis 0, so
that beam search can reorder it. Every function works under :class:`minigrad.no_grad`.

:func:`greedy_decode_batch` and :func:`beam_search_batch` decode a whole batch of *conditioned*
sequences at once (chapter 5): each row of the batch starts from its own state, such as the
context an encoder computed from that row's source sequence.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from minigrad import functional as F
from minigrad.autograd import no_grad
from minigrad.tensor import Tensor, as_tensor

__all__ = ["sample", "sampling_distribution", "prime", "greedy_decode", "beam_search", "greedy_decode_batch",
           "beam_search_batch"]

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


def sampling_distribution(logits: Any, temperature: float = 1.0, top_k: int | None = None,
                          top_p: float | None = None) -> np.ndarray:
    """The distribution a sampler draws the next token from, one row per row of ``logits`` (chapter 6).

    Three ways of moving probability towards the likely tokens, applied in this order:

    * temperature :math:`T`: :math:`p_T(v) \\propto \\exp(o_v / T)`; :math:`T < 1` sharpens the
      distribution, :math:`T > 1` flattens it;
    * top-:math:`k` (Fan et al. 2018): keep only the :math:`k` most likely tokens
      (tokens tied with the :math:`k`-th are kept too);
    * nucleus (top-:math:`p`; Holtzman et al. 2020): keep the smallest set of most likely
      tokens whose probabilities add up to at least :math:`p`, so that the number kept adapts to
      how sure the model is;

    and renormalise what is kept.

    Args:
        logits: :math:`(B, V)`, a tensor or an array.
        temperature: :math:`T > 0`.
        top_k: :math:`k \\ge 1`, or ``None`` to keep every token.
        top_p: :math:`p \\in (0, 1]`, or ``None`` to keep every token.

    Returns:
        Probabilities :math:`(B, V)`, each row summing to 1, zero outside the kept tokens.
    """
    if temperature <= 0:
        raise ValueError(f"sample: temperature must be > 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"sample: top_k must be >= 1, got {top_k}")
    if top_p is not None and not 0 < top_p <= 1:
        raise ValueError(f"sample: top_p must be in (0, 1], got {top_p}")
    scaled = np.asarray(getattr(logits, "data", logits), dtype=np.float64) / temperature
    if top_k is not None and top_k < scaled.shape[1]:
        kth = np.partition(scaled, -top_k, axis=1)[:, -top_k][:, None]
        scaled = np.where(scaled >= kth, scaled, -np.inf)
    probs = np.exp(_log_probs(scaled))
    if top_p is not None and top_p < 1:
        order = np.argsort(-probs, axis=1, kind="stable")
        ranked = np.take_along_axis(probs, order, axis=1)
        kept_ranked = ranked.cumsum(axis=1) - ranked < top_p  # the mass before a token is below p
        kept = np.zeros_like(kept_ranked)
        np.put_along_axis(kept, order, kept_ranked, axis=1)
        probs = np.where(kept, probs, 0.0)
        probs /= probs.sum(axis=1, keepdims=True)
    return probs


def prime(step: StepFunction, tokens, copies: int = 1, state: Any = None) -> tuple[Any, int]:
    """Run the model over a prefix, so that decoding continues it (chapter 6).

    Feeds every token of ``tokens`` but the last to ``step``, as ``copies`` identical rows, and
    returns the state and the last token: pass them as ``state`` and ``start_token`` to
    :func:`sample` (with ``num_samples=copies``), :func:`greedy_decode` or :func:`beam_search`
    (with ``copies=1``), which feed that token first.

    Args:
        step: the model's step function (see the module docstring).
        tokens: the prefix, at least one token (for a language model, usually the start token
            followed by the text to continue).
        copies: the batch size of the returned state.
        state: the state before the prefix (``None``: the model's own).

    Returns:
        ``(state, last_token)``.
    """
    tokens = [int(token) for token in tokens]
    if not tokens or copies < 1:
        raise ValueError(f"prime: need at least one token and copies >= 1, got {len(tokens)} tokens "
                         f"and copies={copies}")
    with no_grad():
        for token in tokens[:-1]:
            _, state = step(np.full(copies, token, dtype=np.int64), state)
    return state, tokens[-1]


def sample(step: StepFunction, start_token: int, max_length: int, rng: np.random.Generator,
           num_samples: int = 1, temperature: float = 1.0, top_k: int | None = None,
           eos_token: int | None = None, state: Any = None,
           top_p: float | None = None) -> list[tuple[list[int], float]]:
    """Draw sequences token by token, :math:`y_t \\sim \\tilde p(\\cdot \\mid y_{<t})` (chapter 6).

    Each next token is drawn from :func:`sampling_distribution` of the model's logits: with
    temperature :math:`T`, :math:`\\tilde p(v) \\propto \\exp(o_v / T)`, optionally cut to the
    ``top_k`` most likely tokens and to the nucleus of probability ``top_p``. A sequence stops
    after ``eos_token`` or ``max_length`` tokens.

    Args:
        step: the model's step function (see the module docstring).
        start_token: fed at the first step (not part of the returned sequences).
        max_length: the most tokens per sequence.
        rng: the random generator.
        num_samples: how many sequences, drawn together as one batch.
        temperature: :math:`T > 0`.
        top_k: keep only the :math:`k` most likely tokens at each step.
        eos_token: the end-of-sequence token (kept in the sequence); ``None`` for none.
        state: the initial state for a batch of ``num_samples`` (``None``: the model's own; see
            :func:`prime` to continue a prefix).
        top_p: keep only the nucleus of probability :math:`p` at each step.

    Returns:
        ``num_samples`` pairs ``(tokens, log_prob)``: ``log_prob`` is :math:`\\log p(y)` under the
        model itself (temperature 1, all tokens), whatever was used to draw :math:`y`.
    """
    _check_length(max_length)
    sampling_distribution(np.zeros((1, 1)), temperature, top_k, top_p)  # check the arguments now
    tokens = np.full(num_samples, start_token, dtype=np.int64)
    sequences = [[] for _ in range(num_samples)]
    log_probs = np.zeros(num_samples)
    alive = np.ones(num_samples, dtype=bool)
    with no_grad():
        for _ in range(max_length):
            logits, state = step(tokens, state)
            logits = np.asarray(getattr(logits, "data", logits), dtype=np.float64)
            tokens = categorical_sample(sampling_distribution(logits, temperature, top_k, top_p), rng)
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


# ------------------------------------------------------------- a batch of conditioned decoders
def _batch_size(state: Any) -> int:
    """The batch size of a state: the length of axis 0 of its first tensor or array."""
    while isinstance(state, (tuple, list)):
        if not state:
            break
        state = state[0]
    if not isinstance(state, (Tensor, np.ndarray)):
        raise TypeError("decoding: a batch decoder needs a state (a Tensor, an array, or a tuple/list "
                        f"of them) with the batch along axis 0, got {type(state).__name__}")
    return int(state.shape[0])


def greedy_decode_batch(step: StepFunction, state: Any, start_token: int, eos_token: int,
                        max_length: int) -> list[tuple[list[int], float]]:
    """Greedy decoding of a batch of conditioned sequences at once (chapter 5).

    Each sequence :math:`b` of the batch has its own initial state (for an encoder–decoder, the
    state computed from its source sequence), and takes
    :math:`y_t = \\arg\\max_v p(v \\mid y_{<t}, x_b)` until it emits ``eos_token`` or reaches
    ``max_length`` tokens. One call of ``step`` per time step serves the whole batch; rows that
    have finished keep being fed ``eos_token`` and are ignored.

    Args:
        step: the model's step function (see the module docstring).
        state: the initial state of every sequence, batch along axis 0.
        start_token: fed at the first step.
        eos_token: the end-of-sequence token (kept at the end of a sequence that emits it).
        max_length: the most tokens per sequence.

    Returns:
        One pair ``(tokens, log_prob)`` per sequence of the batch, in order.
    """
    _check_length(max_length)
    batch = _batch_size(state)
    tokens = np.full(batch, start_token, dtype=np.int64)
    sequences = np.zeros((batch, 0), dtype=np.int64)
    log_probs = np.zeros(batch)
    lengths = np.full(batch, max_length)
    alive = np.ones(batch, dtype=bool)
    with no_grad():
        for t in range(max_length):
            logits, state = step(tokens, state)
            log_p = _log_probs(logits)
            tokens = np.where(alive, log_p.argmax(axis=1), eos_token)
            log_probs += np.where(alive, log_p[np.arange(batch), tokens], 0.0)
            sequences = np.concatenate([sequences, tokens[:, None]], axis=1)
            ended = alive & (tokens == eos_token)
            lengths[ended] = t + 1
            alive &= ~ended
            if not alive.any():
                break
    return [(sequences[b, :lengths[b]].tolist(), float(log_probs[b])) for b in range(batch)]


def beam_search_batch(step: StepFunction, state: Any, start_token: int, eos_token: int, beam_width: int,
                      max_length: int, length_penalty: float = 0.0) -> list[list[tuple[list[int], float]]]:
    """Beam search for a batch of conditioned sequences at once (chapter 5).

    Every sequence :math:`b` of the batch keeps ``beam_width`` = :math:`K` live hypotheses, all
    run through ``step`` together as :math:`B K` rows. At each step every live hypothesis is
    extended by every token, and the :math:`2K` extensions with the highest
    :math:`\\log p(y_{\\le t} \\mid x_b)` are examined in order: an extension that ends in
    ``eos_token`` and ranks among the first :math:`K` is *finished* and set aside; the best
    :math:`K` others stay live. So a finished hypothesis never takes a live slot, and the beam
    keeps :math:`K` live hypotheses to the end. Hypotheses are ranked by

    .. math:: s(y) = \\log p(y \\mid x) / |y|^{\\alpha}

    with :math:`\\alpha` = ``length_penalty`` (:math:`|y|` counts the end token). Sequence
    :math:`b` stops when it has :math:`K` finished hypotheses and its best live one, scored at its
    present length, cannot beat the :math:`K`-th of them (for :math:`\\alpha = 0` this is exact,
    since a log-probability only falls as tokens are added), or at ``max_length``, where its live
    hypotheses join the finished ones. Beam width 1 is :func:`greedy_decode_batch`.

    Args:
        step: the model's step function (see the module docstring).
        state: the initial state of every sequence, batch along axis 0.
        start_token: fed at the first step.
        eos_token: the end-of-sequence token.
        beam_width: :math:`K \\ge 1`.
        max_length: the most tokens per hypothesis.
        length_penalty: :math:`\\alpha \\ge 0`.

    Returns:
        For each sequence of the batch, up to :math:`K` pairs ``(tokens, log_prob)``, best score
        first.
    """
    _check_length(max_length)
    if beam_width < 1:
        raise ValueError(f"beam_search_batch: beam_width must be >= 1, got {beam_width}")
    if length_penalty < 0:
        raise ValueError(f"beam_search_batch: length_penalty must be >= 0, got {length_penalty}")
    batch, width = _batch_size(state), beam_width

    def score(log_prob: float, length: int) -> float:
        return log_prob / length ** length_penalty

    state = _select(state, np.repeat(np.arange(batch), width))
    log_probs = np.full((batch, width), -np.inf)
    log_probs[:, 0] = 0.0  # one live hypothesis (the empty one) to start from
    histories = [[[] for _ in range(width)] for _ in range(batch)]
    finished: list[list[tuple[list[int], float]]] = [[] for _ in range(batch)]
    done = np.zeros(batch, dtype=bool)
    tokens = np.full(batch * width, start_token, dtype=np.int64)
    with no_grad():
        for length in range(1, max_length + 1):
            logits, state = step(tokens, state)
            candidates = log_probs[:, :, None] + _log_probs(logits).reshape(batch, width, -1)
            vocab = candidates.shape[2]
            candidates = candidates.reshape(batch, width * vocab)
            ranked = np.argsort(-candidates, axis=1, kind="stable")[:, :2 * width]
            parents = np.tile(np.arange(width), (batch, 1))
            next_tokens = np.full((batch, width), eos_token, dtype=np.int64)
            next_log_probs = np.full((batch, width), -np.inf)
            for b in np.flatnonzero(~done):
                live = []
                for rank, flat in enumerate(ranked[b]):
                    log_prob = candidates[b, flat]
                    if log_prob == -np.inf or len(live) == width:
                        break
                    parent, token = divmod(int(flat), vocab)
                    if token == eos_token:
                        if rank < width:
                            finished[b].append((histories[b][parent] + [token], float(log_prob)))
                        continue
                    parents[b, len(live)], next_tokens[b, len(live)] = parent, token
                    next_log_probs[b, len(live)] = log_prob
                    live.append(histories[b][parent] + [token])
                histories[b] = live + [[] for _ in range(width - len(live))]
                if len(finished[b]) >= width:
                    kth = sorted((score(lp, len(seq)) for seq, lp in finished[b]), reverse=True)[width - 1]
                    done[b] = not live or score(next_log_probs[b, 0], length) <= kth
                elif not live:
                    done[b] = True
            log_probs = np.where(done[:, None], -np.inf, next_log_probs)
            tokens = next_tokens.reshape(-1)
            state = _select(state, (np.arange(batch)[:, None] * width + parents).reshape(-1))
            if done.all():
                break
    results = []
    for b in range(batch):
        hypotheses = finished[b] + [(seq, float(lp)) for seq, lp in zip(histories[b], log_probs[b])
                                    if not done[b] and lp > -np.inf]
        hypotheses.sort(key=lambda pair: -score(pair[1], len(pair[0])))
        results.append(hypotheses[:width])
    return results
