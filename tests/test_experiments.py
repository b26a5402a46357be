"""Tests for minigrad.experiments: independent generators, spreads over seeds, timing."""

import math

import numpy as np
import pytest

from minigrad.experiments import Spread, generators, median_ratio, median_seconds, over_seeds


def test_generators_are_reproducible_and_independent():
    init_a, data_a = generators(3)
    init_b, data_b = generators(3)
    assert np.array_equal(init_a.normal(size=5), init_b.normal(size=5))
    # drawing more from the initialisation stream does not move the data stream
    init_b.normal(size=1000)
    assert np.array_equal(data_a.integers(0, 100, 10), data_b.integers(0, 100, 10))
    first, second = generators(3)
    assert not np.array_equal(first.normal(size=5), second.normal(size=5))
    assert len(generators(1, count=4)) == 4


def test_generators_rejects_no_streams():
    with pytest.raises(ValueError, match="count"):
        generators(0, count=0)


def test_spread_summary():
    s = Spread((1.0, 2.0, 4.0), (0, 1, 2))
    assert s.n == 3 and s.mean == pytest.approx(7 / 3)
    assert s.std == pytest.approx(math.sqrt(((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2) / 2))
    assert (s.min, s.max, s.median) == (1.0, 4.0, 2.0)
    assert s.fraction(lambda v: v < 3) == pytest.approx(2 / 3)
    assert s.describe(".1f") == "2.3 ± 1.5 (1.0 to 4.0 over 3 seeds)"
    assert f"{s:.2f}" == s.describe(".2f")
    assert Spread((0.5,), (7,)).describe(".2f") == "0.50 (one seed)"
    assert Spread((0.5,), (7,)).std == 0.0


def test_spread_needs_one_value_per_seed():
    with pytest.raises(ValueError, match="one value per seed"):
        Spread((1.0, 2.0), (0,))
    with pytest.raises(ValueError, match="one value per seed"):
        Spread((), ())


def test_over_seeds_runs_each_seed_once():
    calls = []

    def run(seed):
        calls.append(seed)
        return seed * 0.5

    s = over_seeds(run, seeds=[4, 5, 6])
    assert calls == [4, 5, 6] and s.seeds == (4, 5, 6) and s.values == (2.0, 2.5, 3.0)
    assert over_seeds(lambda seed: np.float32(seed)).seeds == (0, 1, 2, 3, 4)


def test_over_seeds_with_named_results():
    spreads = over_seeds(lambda seed: {"rnn": seed, "gru": 10 + seed}, seeds=range(3))
    assert list(spreads) == ["rnn", "gru"]
    assert spreads["gru"].values == (10.0, 11.0, 12.0)


@pytest.mark.parametrize("bad, message", [(float("nan"), "nan"), ("x", "not a number"), (None, "not a number")])
def test_over_seeds_rejects_non_numbers(bad, message):
    with pytest.raises(ValueError, match=message):
        over_seeds(lambda seed: bad if seed == 1 else 0.0, seeds=range(3))


def test_over_seeds_rejects_changing_names_and_no_seeds():
    with pytest.raises(ValueError, match="returned"):
        over_seeds(lambda seed: {"a": 1.0} if seed else {"b": 1.0}, seeds=range(2))
    with pytest.raises(ValueError, match="at least one seed"):
        over_seeds(lambda seed: 1.0, seeds=[])


def test_median_seconds_measures_a_sleep():
    import time

    assert 0.004 <= median_seconds(lambda: time.sleep(0.005), repeat=3) < 0.5
    # CPU time: sleeping costs (almost) none of it
    assert median_seconds(lambda: time.sleep(0.005), repeat=3, clock=time.process_time) < 0.004
    ticks = iter(range(100))
    assert median_seconds(lambda: None, repeat=3, number=2, clock=lambda: 2.0 * next(ticks)) == 1.0
    with pytest.raises(ValueError):
        median_seconds(lambda: None, repeat=0)


def test_median_seconds_on_the_process_clock_does_not_count_sleeping():
    import time

    assert median_seconds(lambda: time.sleep(0.02), repeat=3, clock=time.process_time) < 0.01
    busy = median_seconds(lambda: sum(range(200_000)), repeat=3, clock=time.process_time)
    assert busy > 0


class _FakeClock:
    """A clock that the timed functions advance by hand."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_median_ratio_alternates_the_two_and_pairs_their_rounds():
    clock, calls = _FakeClock(), []
    # a slowdown that doubles both during the middle rounds cancels in each pair's ratio
    slowdown = iter([1, 1] + [1, 1, 2, 2, 2, 2, 1, 1, 1, 1])

    def slow():
        calls.append("slow")
        clock.now += 3.0 * next(slowdown)

    def fast():
        calls.append("fast")
        clock.now += 1.0 * next(slowdown)

    assert median_ratio(slow, fast, repeat=5, clock=clock) == 3.0
    assert calls == ["slow", "fast"] * 6  # one untimed call each, then five alternating rounds
    with pytest.raises(ValueError, match="median_ratio"):
        median_ratio(slow, fast, number=0)


def test_timing_rounds_pause_the_garbage_collector_and_restore_it():
    import gc

    seen = []
    median_seconds(lambda: seen.append(gc.isenabled()), repeat=2)
    median_ratio(lambda: seen.append(gc.isenabled()), lambda: None, repeat=2)
    assert seen == [False, False, True, False, False]  # the untimed warm-up call runs as usual
    assert gc.isenabled()
    gc.disable()
    try:
        median_seconds(lambda: None, repeat=1)
        assert not gc.isenabled(), "a collector that was off stays off"
    finally:
        gc.enable()
