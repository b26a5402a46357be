"""The book's one training loop: mini-batch gradient descent with evaluation and early stopping.

Every chapter trains with :func:`fit`, so that what "trained for 600 steps with Adam, keeping the
parameters of the best validation loss" means is written once. A step is the usual four lines

.. code-block:: python

    loss = batch_loss(batch)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

with optional gradient clipping by norm (chapter 8) between the last two. :func:`minibatches`
shuffles a data set into index batches, one epoch after another.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

from minigrad.autograd import no_grad
from minigrad.nn.module import Module
from minigrad.optim import Adam, Optimizer, clip_grad_norm_
from minigrad.tensor import Tensor

__all__ = ["History", "fit", "minibatches"]


@dataclass
class History:
    """What happened during :func:`fit`.

    Attributes:
        losses: the training loss of every step, in order.
        evaluations: ``(step, value)`` for every evaluation; ``step`` counts the steps taken
            before it (an evaluation after the 100th step has ``step = 100``).
        best_step: the step of the lowest evaluation (``None`` without evaluations).
        best_value: the lowest evaluation (``None`` without evaluations).
        steps: the number of steps taken (fewer than the batches given if training stopped early).
        stopped_early: whether ``patience`` or ``stop_below`` ended training.
    """

    losses: list[float] = field(default_factory=list)
    evaluations: list[tuple[int, float]] = field(default_factory=list)
    best_step: int | None = None
    best_value: float | None = None
    steps: int = 0
    stopped_early: bool = False

    @property
    def final_loss(self) -> float:
        """The training loss of the last step."""
        if not self.losses:
            raise ValueError("History: no step was taken")
        return self.losses[-1]


def minibatches(n: int, batch_size: int, rng: np.random.Generator, epochs: int = 1,
                drop_last: bool = False) -> list[np.ndarray]:
    """Index batches for ``epochs`` passes over ``n`` examples, shuffled afresh for each pass.

    Args:
        n: the number of examples.
        batch_size: examples per batch; the last batch of a pass is smaller unless ``drop_last``.
        rng: the generator that shuffles (use the data stream, not the initialisation stream).
        epochs: the number of passes.
        drop_last: leave out the smaller last batch of each pass.

    Returns:
        A list of integer arrays, ``epochs * ceil(n / batch_size)`` of them (or ``floor`` with
        ``drop_last``).
    """
    if n < 1 or batch_size < 1 or epochs < 0:
        raise ValueError(f"minibatches: need n >= 1, batch_size >= 1 and epochs >= 0, got "
                         f"n={n}, batch_size={batch_size}, epochs={epochs}")
    batches = []
    for _ in range(epochs):
        order = rng.permutation(n)
        stop = n - n % batch_size if drop_last else n
        batches.extend(order[start:start + batch_size] for start in range(0, stop, batch_size))
    return batches


def fit(batch_loss: Callable[[Any], Tensor], model: Module | Iterable[Tensor], batches: Iterable[Any],
        *, optimizer: Optimizer | None = None, lr: float = 0.01, clip_norm: float | None = None,
        evaluate: Callable[[], float] | None = None, every: int | None = None,
        keep_best: bool = False, patience: int | None = None,
        stop_below: float | None = None) -> History:
    """Train by gradient descent, one step per batch, and return the :class:`History`.

    Each step computes ``loss = batch_loss(batch)``, its gradient, optionally rescales the gradient
    to norm at most ``clip_norm`` (:func:`minigrad.optim.clip_grad_norm_`), and lets the optimiser
    update the parameters. ``evaluate`` (a validation loss, an error rate: lower is better) is
    called without a graph every ``every`` steps and after the last step; with a model, the model
    is put in ``eval()`` mode for it and back in ``train()`` mode afterwards.

    Args:
        batch_loss: maps one batch to a scalar loss tensor.
        model: a :class:`~minigrad.nn.Module`, or the parameters to train.
        batches: the batches, one per step (a list, or a generator drawing fresh data).
        optimizer: the optimiser; ``Adam(parameters, lr=lr)`` when ``None``.
        lr: the learning rate of the default optimiser (ignored when ``optimizer`` is given).
        clip_norm: clip the joint gradient norm to this value (chapter 8); ``None`` for no clipping.
        evaluate: returns the number that decides the best step; ``None`` for no evaluation.
        every: evaluate after every ``every`` steps (and after the last); only at the end when
            ``None``.
        keep_best: restore the parameters of the lowest evaluation at the end (early stopping).
        patience: stop after this many evaluations in a row without a new lowest value.
        stop_below: stop as soon as an evaluation is at most this value (the task is solved).

    Returns:
        The history of the run.

    Raises:
        ValueError: a loss is not a finite scalar, or an option is inconsistent.
    """
    if (keep_best or patience is not None or stop_below is not None or every is not None) and evaluate is None:
        raise ValueError("fit: keep_best, patience, stop_below and every need an evaluate function")
    if every is not None and every < 1:
        raise ValueError(f"fit: every must be at least 1, got {every}")
    module = model if isinstance(model, Module) else None
    parameters = list(model.parameters() if module is not None else model)
    optimizer = optimizer if optimizer is not None else Adam(parameters, lr=lr)
    history = History()
    best_parameters: list[np.ndarray] | None = None
    waited = 0

    def run_evaluation() -> bool:
        """Evaluate, remember the best parameters, and say whether to stop."""
        nonlocal best_parameters, waited
        if module is not None:
            module.eval()
        with no_grad():
            value = float(evaluate())
        if module is not None:
            module.train()
        history.evaluations.append((history.steps, value))
        if history.best_value is None or value < history.best_value:
            history.best_step, history.best_value, waited = history.steps, value, 0
            if keep_best:
                best_parameters = [p.data.copy() for p in parameters]
        else:
            waited += 1
        return (stop_below is not None and value <= stop_below) or (patience is not None and waited >= patience)

    for batch in batches:
        loss = batch_loss(batch)
        value = float(loss.data) if isinstance(loss, Tensor) and loss.data.size == 1 else math.nan
        if not math.isfinite(value):
            raise ValueError(f"fit: the loss at step {history.steps + 1} is {loss!r:.80}, "
                             "not a finite scalar tensor")
        optimizer.zero_grad()
        loss.backward()
        if clip_norm is not None:
            clip_grad_norm_(parameters, clip_norm)
        optimizer.step()
        history.losses.append(value)
        history.steps += 1
        if every is not None and history.steps % every == 0 and run_evaluation():
            history.stopped_early = True
            break
    if evaluate is not None and not history.stopped_early and (
            not history.evaluations or history.evaluations[-1][0] != history.steps):
        run_evaluation()
    if best_parameters is not None:
        for p, best in zip(parameters, best_parameters):
            p.data[...] = best
    return history
