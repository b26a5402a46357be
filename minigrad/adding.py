"""The adding problem as a benchmark of long-range memory: a recurrent layer read out at its last step (chapter 14).

:func:`minigrad.data.adding_problem` draws the task: the target is the sum of the two marked values
of a sequence, the first of them at least :math:`T/2` steps before the end. A
:class:`SequenceRegressor` runs a recurrent layer over the sequence and maps its last state to one
number; :func:`train_adding` trains it with :func:`~minigrad.training.fit` and scores it on fresh
sequences. Always predicting the mean, 1, scores a mean squared error of :math:`1/6`.
"""

from __future__ import annotations

import functools
import time
from typing import Callable

import numpy as np

import minigrad
from minigrad.data import adding_problem
from minigrad.experiments import generators, median_seconds
from minigrad.nn import GRU, LSTM, RNN, Linear, MinGRU, Module
from minigrad.tensor import Tensor
from minigrad.optim import Adam
from minigrad.training import History, fit

__all__ = ["LAYERS", "SequenceRegressor", "batch_loss", "mean_squared_error", "step_seconds", "train_adding"]

LAYERS = {"RNN": RNN, "GRU": GRU, "LSTM": LSTM, "minGRU": MinGRU}
"""The recurrent layers a :class:`SequenceRegressor` can use, by name."""


class SequenceRegressor(Module):
    """A recurrent layer and a ``Linear`` read-out of its last state, :math:`\\hat y = w^\\top h^{(T)} + c`.

    Args:
        layer: a key of :data:`LAYERS`.
        input_size: features per step.
        hidden_size: :math:`H`.
        rng: generator for the initial weights.
        dtype: ``np.float64`` or ``np.float32``.
        options: passed on to the layer (``method="loop"`` for a minGRU).

    Shape:
        ``forward(x)``: ``x`` :math:`(T, B, D)`; returns :math:`(B,)`.
    """

    def __init__(self, layer: str, input_size: int, hidden_size: int, rng: np.random.Generator | None = None,
                 dtype=np.float64, **options) -> None:
        super().__init__()
        if layer not in LAYERS:
            raise ValueError(f"SequenceRegressor: layer must be one of {tuple(LAYERS)}, got {layer!r}")
        rng = np.random.default_rng() if rng is None else rng
        self.rnn = LAYERS[layer](input_size, hidden_size, rng=rng, dtype=dtype, **options)
        self.head = Linear(hidden_size, 1, rng=rng, dtype=dtype)

    def forward(self, x) -> Tensor:
        """Return :math:`\\hat y`, one number per sequence."""
        output, _ = self.rnn(x)
        return self.head(output[-1])[:, 0]


def batch_loss(model: Module, batch: tuple[np.ndarray, np.ndarray]) -> Tensor:
    """The mean squared error :math:`\\frac{1}{B}\\sum_b (\\hat y_b - y_b)^2` of a batch ``(x, y)``."""
    x, y = batch
    return ((model(Tensor(x)) - Tensor(y)) ** 2).mean()


def mean_squared_error(model: Module, x: np.ndarray, y: np.ndarray) -> float:
    """:func:`batch_loss` as a number, without a graph."""
    with minigrad.no_grad():
        return batch_loss(model, (x, y)).item()


def train_adding(layer: str, length: int, seed: int, steps: int = 600, lr: float = 0.03, hidden_size: int = 32,
                 batch_size: int = 64, test_size: int = 1000,
                 every: int | None = None) -> tuple[SequenceRegressor, History, tuple[np.ndarray, np.ndarray]]:
    """Train a :class:`SequenceRegressor` on the adding problem (chapters 10 and 14).

    Chapter 10's budget: Adam with learning rate ``lr`` on ``steps`` batches of ``batch_size``
    fresh sequences, gradients clipped to norm 1, float32. ``generators(seed)`` gives the weights
    and the data separate streams, so every layer trained with one seed sees the same test set
    (drawn first) and the same batches.

    Args:
        layer: a key of :data:`LAYERS`.
        length: :math:`T`.
        seed: the seed of the run.
        steps, lr, hidden_size, batch_size, test_size: the budget and the sizes.
        every: evaluate the test MSE every ``every`` steps (and at the end); ``None`` for only at
            the end.

    Returns:
        ``(model, history, (x_test, y_test))``; ``history.evaluations[-1][1]`` is the final test MSE.
    """
    init_rng, data_rng = generators(seed)
    model = SequenceRegressor(layer, 2, hidden_size, rng=init_rng, dtype=np.float32)
    x_test, y_test = adding_problem(test_size, length, data_rng, np.float32)
    batches = (adding_problem(batch_size, length, data_rng, np.float32) for _ in range(steps))

    history = fit(functools.partial(batch_loss, model), model, batches, lr=lr, clip_norm=1.0,
                  evaluate=lambda: mean_squared_error(model, x_test, y_test), every=every)
    return model, history, (x_test, y_test)


def step_seconds(layer: str, length: int, repeat: int = 7, batch_size: int = 64, hidden_size: int = 32,
                 clock: Callable[[], float] = time.perf_counter, **options) -> float:
    """The median time of one training step on the adding problem, in seconds.

    One step of :func:`~minigrad.training.fit` on one batch as :func:`train_adding` takes it: forward
    pass, backward pass, clipping and Adam's update, for a fresh :class:`SequenceRegressor`
    (float32), timed by :func:`~minigrad.experiments.median_seconds` with ``clock``. ``options`` go
    to the layer (``method="loop"`` for a minGRU).
    """
    rng = np.random.default_rng(0)
    model = SequenceRegressor(layer, 2, hidden_size, rng=rng, dtype=np.float32, **options)
    optimizer = Adam(model.parameters(), lr=0.01)
    batch = adding_problem(batch_size, length, rng, np.float32)
    loss = functools.partial(batch_loss, model)

    def step() -> None:
        fit(loss, model, [batch], optimizer=optimizer, clip_norm=1.0)

    step()  # the first call allocates Adam's moments
    return median_seconds(step, repeat=repeat, clock=clock)
