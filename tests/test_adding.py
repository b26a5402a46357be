"""Chapter 14's adding-problem runs (minigrad.adding): a fixed budget, the same numbers as the task's own error, the timing."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad.adding import train_adding, training_step
from minigrad.longrange import AddingTask


def test_min_gru_learns_the_adding_problem_quickly():
    model, history, (x_test, y_test) = train_adding("mingru", 20, seed=0, steps=200, lr=0.03, test_size=300)
    assert history.steps == 200 and [step for step, _ in history.evaluations] == [200]
    with minigrad.no_grad():
        assert history.evaluations[-1][1] == pytest.approx(AddingTask(20).error(model(x_test), y_test))
    assert history.evaluations[-1][1] < 0.05  # always predicting 1 scores 1/6


def test_layers_trained_with_one_seed_see_the_same_test_set():
    _, _, (x_gru, y_gru) = train_adding("gru", 8, seed=4, steps=1, test_size=10)
    _, _, (x_min, y_min) = train_adding("mingru", 8, seed=4, steps=1, test_size=10)
    np.testing.assert_array_equal(x_gru, x_min)
    np.testing.assert_array_equal(y_gru, y_min)


def test_a_training_step_is_ready_to_time():
    step = training_step("mingru", 8, method="loop")
    assert callable(step) and step() is None
