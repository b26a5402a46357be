"""Experiments over several seeds: independent random streams, the spread of a result, timings.

Every comparison the book draws from training rests on several seeds (chapter 1 onwards). This
module is the one place that

- turns a seed into independent random generators (:func:`generators`), so that initialising a
  model and drawing its data never share a stream: a larger model consumes more initial weights
  without changing the data the next model sees;
- runs an experiment once per seed and summarises the result (:func:`over_seeds`, :class:`Spread`);
- times a function (:func:`median_seconds`) and compares two (:func:`median_ratio`).

The book's notebooks assert their claims on these summaries (for example
``assert gru.fraction(lambda mse: mse < 0.01) >= 0.8``), so a claim that needs a lucky seed fails
``make test``.
"""

from __future__ import annotations

import gc
import math
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

import numpy as np

__all__ = ["Spread", "generators", "median_ratio", "median_seconds", "over_seeds"]


def generators(seed: int, count: int = 2) -> tuple[np.random.Generator, ...]:
    """Independent random generators derived from one seed.

    ``init_rng, data_rng = generators(seed)`` gives one stream for initial weights and one for data
    (numpy's ``SeedSequence.spawn``: the streams do not overlap). Models built from ``init_rng`` may
    draw as many numbers as they like without shifting what ``data_rng`` produces.

    Args:
        seed: a non-negative integer.
        count: how many generators.

    Returns:
        ``count`` generators, the same ones for the same seed on every machine.
    """
    if count < 1:
        raise ValueError(f"generators: count must be at least 1, got {count}")
    return tuple(np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(count))


@dataclass(frozen=True)
class Spread:
    """One measured quantity over several seeds: its values and their summary.

    Attributes:
        values: the result of each run, in the order of ``seeds``.
        seeds: the seed of each run.
    """

    values: tuple[float, ...]
    seeds: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.values or len(self.values) != len(self.seeds):
            raise ValueError(f"Spread needs one value per seed, got {len(self.values)} values "
                             f"for {len(self.seeds)} seeds")

    @property
    def n(self) -> int:
        """The number of runs."""
        return len(self.values)

    @property
    def mean(self) -> float:
        """The mean over runs, :math:`\\bar v = \\frac{1}{n}\\sum_i v_i`."""
        return float(np.mean(self.values))

    @property
    def std(self) -> float:
        """The sample standard deviation, :math:`\\sqrt{\\sum_i (v_i - \\bar v)^2 / (n - 1)}` (0 for one run)."""
        return float(np.std(self.values, ddof=1)) if self.n > 1 else 0.0

    @property
    def min(self) -> float:
        """The smallest value."""
        return float(np.min(self.values))

    @property
    def max(self) -> float:
        """The largest value."""
        return float(np.max(self.values))

    @property
    def median(self) -> float:
        """The median value."""
        return float(np.median(self.values))

    def fraction(self, condition: Callable[[float], bool]) -> float:
        """The fraction of runs whose value meets ``condition`` (a success rate).

        Example: ``spread.fraction(lambda mse: mse < 0.01)``.
        """
        return sum(bool(condition(v)) for v in self.values) / self.n

    def describe(self, fmt: str = ".3f") -> str:
        """The summary the text quotes: ``"0.62 ± 0.21 (0.27 to 0.99 over 10 seeds)"``.

        The ± term is the sample standard deviation; the range is the smallest and largest run.
        """
        if self.n == 1:
            return f"{self.values[0]:{fmt}} (one seed)"
        return (f"{self.mean:{fmt}} ± {self.std:{fmt}} "
                f"({self.min:{fmt}} to {self.max:{fmt}} over {self.n} seeds)")

    def __format__(self, fmt: str) -> str:
        return self.describe(fmt or ".3f")

    def __str__(self) -> str:
        return self.describe()


def over_seeds(run: Callable[[int], float | Mapping[str, float]],
               seeds: Iterable[int] = range(5)) -> Spread | dict[str, Spread]:
    """Run an experiment once per seed and collect the results.

    Args:
        run: ``run(seed)`` returns one number, or a mapping from names to numbers (several
            measurements of the same run, for example ``{"rnn": 0.41, "gru": 0.02}``).
        seeds: the seeds to run; at least 5 where one run takes under about 5 s, at least 3
            otherwise (the book's rule).

    Returns:
        A :class:`Spread`, or a dict of them with the names ``run`` returned.

    Raises:
        ValueError: no seeds, a run returned something that is not a finite number, or runs
            returned different names.
    """
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("over_seeds: give at least one seed")
    results = [run(seed) for seed in seeds]
    if all(isinstance(r, Mapping) for r in results):
        names = list(results[0])
        for seed, result in zip(seeds, results):
            if list(result) != names:
                raise ValueError(f"over_seeds: seed {seed} returned {list(result)}, "
                                 f"seed {seeds[0]} returned {names}")
        return {name: _spread([r[name] for r in results], seeds, name) for name in names}
    return _spread(results, seeds, "the result")


def _spread(values: list, seeds: tuple[int, ...], name: str) -> Spread:
    numbers = []
    for seed, value in zip(seeds, values):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"over_seeds: {name} of seed {seed} is {value!r:.60}, "
                             "not a number") from None
        if not math.isfinite(number):
            raise ValueError(f"over_seeds: {name} of seed {seed} is {number}")
        numbers.append(number)
    return Spread(tuple(numbers), seeds)


def median_seconds(fn: Callable[[], object], repeat: int = 7, number: int = 1,
                   clock: Callable[[], float] = time.perf_counter) -> float:
    """The median time of one call of ``fn``, in seconds.

    ``fn`` is called ``number`` times in a row, ``repeat`` times over; each round's time is
    divided by ``number`` and the median round is returned (the median resists the odd round
    slowed down by another process). The garbage collector is paused during a round, as
    :mod:`timeit` does, so that a collection triggered by earlier work is not charged to ``fn``.
    Call ``fn`` once before timing if its first call is special.

    Args:
        fn: the function to time, called without arguments.
        repeat: the number of rounds.
        number: calls per round.
        clock: the clock, wall-clock time by default. ``time.process_time`` counts only the CPU
            time of this process, which other programs running at the same time barely change:
            on a busy machine it measures the work rather than the wait (with one BLAS thread the
            two agree on a quiet machine).
    """
    _check_rounds("median_seconds", repeat, number)
    return float(np.median([_round_seconds(fn, number, clock) for _ in range(repeat)]))


def median_ratio(fn: Callable[[], object], reference: Callable[[], object], repeat: int = 9,
                 number: int = 1, clock: Callable[[], float] = time.process_time) -> float:
    """How many times as long ``fn`` takes as ``reference``: the median over rounds of
    ``t_fn / t_reference``.

    The two are timed in alternating rounds (``fn``, ``reference``, ``fn``, ...), each round as in
    :func:`median_seconds`, and each ratio pairs rounds run moments apart. A slowdown that lasts
    longer than a round (another program, a CPU changing its clock speed) then scales both times of
    a pair and cancels in their ratio, which timing one function after the other does not. Both are
    called once, untimed, before the rounds start.

    Args:
        fn, reference: the functions to compare, called without arguments.
        repeat: the number of rounds of each.
        number: calls per round.
        clock: the clock, the CPU time of this process by default (see :func:`median_seconds`).
    """
    _check_rounds("median_ratio", repeat, number)
    fn()
    reference()
    ratios = []
    for _ in range(repeat):
        seconds = _round_seconds(fn, number, clock)
        ratios.append(seconds / max(_round_seconds(reference, number, clock), 1e-12))
    return float(np.median(ratios))


def _check_rounds(caller: str, repeat: int, number: int) -> None:
    if repeat < 1 or number < 1:
        raise ValueError(f"{caller}: repeat and number must be at least 1, got {repeat}, {number}")


def _round_seconds(fn: Callable[[], object], number: int, clock: Callable[[], float]) -> float:
    """The time of one call of ``fn``, averaged over ``number`` calls in a row, with the garbage
    collector paused (and restored to its previous state afterwards)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        start = clock()
        for _ in range(number):
            fn()
        return (clock() - start) / number
    finally:
        if collecting:
            gc.enable()
