"""Tests for minigrad.training: the one training loop, its evaluation and early stopping."""

import numpy as np
import pytest

import minigrad
from minigrad import nn, optim
from minigrad.training import History, fit, minibatches


def regression_problem(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(64, 3))
    y = x @ np.array([[1.0], [-2.0], [0.5]])
    model = nn.Linear(3, 1, rng=rng)

    def batch_loss(rows):
        error = model(minigrad.tensor(x[rows])) - minigrad.tensor(y[rows])
        return (error * error).mean()

    def validation():
        error = model(minigrad.tensor(x)).data - y
        return float((error ** 2).mean())

    return model, batch_loss, validation, rng


def test_minibatches_cover_every_example_once_per_epoch():
    rng = np.random.default_rng(0)
    batches = minibatches(10, 4, rng, epochs=2)
    assert [len(b) for b in batches] == [4, 4, 2, 4, 4, 2]
    assert sorted(np.concatenate(batches[:3]).tolist()) == list(range(10))
    assert [len(b) for b in minibatches(10, 4, rng, epochs=1, drop_last=True)] == [4, 4]
    with pytest.raises(ValueError, match="batch_size"):
        minibatches(10, 0, rng)


def test_fit_is_the_four_line_loop():
    model, batch_loss, _, rng = regression_problem()
    twin, twin_loss, _, _ = regression_problem()
    batches = minibatches(64, 16, rng, epochs=3)
    history = fit(batch_loss, model, batches, optimizer=optim.SGD(model.parameters(), lr=0.1))
    sgd = optim.SGD(twin.parameters(), lr=0.1)
    for rows in batches:
        loss = twin_loss(rows)
        sgd.zero_grad()
        loss.backward()
        sgd.step()
    for p, q in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    assert history.steps == len(batches) == len(history.losses)
    assert history.final_loss == history.losses[-1] and history.evaluations == []


def test_fit_learns_and_evaluates():
    model, batch_loss, validation, rng = regression_problem()
    history = fit(batch_loss, model, minibatches(64, 16, rng, epochs=40), lr=0.05,
                  evaluate=validation, every=20)
    assert history.losses[-1] < 0.01 * history.losses[0]
    steps = [step for step, _ in history.evaluations]
    assert steps == list(range(20, 160 + 1, 20))
    assert history.best_value == min(v for _, v in history.evaluations)


def test_keep_best_restores_the_best_parameters():
    model, batch_loss, validation, rng = regression_problem()
    values = iter([3.0, 1.0, 2.0, 5.0])
    snapshots = []

    def evaluate():
        snapshots.append(model.weight.data.copy())
        return next(values)

    history = fit(batch_loss, model, minibatches(64, 16, rng, epochs=4), lr=0.05,
                  evaluate=evaluate, every=4, keep_best=True)
    assert history.best_step == 8 and history.best_value == 1.0
    np.testing.assert_array_equal(model.weight.data, snapshots[1])


def test_patience_and_stop_below_end_training_early():
    model, batch_loss, _, rng = regression_problem()
    values = iter([3.0, 2.0, 2.5, 2.6, 2.7, 2.8])
    history = fit(batch_loss, model, minibatches(64, 8, rng, epochs=10), evaluate=lambda: next(values),
                  every=1, patience=3)
    assert history.stopped_early and history.steps == 5
    model, batch_loss, validation, rng = regression_problem()
    history = fit(batch_loss, model, minibatches(64, 16, rng, epochs=100), lr=0.05,
                  evaluate=validation, every=4, stop_below=1e-3)
    assert history.stopped_early and history.best_value <= 1e-3 and history.steps < 400


def test_fit_sets_eval_mode_while_evaluating():
    model, batch_loss, _, rng = regression_problem()
    modes = []

    def evaluate():
        modes.append(model.training)
        return 0.0

    fit(batch_loss, model, minibatches(64, 32, rng), evaluate=evaluate)
    assert modes == [False] and model.training


def test_fit_clips_the_gradient():
    model, batch_loss, _, rng = regression_problem()
    before = [p.data.copy() for p in model.parameters()]
    fit(batch_loss, model, [np.arange(64)], optimizer=optim.SGD(model.parameters(), lr=1.0), clip_norm=1e-3)
    step = np.sqrt(sum(((p.data - b) ** 2).sum() for p, b in zip(model.parameters(), before)))
    assert step == pytest.approx(1e-3, rel=1e-3)


def test_fit_rejects_bad_losses_and_options():
    model, _, _, _ = regression_problem()
    with pytest.raises(ValueError, match="not a finite scalar"):
        fit(lambda rows: minigrad.tensor([float("nan")], requires_grad=True).sum(), model, [0])
    with pytest.raises(ValueError, match="not a finite scalar"):
        fit(lambda rows: model.weight, model, [0])
    with pytest.raises(ValueError, match="evaluate"):
        fit(lambda rows: model.weight.sum(), model, [0], keep_best=True)


def test_history_without_steps():
    with pytest.raises(ValueError, match="no step"):
        History().final_loss
