"""Chapter 14's runs on the adding problem: the GRU and minGRU after the same number of steps, and the time of one step.

The network is :class:`minigrad.models.RecurrentReadout` (a recurrent layer read out at its last
step) and the task :class:`minigrad.longrange.AddingTask` (chapters 8 to 10): the target is the
sum of the two marked values of a sequence, the first of them at least :math:`T/2` steps before
the end; always predicting the mean, 1, scores a mean squared error of :math:`1/6`.
:func:`minigrad.longrange.train_until_solved` trains until that error reaches the task's
threshold; :func:`train_adding` trains for a fixed number of steps instead, so that two layers can
be compared at every step of the same budget; :func:`training_step` is one of those steps, ready to
be timed (by :func:`~minigrad.experiments.median_ratio`, say).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

import minigrad
from minigrad.experiments import generators
from minigrad.longrange import AddingTask
from minigrad.models import RecurrentReadout
from minigrad.optim import Adam
from minigrad.training import History, fit

__all__ = ["train_adding", "training_step"]


def train_adding(cell: str, length: int, seed: int, steps: int = 600, lr: float = 0.03, hidden_size: int = 32,
                 batch_size: int = 64, test_size: int = 1000,
                 every: int | None = None) -> tuple[RecurrentReadout, History, tuple[np.ndarray, np.ndarray]]:
    """Train a :class:`~minigrad.models.RecurrentReadout` on the adding problem for ``steps`` steps (chapter 14).

    Chapter 10's setting: Adam with learning rate ``lr`` on ``steps`` batches of ``batch_size``
    fresh sequences, gradients clipped to norm 1, float32. ``generators(seed)`` gives the weights
    and the data separate streams, so every layer trained with one seed sees the same test set
    (drawn first) and the same batches.

    Args:
        cell: ``"gru"``, ``"mingru"``, or another cell of :class:`~minigrad.models.RecurrentReadout`.
        length: :math:`T`.
        seed: the seed of the run.
        steps, lr, hidden_size, batch_size, test_size: the budget and the sizes.
        every: evaluate the test MSE every ``every`` steps (and at the end); ``None`` for only at
            the end.

    Returns:
        ``(model, history, (x_test, y_test))``; ``history.evaluations[-1][1]`` is the final test MSE.
    """
    task = AddingTask(length)
    init_rng, data_rng = generators(seed)
    model = RecurrentReadout(task.input_size, hidden_size, task.output_size, cell, task.readout, rng=init_rng,
                             dtype=np.float32)
    x_test, y_test = task.sample(test_size, data_rng)
    batches = (task.sample(batch_size, data_rng) for _ in range(steps))

    def test_error() -> float:
        with minigrad.no_grad():
            return task.error(model(x_test), y_test)

    history = fit(lambda batch: task.loss(model(batch[0]), batch[1]), model, batches, lr=lr, clip_norm=1.0,
                  evaluate=test_error, every=every)
    return model, history, (x_test, y_test)


def training_step(cell: str, length: int, batch_size: int = 64, hidden_size: int = 32,
                  **options) -> Callable[[], None]:
    """One training step on the adding problem as :func:`train_adding` takes it, as a function to time.

    Each call runs one step of :func:`~minigrad.training.fit` on one fixed batch: forward pass,
    backward pass, clipping and Adam's update, for a :class:`~minigrad.models.RecurrentReadout`
    (float32) made once for all calls. The step has been taken once already, so that Adam's moments
    are allocated before any call is timed. ``options`` go to the layer (``method="loop"`` for a
    minGRU).
    """
    task = AddingTask(length)
    rng = np.random.default_rng(0)
    model = RecurrentReadout(task.input_size, hidden_size, task.output_size, cell, task.readout, rng=rng,
                             dtype=np.float32, **options)
    optimizer = Adam(model.parameters(), lr=0.01)
    batch = task.sample(batch_size, rng)

    def step() -> None:
        fit(lambda b: task.loss(model(b[0]), b[1]), model, [batch], optimizer=optimizer, clip_norm=1.0)

    step()
    return step
