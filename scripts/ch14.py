"""Chapter 14's sweeps: attention on the copy task, and minGRU against the GRU on the adding problem.

**Attention** (``ch14_attention.json``). For every sequence length and seed, trains chapter 5's
:class:`minigrad.models.EncoderDecoder` without and with attention on the copy task
(:func:`minigrad.seq2seq.train_copy`: GRU encoder and decoder of 32 units, embeddings of 16,
vocabulary of 8 tokens, batches of 64 fresh sequences, Adam, gradients clipped to norm 1) for 600
steps, and records the greedy copies' token accuracy on 1,000 held-out sequences every 200 steps,
and the whole-sequence accuracy at the end.

**minGRU** (``ch14_mingru.json``). For every sequence length and seed, trains
:class:`minigrad.models.RecurrentReadout` with an ``nn.GRU`` and with an ``nn.MinGRU`` layer of 32
units (:func:`minigrad.adding.train_adding`: chapter 10's setting, Adam on batches of 64 fresh
sequences, gradients clipped to norm 1, float32, 600 steps) and
records the mean squared error on 1,000 held-out sequences every 100 steps. (The chapter times the
training steps itself.)

In both, each model's learning rate is first chosen from a small grid by its held-out score with a
tuning seed that is not among the reported seeds. The files go to ``--out`` (default
``book/results``).

    python scripts/ch14.py                    # both sweeps (about an hour on one core)
    python scripts/ch14.py --only attention   # one of them
    python scripts/ch14.py --quick            # seconds: the same files, tiny settings
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from minigrad.adding import train_adding
from minigrad.seq2seq import copy_accuracy, train_copy

ATTENTION = {"full": {"lengths": [5, 10, 20, 40], "seeds": [0, 1, 2], "steps": 600, "every": 200,
                      "learning_rates": [0.01, 0.03], "tuning_length": 10, "tuning_seed": 1000},
             "quick": {"lengths": [4, 6], "seeds": [0, 1], "steps": 20, "every": 10,
                       "learning_rates": [0.01, 0.03], "tuning_length": 4, "tuning_seed": 1000}}
MINGRU = {"full": {"lengths": [100, 400], "seeds": [0, 1, 2, 3, 4], "steps": 600, "every": 100,
                   "learning_rates": [0.01, 0.03, 0.1], "tuning_seed": 1000},
          "quick": {"lengths": [10, 20], "seeds": [0, 1], "steps": 10, "every": 5,
                    "learning_rates": [0.03, 0.1], "tuning_seed": 1000}}
MODELS = {"plain": False, "attention": True}
LAYERS = {"GRU": "gru", "minGRU": "mingru"}  # the name in the results: the cell of RecurrentReadout


def attention_sweep(config: dict) -> dict:
    """Tune, then train both encoder–decoders at every length and seed; the results as a dict."""
    tuning = {}
    for name, attention in MODELS.items():
        tuning[name] = {}
        for lr in config["learning_rates"]:
            model, _, test = train_copy(config["tuning_length"], config["tuning_seed"], attention,
                                        steps=config["steps"], lr=lr)
            tuning[name][str(lr)] = copy_accuracy(model, test)[0]
            print(f"tuning {name:9} lr {lr:<6} token accuracy {tuning[name][str(lr)]:.3f}", flush=True)
    chosen = {name: float(max(grid, key=grid.get)) for name, grid in tuning.items()}
    runs = []
    for length in config["lengths"]:
        for seed in config["seeds"]:
            for name, attention in MODELS.items():
                start = time.perf_counter()
                model, history, test = train_copy(length, seed, attention, steps=config["steps"],
                                                  lr=chosen[name], every=config["every"])
                token, sequence = copy_accuracy(model, test)
                runs.append({"model": name, "length": length, "seed": seed,
                             "steps": [step for step, _ in history.evaluations],
                             "token_accuracy": [1.0 - error for _, error in history.evaluations],
                             "sequence_accuracy": sequence, "seconds": time.perf_counter() - start})
                print(f"length {length:3} seed {seed} {name:9} token {token:.3f} sequence {sequence:.3f} "
                      f"({runs[-1]['seconds']:.0f} s)", flush=True)
    return {"config": config, "tuning": tuning, "learning_rates": chosen, "runs": runs}


def mingru_sweep(config: dict) -> dict:
    """Tune at the shortest length, then train the GRU and minGRU at every length and seed."""
    tuning = {}
    for layer in LAYERS:
        tuning[layer] = {}
        for lr in config["learning_rates"]:
            _, history, _ = train_adding(LAYERS[layer], config["lengths"][0], config["tuning_seed"],
                                         steps=config["steps"], lr=lr)
            tuning[layer][str(lr)] = history.evaluations[-1][1]
            print(f"tuning {layer:6} lr {lr:<5} test MSE {tuning[layer][str(lr)]:.4f}", flush=True)
    chosen = {layer: float(min(grid, key=grid.get)) for layer, grid in tuning.items()}
    runs = []
    for length in config["lengths"]:
        for seed in config["seeds"]:
            for layer in LAYERS:
                _, history, _ = train_adding(LAYERS[layer], length, seed, steps=config["steps"], lr=chosen[layer],
                                             every=config["every"])
                runs.append({"layer": layer, "length": length, "seed": seed,
                             "steps": [step for step, _ in history.evaluations],
                             "test_mse": [mse for _, mse in history.evaluations]})
                print(f"length {length} seed {seed} {layer:6} test MSE {runs[-1]['test_mse'][-1]:.5f}", flush=True)
    return {"config": config, "tuning": tuning, "learning_rates": chosen, "runs": runs}


SWEEPS = {"attention": (attention_sweep, ATTENTION), "mingru": (mingru_sweep, MINGRU)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny settings, for the tests")
    parser.add_argument("--only", choices=tuple(SWEEPS), help="run one sweep")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "book" / "results")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, (sweep, configs) in SWEEPS.items():
        if args.only in (None, name):
            results = sweep(configs["quick" if args.quick else "full"])
            (args.out / f"ch14_{name}.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
