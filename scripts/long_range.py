"""Long-range memory: vanilla RNN, GRU and LSTM on the agreement task, the adding problem and the copying memory problem.

The results of chapters 8 to 10. Every run is :func:`minigrad.longrange.train_until_solved`: fresh
batches, Adam with the gradient clipped to norm 1, a validation check every few steps, stop when
the task is solved or the budget is spent. The script

1. tunes the learning rate of each cell on each task: a grid of rates, one seed (seed 0), at the
   shortest length; the rate that solves the task in the fewest steps wins, or, if none solves
   it, the one with the lowest validation error at the end. The rate is then fixed for every
   length and seed of that task (the copying problem takes the rates of the adding problem);
2. runs every task, length and cell over the seeds (seeds 1 and up, never the tuning seed), with
   the LSTM's forget-gate bias at 1 and, where the plan says so, also with chrono initialisation
   (the remedy chapters 8 and 10 measure; it uses the LSTM's tuned rate);
3. keeps the trained networks of one seed of the adding problem, for the chapters' traces of gates
   and states.

It writes into ``--out`` (default ``book/results``):

- ``long_range_<task>.json`` for each task (``agreement``, ``adding``, ``copy``): the settings, the
  learning-rate grid and the rates chosen, and every run (solved or not, steps, validation curve,
  test error, seconds);
- ``long_range_weights.npz``: the trained GRU and LSTM (``gru.<parameter>``, ``lstm.<parameter>``).

A full run takes hours on a small machine (``make models``). ``--tasks``, ``--lengths``, ``--cells``
and ``--seeds`` run only part of it, so that several processes can share the work (each saves its runs
merged with what the others saved), and ``--resume`` skips the runs already in a task's file, so an
interrupted run can go on. ``--quick`` runs tiny versions
of everything in seconds and writes files of the same names and format.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from minigrad.longrange import load_results, memory_task, train_until_solved  # noqa: E402

CELLS = ("rnn", "gru", "lstm")

FULL = {
    "hidden": 64, "batch": 64, "every": 50, "n_validation": 500, "n_test": 2000,
    "lr_grid": [1e-3, 3e-3, 1e-2, 3e-2],
    # task: {length: budget in steps}; the first length is the one the rates are tuned on
    "tasks": {"agreement": {20: 3000, 30: 3000, 40: 3000, 50: 3000, 75: 3000, 100: 3000},
              "adding": {50: 5000, 100: 10000, 200: 10000},
              "copy": {50: 3000}},
    "lr_from": {"copy": "adding"},
    "agreement_hidden": 32,
    "agreement_other_gaps": ["gap + 1", "2 gap"],
    "seeds": {"agreement": [1, 2, 3, 4, 5], "adding": [1, 2, 3], "copy": [1, 2, 3]},
    "chrono": {"agreement": [20, 30, 40, 50, 75, 100], "adding": [200], "copy": [50]},
    "keep": {"task": "adding", "length": 100, "seed": 1},
}
QUICK = {
    "hidden": 8, "batch": 16, "every": 10, "n_validation": 50, "n_test": 50,
    "lr_grid": [1e-2, 3e-2],
    "tasks": {"agreement": {3: 30, 5: 30}, "adding": {10: 30, 20: 30}, "copy": {5: 30}},
    "lr_from": {"copy": "adding"},
    "agreement_hidden": 8,
    "agreement_other_gaps": ["gap + 1", "2 gap"],
    "seeds": {"agreement": [1, 2], "adding": [1, 2], "copy": [1, 2]},
    "chrono": {"adding": [20]},
    "keep": {"task": "adding", "length": 20, "seed": 1},
}


def key(record: dict) -> tuple:
    """What identifies a run: task, length, cell, LSTM initialisation, seed, learning rate."""
    return (record["task"], record["length"], record["cell"], str(record["lstm_init"]), record["seed"],
            record["lr"])


class Results:
    """The runs so far, saved after every run so that ``--resume`` can go on after an interruption."""

    def __init__(self, path: Path, plan: dict, task: str, resume: bool) -> None:
        self.path = path
        settings = {k: v for k, v in plan.items() if k not in ("tasks", "chrono", "seeds", "lr_from")}
        settings.update(budgets={str(length): steps for length, steps in plan["tasks"][task].items()},
                        chrono=plan["chrono"].get(task, []), seeds=plan["seeds"][task],
                        lr_from=plan["lr_from"].get(task, task))
        self.data = {"task": task, "settings": settings, "tuning": [], "chosen_lr": {}, "runs": [],
                     "machine": {"python": platform.python_version(), "numpy": np.__version__,
                                 "processor": platform.machine()}}
        if resume and path.exists():
            old = json.loads(path.read_text())
            self.data["tuning"], self.data["runs"] = old["tuning"], old["runs"]
        elif path.exists():
            path.unlink()  # a fresh run starts from nothing (processes that share a task use --resume)
        self.done = {key(r) for r in self.data["tuning"] + self.data["runs"]}

    def save(self) -> None:
        """Write the results, merged with what other processes running the same task have written."""
        lock = Path(tempfile.gettempdir()) / f"{self.path.name}.{abs(hash(str(self.path.resolve())))}.lock"
        with open(lock, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            if self.path.exists():
                stored = json.loads(self.path.read_text())
                for section in ("tuning", "runs"):
                    mine = {key(r) for r in self.data[section]}
                    self.data[section] += [r for r in stored[section] if key(r) not in mine]
                    self.done |= {key(r) for r in self.data[section]}
            partial = self.path.with_suffix(".partial")
            partial.write_text(json.dumps(self.data, indent=1, default=_plain) + "\n")
            partial.replace(self.path)


def _plain(value):
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in JSON")


def run_one(results: Results, plan: dict, section: str, task_name: str, length: int, cell: str, seed: int,
            lr: float, lstm_init: float | str = 1.0, keep_model: bool = False):
    """Train one configuration (or find it in the results) and return its record and model."""
    record_key = (task_name, length, cell, str(lstm_init if cell == "lstm" else None), seed, lr)
    if record_key in results.done and not keep_model:
        return next(r for r in results.data[section] if key(r) == record_key), None
    agreement = task_name == "agreement"
    run = train_until_solved(memory_task(task_name, length), cell, seed, lr=lr,
                             hidden=plan["agreement_hidden"] if agreement else plan["hidden"],
                             batch=plan["batch"], max_steps=plan["tasks"][task_name][length],
                             every=plan["every"], lstm_init=lstm_init, n_validation=plan["n_validation"],
                             n_test=plan["n_test"], other_lengths=(length + 1, 2 * length) if agreement else (),
                             keep_model=keep_model)
    record = run.as_dict()
    if record_key not in results.done:
        results.data[section].append(record)
        results.done.add(record_key)
        results.save()
    print(f"{section:6} {task_name:9} T={length:<4} {cell:4} {str(record['lstm_init']):6} seed={seed} "
          f"lr={lr:<6g} solved={run.solved!s:5} steps={run.steps:<6} test={run.test_error:.4f} "
          f"({run.seconds:.0f} s)", flush=True)
    return record, run.model


def choose_lr(candidates: list[dict]) -> float:
    """The rate that solved in the fewest steps; if none solved, the lowest final validation error."""
    solved = [r for r in candidates if r["solved"]]
    if solved:
        return min(solved, key=lambda r: (r["steps"], r["lr"]))["lr"]
    return min(candidates, key=lambda r: (r["curve"][-1][1], r["lr"]))["lr"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny runs, seconds in all")
    parser.add_argument("--out", type=Path, default=ROOT / "book" / "results")
    parser.add_argument("--resume", action="store_true", help="skip the runs already in the output files")
    parser.add_argument("--tasks", nargs="+", choices=list(FULL["tasks"]), default=list(FULL["tasks"]))
    parser.add_argument("--lengths", nargs="+", type=int, help="run only these task sizes (after tuning)")
    parser.add_argument("--cells", nargs="+", choices=CELLS, help="run only these cells (after tuning)")
    parser.add_argument("--seeds", nargs="+", type=int, help="run only these seeds (after tuning)")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for task_name in args.tasks:
        run_task(plan, task_name, args.out, args.resume, args.lengths, args.cells, args.seeds)
    print(f"done in {time.perf_counter() - start:.0f} s")
    return 0


def run_task(plan: dict, task_name: str, out: Path, resume: bool, only_lengths=None, only_cells=None,
             only_seeds=None) -> None:
    """Tune (or take the rates of another task), then run every length, cell and seed of one task;
    write its files. ``only_lengths``, ``only_cells`` and ``only_seeds`` restrict the runs (not the
    tuning), so that several processes can share one task."""
    results = Results(out / f"long_range_{task_name}.json", plan, task_name, resume)
    lengths = plan["tasks"][task_name]
    source = plan["lr_from"].get(task_name)
    if source:
        results.data["chosen_lr"] = dict(load_results(out / f"long_range_{source}.json")["chosen_lr"])
    else:
        tune_length = next(iter(lengths))
        for cell in CELLS:
            tried = [run_one(results, plan, "tuning", task_name, tune_length, cell, 0, lr)[0]
                     for lr in plan["lr_grid"]]
            results.data["chosen_lr"][cell] = choose_lr(tried)
    results.save()

    keep = plan["keep"]
    weights_path = out / "long_range_weights.npz"
    weights = {}
    if task_name == keep["task"] and resume and weights_path.exists():
        with np.load(weights_path) as stored:
            weights = dict(stored)
    for length in lengths:
        if only_lengths and length not in only_lengths:
            continue
        variants = [(cell, 1.0) for cell in CELLS]
        if length in plan["chrono"].get(task_name, []):
            variants.append(("lstm", "chrono"))
        for cell, lstm_init in variants:
            if only_cells and cell not in only_cells:
                continue
            lr = results.data["chosen_lr"][cell]
            for seed in plan["seeds"][task_name]:
                if only_seeds and seed not in only_seeds:
                    continue
                keep_model = (cell in ("gru", "lstm") and lstm_init == 1.0 and task_name == keep["task"]
                              and length == keep["length"] and seed == keep["seed"]
                              and not any(name.startswith(cell + ".") for name in weights))
                _, model = run_one(results, plan, "runs", task_name, length, cell, seed, lr, lstm_init,
                                   keep_model=keep_model)
                if model is not None:
                    weights.update({f"{cell}.{name}": value for name, value in model.state_dict().items()})
                    np.savez_compressed(weights_path, **weights)
    results.data["seconds"] = sum(r["seconds"] for r in results.data["tuning"] + results.data["runs"])
    results.save()
    print(f"{task_name}: the runs took {results.data['seconds']:.0f} s in all", flush=True)


if __name__ == "__main__":
    sys.exit(main())
