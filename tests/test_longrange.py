"""Long-range memory tasks and runs (minigrad.longrange) and their network (models.RecurrentReadout)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.analysis import gate_trace
from minigrad.data import adding_problem
from minigrad.gradcheck import gradcheck
from minigrad.longrange import (COPY_BLANK, AddingTask, AgreementTask, CopyTask, adding_memory_profile, copy_memory,
                                load_results, memory_task, outcomes, train_until_solved)
from minigrad.models import RecurrentReadout


def test_copy_memory_layout():
    tokens, targets = copy_memory(5, delay=7, rng=np.random.default_rng(0), symbols=8, length=3)
    assert tokens.shape == targets.shape == (7 + 6, 5)
    data = tokens[:3]
    assert data.min() >= 1 and data.max() <= 8
    assert np.all(tokens[3:9] == COPY_BLANK)  # delay - 1 = 6 blanks
    assert np.all(tokens[9] == 9)  # the delimiter, symbols + 1, delay steps after the last symbol
    assert np.all(tokens[10:] == COPY_BLANK)
    assert np.all(targets[:10] == COPY_BLANK)
    np.testing.assert_array_equal(targets[10:], data)


def test_copy_memory_rejects_bad_sizes():
    with pytest.raises(ValueError, match="delay"):
        copy_memory(2, delay=0, rng=np.random.default_rng(0))


@pytest.mark.parametrize("name, length, steps, input_size", [("adding", 12, 12, 2), ("copy", 12, 32, 10),
                                                             ("agreement", 12, 13, 10)])
def test_tasks_sample_what_they_announce(name, length, steps, input_size):
    task = memory_task(name, length)
    x, y = task.sample(4, np.random.default_rng(1))
    assert task.steps == steps and x.shape == (steps, 4, input_size) and x.dtype == np.float32
    assert len(y) == (steps if name == "copy" else 4)


def test_memory_task_names():
    assert isinstance(memory_task("adding", 5), AddingTask)
    with pytest.raises(ValueError, match="one of"):
        memory_task("parity", 5)
    with pytest.raises(ValueError, match="at least 1"):
        AgreementTask(0)


def test_adding_baselines_are_the_errors_of_memoryless_answers():
    task = AddingTask(40)
    x, y = task.sample(200_000, np.random.default_rng(2), np.float64)
    mean_answer = minigrad.tensor(np.ones((len(y), 1)))
    assert task.error(mean_answer, y) == pytest.approx(task.baseline, rel=0.02)
    # remembering only the second marked value: predict v_b + 1/2
    second = (x[20:, :, 0] * x[20:, :, 1]).sum(axis=0)
    assert task.error(minigrad.tensor((second + 0.5)[:, None]), y) == pytest.approx(1 / 12, rel=0.02)


def test_copy_and_agreement_errors_count_wrong_answers():
    copy = CopyTask(5, symbols=4, remember=2)
    _, targets = copy.sample(3, np.random.default_rng(3))
    perfect = np.eye(5)[targets] * 10.0
    assert copy.error(minigrad.tensor(perfect), targets) == 0.0
    perfect[-1, 0] = np.roll(perfect[-1, 0], 1)
    assert copy.error(minigrad.tensor(perfect), targets) == pytest.approx(1 / 6)
    assert copy.baseline == pytest.approx(0.75)
    agreement = AgreementTask(3)
    labels = np.array([0, 1, 1, 0])
    assert agreement.error(minigrad.tensor(np.eye(2)[[0, 1, 0, 0]]), labels) == 0.25


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("readout, shape", [("last", (3, 2)), ("every", (4, 3, 2))])
def test_recurrent_readout_reads_the_last_or_every_state(cell, readout, shape):
    model = RecurrentReadout(5, 6, 2, cell=cell, readout=readout, rng=np.random.default_rng(4))
    x = np.random.default_rng(5).normal(size=(4, 3, 5))
    out = model(x)
    assert out.shape == shape
    hidden, _ = model.rnn(minigrad.tensor(x))
    expected = model.output(hidden[-1] if readout == "last" else hidden)
    np.testing.assert_allclose(out.data, expected.data, rtol=0, atol=0)


def test_recurrent_readout_gradient_and_dtype():
    model = RecurrentReadout(2, 3, 1, cell="gru", rng=np.random.default_rng(6))
    x = minigrad.tensor(np.random.default_rng(7).normal(size=(4, 2, 2)), requires_grad=True)
    assert gradcheck(lambda t: model(t), x)
    small = RecurrentReadout(2, 3, 1, rng=np.random.default_rng(6), dtype=np.float32)
    assert small(np.zeros((2, 1, 2), dtype=np.float32)).dtype == np.float32


def test_recurrent_readout_rejects_unknown_cells_and_readouts():
    with pytest.raises(ValueError, match="cell"):
        RecurrentReadout(2, 3, 1, cell="tree")
    with pytest.raises(ValueError, match="readout"):
        RecurrentReadout(2, 3, 1, readout="mean")


def test_train_until_solved_stops_when_solved_and_is_reproducible():
    task = AgreementTask(3)
    first = train_until_solved(task, "gru", seed=11, lr=0.02, hidden=8, batch=32, max_steps=400, every=20,
                               n_validation=200, n_test=200, other_lengths=(4, 6))
    again = train_until_solved(task, "gru", seed=11, lr=0.02, hidden=8, batch=32, max_steps=400, every=20,
                               n_validation=200, n_test=200, other_lengths=(4, 6))
    assert first.solved and first.steps < 400 and first.steps % 20 == 0
    assert first.curve[0][0] == 0 and first.curve[-1] == (first.steps, pytest.approx(first.curve[-1][1]))
    assert first.curve[-1][1] <= task.threshold < first.curve[0][1]
    assert first.test_error < 0.2
    assert (again.steps, again.curve, again.test_error) == (first.steps, first.curve, first.test_error)
    assert set(first.other_test_errors) == {4, 6} and all(0 <= e <= 1 for e in first.other_test_errors.values())
    assert first.other_test_errors == again.other_test_errors
    record = json.loads(json.dumps(first.as_dict()))
    assert record["solved"] is True and "model" not in record and record["lstm_init"] is None
    assert set(record["other_test_errors"]) == {"4", "6"}


def test_train_until_solved_spends_the_budget_when_it_fails_and_initialises_the_lstm():
    task = AddingTask(30)
    run = train_until_solved(task, "lstm", seed=0, lr=1e-4, hidden=4, batch=8, max_steps=6, every=3,
                             lstm_init="chrono", n_validation=50, n_test=50)
    assert not run.solved and run.steps == 6 and [step for step, _ in run.curve] == [0, 3, 6]
    assert run.lstm_init == "chrono"
    untrained = train_until_solved(task, "lstm", seed=0, lr=1e-4, hidden=4, batch=8, max_steps=0,
                                   lstm_init="chrono", n_validation=50, n_test=50, keep_model=True)
    assert untrained.curve == [(0, pytest.approx(untrained.curve[0][1]))] and untrained.steps == 0
    bias = untrained.model.rnn.bias_ih_l0.data
    np.testing.assert_array_equal(bias[:4], -bias[4:8])  # the input gate mirrors the forget gate
    biased = train_until_solved(task, "lstm", seed=0, lr=1e-4, hidden=4, batch=8, max_steps=0,
                                lstm_init=2.0, n_validation=50, n_test=50, keep_model=True)
    np.testing.assert_array_equal(biased.model.rnn.bias_ih_l0.data[4:8], 2.0)
    with pytest.raises(ValueError, match="lstm_init"):
        train_until_solved(task, "lstm", seed=0, lr=1e-3, max_steps=1, lstm_init="zeros")


def test_outcomes_summarise_runs_by_configuration(tmp_path):
    task = AgreementTask(2)
    runs = [train_until_solved(task, cell, seed=seed, lr=0.03, hidden=6, batch=16, max_steps=steps, every=10,
                               n_validation=100, n_test=100).as_dict()
            for cell, steps in (("rnn", 300), ("gru", 0)) for seed in (1, 2)]
    path = tmp_path / "long_range_agreement.json"
    path.write_text(json.dumps({"task": "agreement", "settings": {}, "tuning": [], "chosen_lr": {}, "runs": runs}))
    table = outcomes(load_results(path)["runs"])
    assert set(table) == {(2, "rnn", "None"), (2, "gru", "None")}
    rnn, gru = table[2, "rnn", "None"], table[2, "gru", "None"]
    assert rnn.runs == 2 and rnn.rate == 1.0 and len(rnn.steps) == 2 and rnn.median_steps <= 300
    assert gru.solved == 0 and gru.rate == 0.0 and np.isnan(gru.median_steps) and gru.test.n == 2
    with pytest.raises(ValueError, match="not a results file"):
        bad = tmp_path / "bad.json"
        bad.write_text("{}")
        load_results(bad)


def test_adding_memory_profile_finds_a_hand_built_carousel():
    lstm = nn.LSTM(2, 2, rng=np.random.default_rng(8))
    for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
        getattr(lstm, name).data[...] = 0.0
    w_ih, b_ih = lstm.weight_ih_l0.data, lstm.bias_ih_l0.data  # rows: i0 i1 f0 f1 g0 g1 o0 o1
    w_ih[0] = [0.0, 20.0]
    b_ih[0] = -10.0  # unit 0 writes only at a marker ...
    b_ih[2] = 30.0  # ... and never forgets
    w_ih[4] = [1.0, 0.0]  # what it writes is tanh(value)
    b_ih[3] = -30.0  # unit 1 forgets at once and writes a constant
    x, _ = adding_problem(400, 30, np.random.default_rng(9))
    profile = adding_memory_profile(lstm, x)
    assert set(profile) == {"corr", "keep", "write_first", "write_between"}
    assert profile["corr"][0] > 0.99 and profile["keep"][0] > 0.999
    assert profile["write_first"][0] > 0.99 and profile["write_between"][0] < 0.01
    assert profile["keep"][1] < 1e-6
    gru = nn.GRU(2, 3, rng=np.random.default_rng(10))
    gru_profile = adding_memory_profile(gru, x)
    trace = gate_trace(gru, x)
    first = x[:, :, 1].argmax(axis=0)
    np.testing.assert_allclose(gru_profile["write_first"], (1 - trace["z"])[first, np.arange(400)].mean(axis=0))
