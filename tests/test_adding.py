"""The adding-problem benchmark (minigrad.adding): the regressor, the training run, the timing."""

from __future__ import annotations

import numpy as np
import pytest

from minigrad.adding import SequenceRegressor, mean_squared_error, step_seconds, train_adding
from minigrad.data import adding_problem


@pytest.mark.parametrize("layer", ["RNN", "GRU", "LSTM", "minGRU"])
def test_regressor_reads_the_last_state(layer):
    rng = np.random.default_rng(0)
    model = SequenceRegressor(layer, 2, 5, rng=rng)
    x, _ = adding_problem(3, 6, rng)
    y = model(x)
    assert y.shape == (3,)
    x_changed = x.copy()
    x_changed[0] += 1.0
    assert not np.allclose(model(x_changed).data, y.data)  # the first step reaches the output


def test_regressor_rejects_an_unknown_layer():
    with pytest.raises(ValueError, match="must be one of"):
        SequenceRegressor("transformer", 2, 3)


def test_min_gru_learns_the_adding_problem_quickly():
    model, history, (x_test, y_test) = train_adding("minGRU", 20, seed=0, steps=200, lr=0.03, test_size=300)
    assert history.evaluations[-1][1] == pytest.approx(mean_squared_error(model, x_test, y_test))
    assert history.evaluations[-1][1] < 0.05  # always predicting 1 scores 1/6


def test_step_seconds_is_a_positive_time():
    assert 0 < step_seconds("minGRU", 8, repeat=2, method="loop") < 5
