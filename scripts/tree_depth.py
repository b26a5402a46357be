"""Tree networks and sequence LSTMs on nested min/max expressions, trained to convergence over seeds (chapter 11).

For every seed, one training set of expressions of depths 1 to 4, a validation set of the same
depths and a test set for every depth from 1 to 8 are drawn from the seed's data stream
(``minigrad.experiments.generators``); every model of the seed trains on exactly these data, from
its own initial weights drawn from the seed's initialisation stream. The models:

- ``TreeRNN``: ``nn.TreeRNN`` (one tanh layer per node), H = 16;
- ``Tree-LSTM, child-sum`` and ``Tree-LSTM, N-ary``: ``nn.TreeLSTM`` without and with
  ``n_ary=2``, H = 16;
- ``sequence LSTM, H = 16``: an ``RNNTagger`` with ``nn.LSTM`` reading the parenthesised tokens
  (``--models`` can add ``"sequence LSTM, H = 64"`` or any other size).

Training (``minigrad.expressions.train``): Adam on batches of 50 expressions of similar length, at
most ``--epochs`` passes, the validation loss after every pass, stopping after ``--patience``
passes without improvement and keeping the best parameters. The validation loss of a tree model
keeps falling, with spikes, for 30 passes or more, so the patience is long (with a patience of 3,
the TreeRNN of seed 0 stopped at a spike of the validation loss and reached 0.95 at depth 8; trained for
all 40 passes it reached 0.99). The learning rate of each model is chosen first on
the first seed from ``--learning-rates`` by the validation loss at the end of a shorter run
(``--tune-epochs`` passes), then used for every seed (0.003 was the slowest for every model in a
first trial, so the default grid is 0.01 and 0.03).

Writes ``tree_depth.json`` into ``--out`` (again after every seed, so that a run cut short keeps its complete seeds): the settings, the chosen learning rates with the
validation losses behind them, and per model and seed the test accuracy at every depth, the
validation loss, the passes taken and the training time; for the tree models also the accuracy of
every labelled node grouped by its height in the deepest test set (where errors start), and the
overlap between test and training expressions per depth.

Usage: ``python scripts/tree_depth.py`` (``--jobs N`` runs N trainings at a time; ``--resume``
finishes the seeds missing from an earlier results file), ``--quick`` (seconds).
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from minigrad import expressions
from minigrad.experiments import generators
from minigrad.expressions import MODELS
from minigrad.models import TreeClassifier

ROOT = Path(__file__).resolve().parent.parent


@functools.lru_cache(maxsize=2)
def seed_data(seed: int, sizes: tuple, train_depths: tuple, test_depths: tuple):
    """The expressions of one seed, drawn from its data stream (once per process)."""
    return expressions.draw(generators(seed)[1], dict(sizes), train_depths, test_depths)


def run(name: str, seed: int, data, args, lr: float, epochs: int) -> dict:
    """Train one model on one seed's data and measure it."""
    train, validation, tests = data
    init_rng, _ = generators(seed)
    order_rng = np.random.default_rng([seed, MODELS.index(name)])  # batch order: the same for a model and seed
    model = expressions.build(name, init_rng, args.hidden)
    start = time.process_time()
    history = expressions.train(model, train, validation, order_rng, epochs=epochs, lr=lr, patience=args.patience)
    seconds = time.process_time() - start
    per_pass = len(expressions.length_batches(train, 50))
    result = {"accuracy": {str(d): a for d, a in expressions.accuracy_by_depth(model, tests).items()},
              "validation_loss": history.best_value, "validation_curve": [v for _, v in history.evaluations],
              "passes": history.steps // per_pass,
              "best_pass": history.best_step // per_pass, "cpu_seconds": seconds,
              "parameters": int(sum(p.data.size for p in model.parameters()))}
    if isinstance(model, TreeClassifier):
        result["node_accuracy_by_height"] = {str(h): a for h, a in
                                             expressions.node_accuracy_by_height(model, tests[max(tests)]).items()}
    return result


def measure(task) -> dict:
    """One training run in a worker: ``(name, seed, lr, epochs, args, data)``, ``data(seed)`` the expressions."""
    name, seed, lr, epochs, args, data = task
    return run(name, seed, data(seed), args, lr, epochs)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a run of seconds with the same output files")
    parser.add_argument("--out", type=Path, default=ROOT / "book" / "results")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--patience", type=int, default=10)
    parser.add_argument("--tune-epochs", type=int, default=4)
    parser.add_argument("--learning-rates", type=float, nargs="+", default=[0.01, 0.03])
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--train", type=int, default=8000)
    parser.add_argument("--models", nargs="+", default=list(MODELS[:4]))
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (one training run each)")
    parser.add_argument("--resume", action="store_true",
                        help="keep the learning rates and the finished seeds of the results file in --out")
    args = parser.parse_args(argv)
    sizes = {"train": args.train, "validation": 500, "test": 400}
    train_depths, test_depths = [1, 2, 3, 4], list(range(1, 9))
    if args.quick:
        args.seeds, args.epochs, args.tune_epochs, args.learning_rates = [0, 1], 1, 1, [0.01]
        sizes = {"train": 60, "validation": 20, "test": 10}
    args.out.mkdir(parents=True, exist_ok=True)
    previous = earlier_results(args, sizes) if args.resume else None

    data = functools.partial(seed_data, sizes=tuple(sizes.items()), train_depths=tuple(train_depths),
                             test_depths=tuple(test_depths))
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        if previous:
            tuning = previous["tuning"]
        else:
            tasks = [(name, lr) for name in args.models for lr in args.learning_rates]
            losses = pool.map(measure, [(name, args.seeds[0], lr, args.tune_epochs, args, data) for name, lr in tasks])
            tuning = {name: {} for name in args.models}
            for (name, lr), result in zip(tasks, losses):
                tuning[name][str(lr)] = result["validation_loss"]
        chosen = {name: float(min(tuning[name], key=tuning[name].get)) for name in args.models}
        for name in args.models:
            print(f"{name}: learning rate {chosen[name]} (validation losses {tuning[name]})", flush=True)
        results = {name: dict(previous["results"][name]) if previous else {} for name in args.models}
        tasks = [(name, seed) for seed in args.seeds for name in args.models if str(seed) not in results[name]]
        runs = pool.map(measure, [(name, seed, chosen[name], args.epochs, args, data) for name, seed in tasks])
        for (name, seed), result in zip(tasks, runs):
            results[name][str(seed)] = result
            accuracy = result["accuracy"]
            print(f"seed {seed} {name:<22} " + " ".join(f"{accuracy[str(d)]:.3f}" for d in test_depths)
                  + f"  ({result['cpu_seconds']:.0f} s)", flush=True)
            if all(str(seed) in results[m] for m in args.models):  # a seed is complete: save what we have
                done = [s for s in args.seeds if all(str(s) in results[m] for m in args.models)]
                write(args, sizes, train_depths, test_depths, done, chosen, tuning, data, results)


def earlier_results(args, sizes) -> dict:
    """The results file of an earlier run with the same settings, whose finished seeds ``--resume`` keeps."""
    path = args.out / "tree_depth.json"
    if not path.exists():
        raise SystemExit(f"--resume: no earlier results in {path}")
    previous = json.loads(path.read_text())
    settings = previous["settings"]
    same = {**sizes, "hidden": args.hidden, "epochs": args.epochs, "tune_epochs": args.tune_epochs,
            "learning_rates": args.learning_rates, "patience": args.patience}
    differs = {key: (settings.get(key), value) for key, value in same.items() if settings.get(key) != value}
    if differs or sorted(previous["results"]) != sorted(args.models):
        raise SystemExit(f"--resume: {path} was made with other settings or models: {differs}")
    return previous


def write(args, sizes, train_depths, test_depths, seeds, chosen, tuning, data, results) -> None:
    """Write ``tree_depth.json`` with the runs of the completed ``seeds`` (so a long run can be cut short)."""
    overlap = {str(seed): {str(d): v for d, v in expressions.overlap(data(seed)[0], data(seed)[2]).items()}
               for seed in seeds}
    summary = {"settings": {**sizes, "train_depths": train_depths, "test_depths": test_depths,
                            "hidden": args.hidden, "epochs": args.epochs, "tune_epochs": args.tune_epochs,
                            "learning_rates": args.learning_rates, "batch_size": 50, "patience": args.patience,
                            "seeds": seeds, "quick": args.quick},
               "learning_rate": chosen, "tuning": tuning,
               "overlap": overlap,
               "results": {name: {str(s): runs[str(s)] for s in seeds} for name, runs in results.items()}}
    (args.out / "tree_depth.json").write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
