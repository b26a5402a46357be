"""Count-based n-gram language models, the baseline of chapter 6.

An order-:math:`m` Markov model keeps only the last :math:`m` tokens of the history,

.. math:: p(y_t \\mid y_{<t}) \\approx p(y_t \\mid y_{t-m}, \\dots, y_{t-1}),

and estimates each conditional from counts :math:`c(\\cdot)` in the training sequences. The
context before the first token is filled with the end-of-sequence token, which doubles as
"start". Unseen counts need smoothing:

* ``"add_k"``: :math:`p(v \\mid u) = \\dfrac{c(u, v) + k}{c(u) + k V}`;
* ``"interpolated"`` (Witten–Bell): :math:`p_m(v \\mid u) = \\lambda_u\\, c(u, v)/c(u) +
  (1 - \\lambda_u)\\, p_{m-1}(v \\mid u')`, with :math:`u'` the context :math:`u` without its oldest
  token, :math:`\\lambda_u = c(u) / (c(u) + N_{1+}(u))` and :math:`N_{1+}(u)` the number of
  different tokens seen after :math:`u`; the recursion ends in the add-:math:`k` unigram.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Iterable, Sequence

import numpy as np

__all__ = ["NGramModel"]

_SMOOTHING = ("add_k", "interpolated")


class NGramModel:
    """An order-:math:`m` Markov (an :math:`(m{+}1)`-gram) model of token sequences (chapter 6).

    Args:
        order: :math:`m \\ge 0`, the number of previous tokens it conditions on (0: unigram).
        vocab_size: :math:`V`.
        eos: the end-of-sequence token, which also fills the context before the first token.
        smoothing: ``"add_k"`` or ``"interpolated"`` (see the module docstring).
        k: the pseudo-count of add-:math:`k` smoothing (and of the unigram in interpolation).
    """

    def __init__(self, order: int, vocab_size: int, eos: int = 0, smoothing: str = "add_k",
                 k: float = 1.0) -> None:
        if order < 0:
            raise ValueError(f"NGramModel: order must be >= 0, got {order}")
        if smoothing not in _SMOOTHING:
            raise ValueError(f"NGramModel: smoothing must be one of {_SMOOTHING}, got {smoothing!r}")
        if k <= 0:
            raise ValueError(f"NGramModel: k must be > 0, got {k}")
        self.order, self.vocab_size, self.eos = order, vocab_size, eos
        self.smoothing, self.k = smoothing, k
        # counts[j][context of length j] = counts of the next token, for j = 0..order
        self.counts: list[dict[tuple[int, ...], np.ndarray]] = [defaultdict(self._zeros)
                                                                for _ in range(order + 1)]
        self._cache: dict[tuple[int, ...], np.ndarray] = {}

    def _zeros(self) -> np.ndarray:
        return np.zeros(self.vocab_size)

    def fit(self, sequences: Iterable[Sequence[int]]) -> NGramModel:
        """Count every token of every sequence under each of its contexts of length 0..m.

        Args:
            sequences: token sequences, each ending with ``eos``.
        """
        self._cache.clear()
        padded = [[self.eos] * self.order + [int(v) for v in sequence] for sequence in sequences]
        bad = [v for p in padded for v in p if not 0 <= v < self.vocab_size]
        if bad:
            raise ValueError(f"NGramModel.fit: token {bad[0]} outside [0, {self.vocab_size})")
        grams = Counter(tuple(p[t - j:t + 1]) for p in padded for t in range(self.order, len(p))
                        for j in range(self.order + 1))
        for gram, count in grams.items():
            self.counts[len(gram) - 1][gram[:-1]][gram[-1]] += count
        return self

    def with_smoothing(self, smoothing: str, k: float) -> NGramModel:
        """The same counts under other smoothing: a new model that shares this one's counts."""
        other = NGramModel(self.order, self.vocab_size, self.eos, smoothing, k)
        other.counts = self.counts
        return other

    def _distribution(self, context: tuple[int, ...]) -> np.ndarray:
        """:math:`p(\\cdot \\mid u)` for a context :math:`u` of length ``len(context)`` <= m."""
        if context in self._cache:
            return self._cache[context]
        table = self.counts[len(context)]
        counts = table[context] if context in table else self._zeros()
        total = counts.sum()
        if self.smoothing == "add_k" or not context:
            probs = (counts + self.k) / (total + self.k * self.vocab_size)
        else:
            lower = self._distribution(context[1:])
            if total == 0:
                probs = lower
            else:
                weight = total / (total + np.count_nonzero(counts))
                probs = weight * counts / total + (1 - weight) * lower
        self._cache[context] = probs
        return probs

    def next_log_probs(self, history: Sequence[int]) -> np.ndarray:
        """:math:`\\log p(\\cdot \\mid y_{<t})` from the last :math:`m` tokens of ``history``, shape :math:`(V,)`."""
        padded = [self.eos] * self.order + [int(v) for v in history]
        context = tuple(padded[len(padded) - self.order:]) if self.order else ()
        return np.log(self._distribution(context))

    def sequence_log_prob(self, sequence: Sequence[int]) -> float:
        """:math:`\\log p(y) = \\sum_t \\log p(y_t \\mid y_{t-m..t-1})` in nats, for a sequence ending with ``eos``."""
        padded = [self.eos] * self.order + [int(v) for v in sequence]
        m = self.order
        return float(sum(math.log(self._distribution(tuple(padded[t - m:t]))[padded[t]])
                         for t in range(m, len(padded))))

    def cross_entropy(self, sequences: Iterable[Sequence[int]]) -> float:
        """Mean negative log-probability per token (nats), :math:`-\\frac{1}{N}\\sum \\log p(y)`, over ``sequences``."""
        total, count = 0.0, 0
        for sequence in sequences:
            total -= self.sequence_log_prob(sequence)
            count += len(sequence)
        if count == 0:
            raise ValueError("NGramModel.cross_entropy: no tokens")
        return total / count

    def __repr__(self) -> str:
        return f"NGramModel(order={self.order}, vocab_size={self.vocab_size}, smoothing={self.smoothing!r}, k={self.k})"
