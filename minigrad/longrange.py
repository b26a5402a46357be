"""Long-range memory tasks, and training runs that measure whether a network learns them (chapters 8 to 10).

Each task asks for something that was seen many steps before the answer is due:

- the **agreement task** (chapter 8, :func:`minigrad.data.agreement_task`): the number of a
  subject, ``gap`` words back;
- the **adding problem** in the variant of Le et al. (2015) (chapter 10,
  :func:`minigrad.data.adding_problem`): the sum of two marked values, the first of them in the
  first half of the sequence;
- the **copying memory problem** of Arjovsky et al. (2016) (chapter 10, :func:`copy_memory`):
  ten symbols, to be repeated after a delay.

A :class:`MemoryTask` draws a batch, scores a network's outputs (:meth:`~MemoryTask.loss`, the
training loss; :meth:`~MemoryTask.error`, the number that says how far the network is from solving
the task) and knows the error below which the task counts as solved. :func:`train_until_solved`
trains a :class:`~minigrad.models.RecurrentReadout` on fresh batches with
:func:`minigrad.training.fit` until the validation error reaches that threshold or the budget runs
out, and returns a :class:`Run`: solved or not, the steps it took, the validation curve, the test
error. ``scripts/long_range.py`` runs it over tasks, lengths, cells and seeds; the chapters load the
results and rerun one configuration live.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import minigrad
from minigrad import functional as F
from minigrad.analysis import gate_trace
from minigrad.data import adding_problem, agreement_task
from minigrad.experiments import Spread, generators
from minigrad.models import RecurrentReadout
from minigrad.nn.init import lstm_chrono_init_, lstm_forget_bias_
from minigrad.tensor import Tensor
from minigrad.training import fit

__all__ = ["COPY_BLANK", "AddingTask", "AgreementTask", "CopyTask", "MemoryTask", "Run", "Outcome",
           "copy_memory", "memory_task", "train_until_solved", "load_results", "outcomes", "adding_memory_profile"]

COPY_BLANK = 0
"""Token and target "blank" of :func:`copy_memory`; the symbols are ``1 .. symbols`` and the
delimiter ("repeat now") is ``symbols + 1``."""


def copy_memory(n: int, delay: int, rng: np.random.Generator, symbols: int = 8,
                length: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """The copying memory problem of Arjovsky et al. (2016) (chapter 10).

    The input is ``length`` symbols drawn uniformly from ``1 .. symbols``, then ``delay - 1``
    blanks (token 0), a delimiter (token ``symbols + 1``) and ``length`` more blanks:
    :math:`T = \\text{delay} + 2\\,\\text{length}` steps in all. The target is blank for the first
    :math:`\\text{delay} + \\text{length}` steps and the input symbols, in order, for the last
    ``length``: the network must hold every symbol for :math:`\\text{delay} + \\text{length}` steps.
    A network that remembers nothing does best by saying "blank" and then guessing, with a
    cross-entropy of :math:`\\text{length} \\cdot \\log(\\text{symbols}) / T` nats per step.

    Args:
        n: number of sequences :math:`B`.
        delay: steps from the last symbol to the delimiter, :math:`\\ge 1`.
        rng: the random generator.
        symbols: size of the alphabet.
        length: symbols to remember.

    Returns:
        ``(tokens, targets)``: integer inputs :math:`(T, B)` in ``range(symbols + 2)`` and
        targets :math:`(T, B)` in ``range(symbols + 1)``.
    """
    if delay < 1 or symbols < 1 or length < 1:
        raise ValueError(f"copy_memory: need delay, symbols and length >= 1, got "
                         f"delay={delay}, symbols={symbols}, length={length}")
    steps = delay + 2 * length
    data = rng.integers(1, symbols + 1, size=(length, n))
    tokens = np.full((steps, n), COPY_BLANK, dtype=np.int64)
    tokens[:length] = data
    tokens[length + delay - 1] = symbols + 1
    targets = np.full((steps, n), COPY_BLANK, dtype=np.int64)
    targets[-length:] = data
    return tokens, targets


class MemoryTask:
    """A long-range task: draw batches, score outputs, say when it is solved.

    Attributes:
        name: ``"adding"``, ``"copy"`` or ``"agreement"``.
        length: the task's size: the sequence length :math:`T` (adding), the delay (copy), the gap
            (agreement).
        input_size: features per step of the inputs :meth:`sample` returns.
        output_size: outputs per prediction.
        readout: ``"last"`` or ``"every"`` (see :class:`~minigrad.models.RecurrentReadout`).
        threshold: the task counts as solved when :meth:`error` is at most this.
        baseline: the error of the best prediction that remembers nothing.
        steps: time steps per sequence.
    """

    name: str
    input_size: int
    output_size: int
    readout: str
    threshold: float
    baseline: float

    def __init__(self, length: int) -> None:
        if length < 1:
            raise ValueError(f"{type(self).__name__}: length must be at least 1, got {length}")
        self.length = length

    @property
    def steps(self) -> int:
        return self.length

    def sample(self, n: int, rng: np.random.Generator, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)``: inputs :math:`(T, n, D)` and targets for ``n`` fresh sequences."""
        raise NotImplementedError

    def loss(self, outputs: Tensor, y: np.ndarray) -> Tensor:
        """The training loss of ``outputs`` against the targets (a scalar tensor)."""
        raise NotImplementedError

    def error(self, outputs: Tensor, y: np.ndarray) -> float:
        """How far from solved: mean squared error (adding) or fraction of wrong answers."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.length})"


class AddingTask(MemoryTask):
    """The adding problem, :func:`minigrad.data.adding_problem`, at length :math:`T` (chapter 10).

    Error: mean squared error. Always answering 1 gives :math:`2/12 \\approx 0.167` (the baseline);
    remembering only the second marked value, :math:`1/12 \\approx 0.083`; solved at 0.01.
    """

    name, input_size, output_size, readout = "adding", 2, 1, "last"
    threshold, baseline = 0.01, 1 / 6

    def sample(self, n, rng, dtype=np.float32):
        return adding_problem(n, self.length, rng, dtype)

    def loss(self, outputs, y):
        return ((outputs[:, 0] - Tensor(y)) ** 2).mean()

    def error(self, outputs, y):
        return float(np.mean((outputs.data[:, 0] - y) ** 2))


class CopyTask(MemoryTask):
    """The copying memory problem, :func:`copy_memory`, with a delay of ``length`` steps (chapter 10).

    Inputs are one-hot codes. Loss: cross-entropy at every step. Error: the fraction of the
    repeated symbols the network gets wrong (arg-max); guessing gives :math:`1 - 1/8`; solved at 0.01.
    """

    name, readout = "copy", "every"
    threshold = 0.01

    def __init__(self, length: int, symbols: int = 8, remember: int = 10) -> None:
        super().__init__(length)
        self.symbols, self.remember = symbols, remember
        self.input_size, self.output_size = symbols + 2, symbols + 1
        self.baseline = 1 - 1 / symbols

    @property
    def steps(self) -> int:
        return self.length + 2 * self.remember

    def sample(self, n, rng, dtype=np.float32):
        tokens, targets = copy_memory(n, self.length, rng, self.symbols, self.remember)
        return F.one_hot(tokens, self.input_size, dtype=dtype).data, targets

    def loss(self, outputs, y):
        return F.cross_entropy(outputs.reshape(-1, self.output_size), y.reshape(-1))

    def error(self, outputs, y):
        recalled = outputs.data[-self.remember:].argmax(axis=-1)
        return float(np.mean(recalled != y[-self.remember:]))


class AgreementTask(MemoryTask):
    """The agreement task, :func:`minigrad.data.agreement_task`, with ``length`` words between subject and verb (chapter 8).

    Inputs are one-hot codes of the 10 tokens. Loss: cross-entropy. Error: the fraction of wrong
    answers; guessing gives 0.5; solved at 0.05 (accuracy 0.95).
    """

    name, input_size, output_size, readout = "agreement", 10, 2, "last"
    threshold, baseline = 0.05, 0.5

    @property
    def steps(self) -> int:
        return self.length + 1

    def sample(self, n, rng, dtype=np.float32):
        tokens, labels = agreement_task(n, self.length, rng)
        return F.one_hot(tokens, self.input_size, dtype=dtype).data, labels

    def loss(self, outputs, y):
        return F.cross_entropy(outputs, y)

    def error(self, outputs, y):
        return float(np.mean(outputs.data.argmax(axis=-1) != y))


_TASKS = {task.name: task for task in (AddingTask, CopyTask, AgreementTask)}


def memory_task(name: str, length: int) -> MemoryTask:
    """The task called ``name`` (``"adding"``, ``"copy"``, ``"agreement"``) at size ``length``."""
    if name not in _TASKS:
        raise ValueError(f"memory_task: name must be one of {tuple(_TASKS)}, got {name!r}")
    return _TASKS[name](length)


@dataclass
class Run:
    """One training run of :func:`train_until_solved`.

    Attributes:
        task, length, cell, seed, lr, lstm_init: what was trained (``lstm_init`` is the forget
            bias, or ``"chrono"``; ``None`` for other cells).
        solved: the validation error reached the task's threshold within the budget.
        steps: steps taken: to the solution if ``solved``, else the whole budget.
        batch: sequences per step (so ``steps * batch`` sequences were seen).
        curve: ``(step, validation error)`` after every evaluation, the first at step 0.
        test_error: the error of the final network on held-out test sequences.
        other_test_errors: the final network's test error on the same task at other sizes
            (``other_lengths``), keyed by size: does what it learned carry over to another gap?
        seconds: wall-clock time.
        model: the trained network (not stored by :meth:`as_dict`).
    """

    task: str
    length: int
    cell: str
    seed: int
    lr: float
    lstm_init: float | str | None
    solved: bool
    steps: int
    batch: int
    curve: list[tuple[int, float]]
    test_error: float
    seconds: float
    other_test_errors: dict[int, float] = field(default_factory=dict)
    model: RecurrentReadout | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The run as plain numbers and strings (for JSON), without the model; the curve's errors
        are rounded to four significant digits."""
        record = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "model"}
        record["curve"] = [[int(step), float(f"{value:.4g}")] for step, value in self.curve]
        record["other_test_errors"] = {str(size): float(error) for size, error in self.other_test_errors.items()}
        return record


def _chunked_error(task: MemoryTask, model: RecurrentReadout, x: np.ndarray, y: np.ndarray,
                   chunk: int = 250) -> float:
    """The task's error on many sequences, computed in chunks (the sequence counts as the unit)."""
    total = 0.0
    for start in range(0, x.shape[1], chunk):
        part = slice(start, start + chunk)
        total += task.error(model(x[:, part]), y[..., part] if y.ndim > 1 else y[part]) * x[:, part].shape[1]
    return total / x.shape[1]


def train_until_solved(task: MemoryTask, cell: str, seed: int, *, lr: float, hidden: int = 64,
                       batch: int = 64, max_steps: int = 10_000, every: int = 100,
                       lstm_init: float | str = 1.0, clip_norm: float = 1.0, n_validation: int = 1000,
                       n_test: int = 1000, other_lengths: tuple[int, ...] = (), dtype=np.float32,
                       keep_model: bool = False) -> Run:
    """Train a recurrent network on ``task`` until it is solved or the budget is spent (chapters 8 to 10).

    The network is a :class:`~minigrad.models.RecurrentReadout` (``cell`` with ``hidden`` units
    and a linear read-out). Each step draws ``batch`` fresh sequences and takes one Adam step
    (learning rate ``lr``) on :meth:`MemoryTask.loss`, with the gradient clipped to norm
    ``clip_norm`` (chapter 8). Every ``every`` steps the error on ``n_validation`` held-out
    sequences is measured; training stops as soon as it is at most ``task.threshold`` (solved) or
    after ``max_steps`` steps. The final network is then scored on ``n_test`` other sequences, and
    on ``n_test`` sequences of the same task at each size in ``other_lengths`` (a network that has
    learned to remember answers at any gap; one that has learned a trick tied to one length does not).

    The seed gives three independent streams (:func:`minigrad.experiments.generators`): the
    initial weights, the training batches, and the validation and test sequences. Two cells trained
    with the same seed therefore see the same data.

    Args:
        task: the task (see :func:`memory_task`).
        cell: ``"rnn"``, ``"gru"`` or ``"lstm"``.
        seed: the run's seed.
        lr: Adam's learning rate.
        hidden: hidden units :math:`H`.
        batch: sequences per step.
        max_steps: the budget, in steps.
        every: steps between validations.
        lstm_init: for an LSTM, the forget-gate bias (:func:`~minigrad.nn.init.lstm_forget_bias_`)
            or ``"chrono"`` (:func:`~minigrad.nn.init.lstm_chrono_init_` with the task's sequence
            length as the longest delay).
        clip_norm: the gradient-norm threshold.
        n_validation: validation sequences.
        n_test: test sequences.
        other_lengths: other sizes of the task to test the final network on.
        dtype: the network's float type (``np.float32`` is faster).
        keep_model: return the trained network in :attr:`Run.model`.

    Returns:
        The :class:`Run`.
    """
    if lstm_init != "chrono" and not isinstance(lstm_init, (int, float)):
        raise ValueError(f"train_until_solved: lstm_init must be a forget bias or 'chrono', got {lstm_init!r}")
    start = time.perf_counter()
    init_rng, data_rng, eval_rng = generators(seed, 3)
    model = RecurrentReadout(task.input_size, hidden, task.output_size, cell, task.readout,
                             rng=init_rng, dtype=dtype)
    if cell == "lstm":
        if lstm_init == "chrono":
            lstm_chrono_init_(model, max_delay=task.steps, rng=init_rng)
        else:
            lstm_forget_bias_(model, float(lstm_init))
    x_valid, y_valid = task.sample(n_validation, eval_rng, dtype)
    x_test, y_test = task.sample(n_test, eval_rng, dtype)

    def batch_loss(_step):
        x, y = task.sample(batch, data_rng, dtype)
        return task.loss(model(x), y)

    def validation_error():
        return _chunked_error(task, model, x_valid, y_valid)

    with minigrad.no_grad():
        curve = [(0, validation_error())]
    history = fit(batch_loss, model, range(max_steps), lr=lr, clip_norm=clip_norm,
                  evaluate=validation_error, every=every, stop_below=task.threshold)
    curve += [(step, value) for step, value in history.evaluations if step > 0]
    with minigrad.no_grad():
        test_error = _chunked_error(task, model, x_test, y_test)
        other_test_errors = {}
        for length in other_lengths:
            other = type(task)(length)
            other_test_errors[length] = _chunked_error(other, model, *other.sample(n_test, eval_rng, dtype))
    if not math.isfinite(test_error):
        raise ValueError(f"train_until_solved: the test error of {cell} on {task} is {test_error}")
    return Run(task=task.name, length=task.length, cell=cell, seed=seed, lr=lr,
               lstm_init=lstm_init if cell == "lstm" else None,
               solved=bool(history.best_value <= task.threshold), steps=history.steps, batch=batch,
               curve=curve, test_error=test_error, seconds=time.perf_counter() - start,
               other_test_errors=other_test_errors, model=model if keep_model else None)


def load_results(path: str | Path) -> dict[str, Any]:
    """Read a results file of ``scripts/long_range.py``: ``task``, ``settings``, ``tuning``,
    ``chosen_lr`` (the learning rate of each cell) and ``runs`` (one dict per :class:`Run`)."""
    results = json.loads(Path(path).read_text())
    missing = {"task", "settings", "tuning", "chosen_lr", "runs"} - set(results)
    if missing:
        raise ValueError(f"load_results: {path} is not a results file of scripts/long_range.py "
                         f"(missing {sorted(missing)})")
    return results


@dataclass(frozen=True)
class Outcome:
    """The runs of one configuration (task size, cell, LSTM initialisation) over seeds.

    Attributes:
        solved: how many runs reached the threshold; ``runs``: how many there were.
        steps: the steps each *solved* run took (empty if none solved).
        test: the test error of every run, as a :class:`~minigrad.experiments.Spread` over seeds.
    """

    solved: int
    runs: int
    steps: tuple[int, ...]
    test: Spread

    @property
    def rate(self) -> float:
        """The success rate, solved runs over runs."""
        return self.solved / self.runs

    @property
    def median_steps(self) -> float:
        """The median steps to solve over the solved runs (``nan`` if none solved)."""
        return float(np.median(self.steps)) if self.steps else math.nan


def outcomes(runs: list[dict[str, Any]]) -> dict[tuple[int, str, str], Outcome]:
    """Group runs (dicts of :meth:`Run.as_dict`) by ``(length, cell, str(lstm_init))`` and summarise each group.

    ``str(lstm_init)`` is ``"1.0"`` for an LSTM with forget bias 1, ``"chrono"`` for chrono
    initialisation and ``"None"`` for other cells.
    """
    groups: dict[tuple[int, str, str], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["length"], run["cell"], str(run["lstm_init"])), []).append(run)
    return {key: Outcome(solved=sum(r["solved"] for r in group), runs=len(group),
                         steps=tuple(r["steps"] for r in group if r["solved"]),
                         test=Spread(tuple(r["test_error"] for r in group), tuple(r["seed"] for r in group)))
            for key, group in sorted(groups.items())}


def adding_memory_profile(layer, x: np.ndarray) -> dict[str, np.ndarray]:
    """How each unit of a trained GRU or LSTM layer holds the first marked value of the adding problem (chapters 9 and 10).

    Runs the layer over a batch of adding-problem sequences (:func:`minigrad.analysis.gate_trace`)
    and measures, per unit:

    - ``"corr"``: the correlation, over the batch, between the first marked value and the unit's
      memory just before the second marker (the state :math:`h` of a GRU, the cell :math:`c` of an
      LSTM);
    - ``"keep"``: the mean of the gate that keeps the memory (a GRU's :math:`z = 1 - u`, an LSTM's
      forget gate :math:`f`) over the steps strictly between the two markers;
    - ``"write_first"`` and ``"write_between"``: the mean of the gate that writes (a GRU's update
      gate :math:`u`, an LSTM's input gate :math:`i`) at the first marker, and between the markers.

    A unit of the constant error carousel has ``corr`` near :math:`\\pm 1`, ``keep`` near 1 and
    ``write_first`` far above ``write_between``.

    Args:
        layer: a one-layer GRU or LSTM trained on the adding problem.
        x: adding-problem inputs :math:`(T, B, 2)` (:func:`minigrad.data.adding_problem`).

    Returns:
        Name to array :math:`(H,)`.
    """
    trace = gate_trace(layer, x)
    gru = "z" in trace
    memory, keep = (trace["h"], trace["z"]) if gru else (trace["c"], trace["f"])
    write = 1 - trace["z"] if gru else trace["i"]
    markers = np.asarray(x)[:, :, 1] > 0
    steps, batch = markers.shape
    rows = np.arange(batch)
    first = markers.argmax(axis=0)
    second = steps - 1 - markers[::-1].argmax(axis=0)
    first_value = np.asarray(x)[first, rows, 0]
    before_second = memory[second - 1, rows]
    centred = before_second - before_second.mean(axis=0)
    value = first_value - first_value.mean()
    corr = (centred * value[:, None]).sum(axis=0) / (
        np.sqrt((centred ** 2).sum(axis=0) * (value ** 2).sum()) + 1e-300)
    t = np.arange(steps)[:, None]
    between = (t > first) & (t < second)
    weights = between[:, :, None] / between.sum()
    return {"corr": corr, "keep": (keep * weights).sum(axis=(0, 1)),
            "write_first": write[first, rows].mean(axis=0),
            "write_between": (write * weights).sum(axis=(0, 1))}
