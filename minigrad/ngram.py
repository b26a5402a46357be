"""Count-based n-gram language models, the baselines of chapter 6.

An order-:math:`m` Markov model keeps only the last :math:`m` tokens of the history,

.. math:: p(y_t \\mid y_{<t}) \\approx p(y_t \\mid y_{t-m}, \\dots, y_{t-1}),

and estimates each conditional from counts :math:`c(\\cdot)` in the training sequences. The
context before the first token is filled with the end-of-sequence token, which doubles as
"start". Unseen counts need smoothing; write :math:`u` for a context, :math:`u'` for :math:`u`
without its oldest token, :math:`c(u) = \\sum_v c(u, v)` and :math:`N_{1+}(u)` for the number of
different tokens seen after :math:`u`:

* ``"add_k"``: :math:`p(v \\mid u) = \\dfrac{c(u, v) + k}{c(u) + k V}`;
* ``"interpolated"`` (Witten–Bell): :math:`p_m(v \\mid u) = \\lambda_u\\, c(u, v)/c(u) +
  (1 - \\lambda_u)\\, p_{m-1}(v \\mid u')` with :math:`\\lambda_u = c(u) / (c(u) + N_{1+}(u))`;
  the recursion ends in the add-:math:`k` unigram;
* ``"kneser_ney"``: interpolated modified Kneser–Ney (Kneser and Ney 1995; Chen and Goodman 1999),

  .. math::
      p_j(v \\mid u) = \\frac{a(u, v) - D_j(a(u, v))}{\\sum_w a(u, w)}
      + \\gamma(u)\\, p_{j-1}(v \\mid u'), \\qquad
      \\gamma(u) = \\frac{\\sum_w D_j(a(u, w))}{\\sum_w a(u, w)},

  for a context :math:`u` of :math:`j` tokens, ending in the uniform distribution :math:`1/V`
  below :math:`j = 0`. The counts :math:`a` are the raw counts at the highest order; at a lower
  order they are *continuation counts*, :math:`a(u, v) = N_{1+}(\\cdot\\, u\\, v)`, the number of
  different tokens seen just before :math:`u\\,v` (an n-gram that starts at the start of a
  sequence has no token before it and keeps its raw count). The discount depends on the count,
  :math:`D_j(0) = 0`, :math:`D_j(1) = D_1`, :math:`D_j(2) = D_2`, :math:`D_j(c \\ge 3) = D_{3+}`,
  estimated at each order from :math:`n_k`, the number of n-grams whose count :math:`a` is exactly
  :math:`k`:

  .. math::
      Y = \\frac{n_1}{n_1 + 2 n_2}, \\quad D_1 = 1 - 2Y\\frac{n_2}{n_1}, \\quad
      D_2 = 2 - 3Y\\frac{n_3}{n_2}, \\quad D_{3+} = 3 - 4Y\\frac{n_4}{n_3}.

  Where these are undefined (some :math:`n_k = 0`) or not positive, that order uses
  :data:`FALLBACK_DISCOUNTS`, as KenLM's ``--discount_fallback`` does.

A context never seen in training passes the whole probability to the shorter context, under
both interpolated methods. Counting and scoring are vectorised: an n-gram is stored as one
integer, its tokens written as digits in base :math:`V` (oldest first).
"""

from __future__ import annotations

from typing import Iterable, NamedTuple, Sequence

import numpy as np

__all__ = ["NGramModel", "FALLBACK_DISCOUNTS"]

_SMOOTHING = ("add_k", "interpolated", "kneser_ney")
FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)
"""The discounts :math:`(D_1, D_2, D_{3+})` of an order whose counts of counts cannot estimate them."""


class _Interpolated(NamedTuple):
    """One order's terms of :math:`p_j(v \\mid u) = \\text{num}(u, v)/\\text{den}(u) + \\beta(u)\\, p_{j-1}(v \\mid u')`."""

    grams: np.ndarray     # sorted ids of the n-grams (u, v) seen
    numerator: np.ndarray  # num(u, v) for each of them
    contexts: np.ndarray  # sorted ids of the contexts u seen
    denominator: np.ndarray
    backoff: np.ndarray   # beta(u)


def _find(keys: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each query, its index in the sorted ``keys`` and whether it is there."""
    if len(keys) == 0:
        return np.zeros(len(queries), dtype=np.int64), np.zeros(len(queries), dtype=bool)
    index = np.minimum(np.searchsorted(keys, queries), len(keys) - 1)
    return index, keys[index] == queries


def _lookup(keys: np.ndarray, values: np.ndarray, queries: np.ndarray, default: float) -> np.ndarray:
    """``values[i]`` where ``keys[i] == query`` (``keys`` sorted), else ``default``."""
    index, found = _find(keys, queries)
    return np.where(found, values[index] if len(values) else default, default)


def _discount_of(counts: np.ndarray, discounts: tuple[float, float, float]) -> np.ndarray:
    """:math:`D(a)` for every count :math:`a \\ge 1`: :math:`D_1`, :math:`D_2` or :math:`D_{3+}`."""
    return np.asarray(discounts)[np.minimum(counts, 3) - 1]


def kneser_ney_discounts(counts: np.ndarray) -> tuple[float, float, float]:
    """Chen and Goodman's :math:`(D_1, D_2, D_{3+})` from the counts of one order's n-grams.

    With :math:`n_k` the number of counts equal to :math:`k` and
    :math:`Y = n_1 / (n_1 + 2 n_2)`: :math:`D_k = k - (k + 1)\\, Y\\, n_{k+1} / n_k`. Returns
    :data:`FALLBACK_DISCOUNTS` when an :math:`n_k` (:math:`k \\le 4`) is zero or a discount is not
    positive.
    """
    n = np.bincount(np.minimum(counts, 5), minlength=6)[1:5].astype(np.float64)  # n_1..n_4
    if (n == 0).any():
        return FALLBACK_DISCOUNTS
    y = n[0] / (n[0] + 2 * n[1])
    discounts = tuple(float(k - (k + 1) * y * n[k] / n[k - 1]) for k in (1, 2, 3))
    return discounts if min(discounts) > 0 else FALLBACK_DISCOUNTS


class NGramModel:
    """An order-:math:`m` Markov (an :math:`(m{+}1)`-gram) model of token sequences (chapter 6).

    Args:
        order: :math:`m \\ge 0`, the number of previous tokens it conditions on (0: unigram).
        vocab_size: :math:`V`.
        eos: the end-of-sequence token, which also fills the context before the first token.
        smoothing: ``"add_k"``, ``"interpolated"`` (Witten–Bell) or ``"kneser_ney"``
            (interpolated modified Kneser–Ney); see the module docstring.
        k: the pseudo-count of add-:math:`k` smoothing (and of the unigram under Witten–Bell;
            Kneser–Ney does not use it).

    Attributes:
        grams: for each context length :math:`j = 0..m`, the sorted ids of the :math:`(j{+}1)`-grams
            seen in training and their counts (shared by the models :meth:`with_smoothing` makes).
    """

    def __init__(self, order: int, vocab_size: int, eos: int = 0, smoothing: str = "add_k",
                 k: float = 1.0) -> None:
        if order < 0:
            raise ValueError(f"NGramModel: order must be >= 0, got {order}")
        if smoothing not in _SMOOTHING:
            raise ValueError(f"NGramModel: smoothing must be one of {_SMOOTHING}, got {smoothing!r}")
        if k <= 0:
            raise ValueError(f"NGramModel: k must be > 0, got {k}")
        if vocab_size < 1 or not 0 <= eos < vocab_size:
            raise ValueError(f"NGramModel: need vocab_size >= 1 and eos in [0, vocab_size), "
                             f"got {vocab_size} and {eos}")
        if float(vocab_size + 1) ** (order + 1) >= 2.0 ** 63:
            raise ValueError(f"NGramModel: order {order} with {vocab_size} tokens is too long for "
                             "64-bit n-gram ids")
        self.order, self.vocab_size, self.eos = order, vocab_size, eos
        self.smoothing, self.k = smoothing, k
        self._base = vocab_size + 1  # digits of an n-gram id: the tokens and "no token"
        self.grams: list[tuple[np.ndarray, np.ndarray]] = []
        self._tables: list[_Interpolated] | None = None

    # ------------------------------------------------------------------------------ counting
    def _windows(self, sequences: Iterable[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Every token of ``sequences`` with its context: contexts :math:`(N, m)` and tokens :math:`(N,)`.

        The context of a sequence's first token is ``eos`` (the start); positions before that
        hold :math:`V`, "no token", so that a context never reaches across the start.
        """
        m = self.order
        pieces = [np.asarray(sequence, dtype=np.int64).reshape(-1) for sequence in sequences]
        targets = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)
        outside = (targets < 0) | (targets >= self.vocab_size)
        if outside.any():
            raise ValueError(f"NGramModel: token {targets[outside][0]} outside [0, {self.vocab_size})")
        if m == 0 or not pieces:
            return np.zeros((len(targets), m), dtype=np.int64), targets
        start = np.full(m, self.vocab_size, dtype=np.int64)
        start[-1] = self.eos
        padded = np.concatenate([part for piece in pieces for part in (start, piece)])
        lengths = np.array([len(piece) for piece in pieces])
        is_target = np.repeat(np.tile([False, True], len(pieces)),
                              np.column_stack([np.full(len(pieces), m), lengths]).reshape(-1))
        windows = np.lib.stride_tricks.sliding_window_view(padded[:-1], m)  # row i: padded[i:i + m]
        return windows[np.flatnonzero(is_target) - m], targets

    def _ids(self, tokens: np.ndarray) -> np.ndarray:
        """The id of each row of ``tokens`` :math:`(N, j)`: its tokens as digits in base :math:`V + 1`."""
        ids = np.zeros(len(tokens), dtype=np.int64)
        for column in tokens.T:
            ids = ids * self._base + column
        return ids

    def _has_context(self, contexts: np.ndarray, j: int) -> np.ndarray:
        """Whether each row's last ``j`` context tokens all lie inside its sequence."""
        return contexts[:, self.order - j] != self.vocab_size if j else np.ones(len(contexts), bool)

    def fit(self, sequences: Iterable[Sequence[int]]) -> NGramModel:
        """Count every token of every sequence under each of its contexts of length :math:`0..m`.

        Args:
            sequences: token sequences, each ending with ``eos``.
        """
        contexts, targets = self._windows(sequences)
        self.grams = []
        for j in range(self.order + 1):
            rows = self._has_context(contexts, j)
            ids = self._ids(contexts[rows, self.order - j:]) * self._base + targets[rows]
            self.grams.append(np.unique(ids, return_counts=True))
        self._tables = None
        return self

    def with_smoothing(self, smoothing: str, k: float | None = None) -> NGramModel:
        """The same counts under other smoothing: a new model that shares this one's counts."""
        other = NGramModel(self.order, self.vocab_size, self.eos, smoothing, self.k if k is None else k)
        other.grams = self.grams
        return other

    def with_order(self, order: int) -> NGramModel:
        """The model of a lower order from the same counts (a new model that shares them).

        The counts of the n-grams of each length do not depend on the order of the model that
        counted them, so one :meth:`fit` of the highest order serves every lower one.
        """
        self._check_fitted()
        if not 0 <= order <= self.order:
            raise ValueError(f"NGramModel.with_order: order must be in [0, {self.order}], got {order}")
        other = NGramModel(order, self.vocab_size, self.eos, self.smoothing, self.k)
        other.grams = self.grams[:order + 1]
        return other

    def stored_counts(self) -> int:
        """How many nonzero counts the model keeps, over all context lengths :math:`0..m`."""
        return sum(len(grams) for grams, _ in self.grams)

    def _check_fitted(self) -> None:
        if not self.grams:
            raise ValueError("NGramModel: call fit() before asking for probabilities")

    # ----------------------------------------------------------------------- Kneser–Ney counts
    def _kneser_ney_counts(self, j: int) -> np.ndarray:
        """The counts :math:`a` of the :math:`(j{+}1)`-grams: raw at the top order and at the start of
        a sequence, otherwise the number of different tokens seen before them."""
        grams, raw = self.grams[j]
        if j == self.order:
            return raw
        longer = self.grams[j + 1][0] % self._base ** (j + 1)  # drop the oldest token
        suffixes, left_tokens = np.unique(longer, return_counts=True)
        continuation = _lookup(suffixes, left_tokens, grams, 0).astype(np.int64)
        at_start = (grams // self._base ** j == self.eos) if j else np.zeros(len(grams), bool)
        counts = np.where(at_start, raw, continuation)
        assert (counts > 0).all(), "every n-gram after the first token has a token before it"
        return counts

    def discounts(self) -> list[tuple[float, float, float]]:
        """Kneser–Ney's :math:`(D_1, D_2, D_{3+})` for each context length :math:`j = 0..m`."""
        self._check_fitted()
        return [kneser_ney_discounts(self._kneser_ney_counts(j)) for j in range(self.order + 1)]

    # --------------------------------------------------------------------------- probabilities
    def _interpolated(self, grams: np.ndarray, numerator: np.ndarray, counts: np.ndarray,
                      backoff_mass: np.ndarray) -> _Interpolated:
        """Sum ``counts`` and ``backoff_mass`` over each context's n-grams into one order's terms."""
        contexts, starts = np.unique(grams // self._base, return_index=True)
        denominator = np.add.reduceat(counts, starts).astype(np.float64) if len(grams) else np.zeros(0)
        backoff = np.add.reduceat(backoff_mass, starts) / denominator if len(grams) else np.zeros(0)
        return _Interpolated(grams, numerator / denominator[np.searchsorted(contexts, grams // self._base)],
                             contexts, denominator, backoff)

    def _build_tables(self) -> list[_Interpolated]:
        tables = []
        for j in range(self.order + 1):
            grams, raw = self.grams[j]
            if self.smoothing == "kneser_ney":
                counts = self._kneser_ney_counts(j)
                discount = _discount_of(counts, kneser_ney_discounts(counts))
                tables.append(self._interpolated(grams, counts - discount, counts, discount))
            else:  # Witten–Bell: lambda_u c(u, v) / c(u) = c(u, v) / (c(u) + N1+(u))
                distinct = np.ones(len(grams))
                table = self._interpolated(grams, raw.astype(np.float64), raw + distinct, distinct)
                tables.append(table)
        return tables

    def _probabilities(self, contexts: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """:math:`p(v \\mid u)` for each row: contexts :math:`(N, m)`, tokens :math:`(N,)`.

        Each row uses its context up to the start of its sequence: the orders whose context would
        reach before the start are skipped.
        """
        self._check_fitted()
        V, B, m = self.vocab_size, self._base, self.order
        if self.smoothing == "add_k":  # the longest context inside the sequence, on its own
            probs = np.zeros(len(targets))
            for j in range(m + 1):
                grams, counts = self.grams[j]
                context_ids = self._ids(contexts[:, m - j:])
                keys, starts = np.unique(grams // B, return_index=True)
                totals = np.add.reduceat(counts, starts) if len(grams) else np.zeros(0)
                pair = _lookup(grams, counts, context_ids * B + targets, 0)
                add_k = (pair + self.k) / (_lookup(keys, totals, context_ids, 0) + self.k * V)
                probs = np.where(self._has_context(contexts, j), add_k, probs)
            return probs
        if self._tables is None:
            self._tables = self._build_tables()
        if self.smoothing == "kneser_ney":
            probs = np.full(len(targets), 1.0 / V)
            first = 0
        else:  # Witten–Bell ends in the add-k unigram
            grams, counts = self.grams[0]
            probs = (_lookup(grams, counts, targets, 0) + self.k) / (counts.sum() + self.k * V)
            first = 1
        for j in range(first, m + 1):
            table = self._tables[j]
            context_ids = self._ids(contexts[:, m - j:])
            direct = _lookup(table.grams, table.numerator, context_ids * B + targets, 0.0)
            backoff = _lookup(table.contexts, table.backoff, context_ids, 1.0)  # 1: unseen context
            probs = np.where(self._has_context(contexts, j), direct + backoff * probs, probs)
        return probs

    def next_log_probs(self, history: Sequence[int]) -> np.ndarray:
        """:math:`\\log p(\\cdot \\mid y_{<t})` from the last :math:`m` tokens of ``history``, shape :math:`(V,)`."""
        history = np.asarray(history, dtype=np.int64).reshape(-1)
        contexts, _ = self._windows([np.append(history, self.eos)])  # the last row: after history
        contexts = np.broadcast_to(contexts[-1], (self.vocab_size, self.order))
        return np.log(self._probabilities(contexts, np.arange(self.vocab_size)))

    def step(self, tokens, state: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """One step for :mod:`minigrad.nn.decoding`: :math:`\\log p(\\cdot \\mid \\text{history})`, :math:`(B, V)`, after the tokens :math:`(B,)`.

        The state is each row's last :math:`m` tokens, :math:`(B, m)` (``None`` before the first
        token, which should be ``eos``, the start), so that an n-gram model is sampled and decoded
        by the same functions as a recurrent one.
        """
        tokens = np.asarray(tokens, dtype=np.int64).reshape(-1)
        if state is None:
            state = np.full((len(tokens), self.order), self.vocab_size, dtype=np.int64)  # nothing read yet
        state = np.concatenate([state, tokens[:, None]], axis=1)[:, 1:]
        V = self.vocab_size
        probs = self._probabilities(np.repeat(state, V, axis=0), np.tile(np.arange(V), len(tokens)))
        return np.log(probs.reshape(len(tokens), V)), state

    def token_log_probs(self, sequences: Iterable[Sequence[int]]) -> np.ndarray:
        """:math:`\\log p(y_t \\mid y_{t-m..t-1})` in nats for every token of every sequence, in order."""
        contexts, targets = self._windows(sequences)
        return np.log(self._probabilities(contexts, targets))

    def sequence_log_prob(self, sequence: Sequence[int]) -> float:
        """:math:`\\log p(y) = \\sum_t \\log p(y_t \\mid y_{t-m..t-1})` in nats, for a sequence ending with ``eos``."""
        return float(self.token_log_probs([sequence]).sum())

    def cross_entropy(self, sequences: Iterable[Sequence[int]]) -> float:
        """Mean negative log-probability per token (nats), :math:`-\\frac{1}{N}\\sum \\log p(y)`, over ``sequences``."""
        log_probs = self.token_log_probs(sequences)
        if log_probs.size == 0:
            raise ValueError("NGramModel.cross_entropy: no tokens")
        return float(-log_probs.mean())

    def __repr__(self) -> str:
        return f"NGramModel(order={self.order}, vocab_size={self.vocab_size}, smoothing={self.smoothing!r}, k={self.k})"
