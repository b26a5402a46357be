"""Chapter 7's pooling comparison: learning curves of every pooling on the keyword task, over seeds.

Each run draws its own keyword sequences (10 to 40 tokens, one of four keywords hidden among 20
fillers; 1,500 for training, 300 for validation, 500 for testing), builds a
:class:`minigrad.models.PooledClassifier` (embeddings of size 8, an Elman layer of 16 units per
direction) and trains it with Adam (learning rate 0.01, gradient norm clipped to 1) on batches of
50 for a fixed number of epochs, measuring the validation accuracy after every epoch. The
parameters of the best validation accuracy are kept and scored on the test sequences, overall and
by the keyword's distance from the end of its sequence.

Every pooling of :func:`minigrad.models.pool_states` is run on the same bidirectional layer (so
the poolings differ in nothing else), and last, mean and max also on a one-directional layer.

Writes ``ch07_pooling.json`` into ``--out`` (default ``book/results``): the settings and, for
every configuration and seed, the validation accuracy after each epoch, the test accuracy, and
the test accuracy and count in each distance bin. ``--quick`` runs two seeds for two epochs.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import minigrad
from minigrad.data import keyword_sequences, pad_sequences
from minigrad.experiments import generators
from minigrad.functional import cross_entropy
from minigrad.models import PooledClassifier
from minigrad.training import fit, minibatches

NAME = "ch07_pooling"
CONFIGURATIONS = [("last", False), ("mean", False), ("max", False),
                  ("last", True), ("mean", True), ("max", True), ("ends", True)]
DISTANCE_BINS = [0, 10, 20, 30, 40]


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a run of seconds, same outputs")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "book" / "results")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--epochs", type=int, default=30)
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.seeds, arguments.epochs = arguments.seeds[:2], 2
    return arguments


def keyword_batch(sequences, labels):
    """Padded tokens (T, B), the labels and the lengths of a list of keyword sequences."""
    tokens, lengths = pad_sequences(sequences, pad_value=0)
    return tokens, np.asarray(labels), lengths


def run(seed: int, pooling: str, bidirectional: bool, epochs: int) -> dict:
    init_rng, data_rng = generators(seed)
    sequences, labels, positions = keyword_sequences(2300, data_rng, min_length=10, max_length=40)
    valid = keyword_batch(sequences[1500:1800], labels[1500:1800])
    test = keyword_batch(sequences[1800:], labels[1800:])
    model = PooledClassifier(24, 4, embedding_dim=8, hidden_size=16, pooling=pooling, rng=init_rng,
                             bidirectional=bidirectional)

    def batch_loss(indices):
        tokens, targets, lengths = keyword_batch([sequences[i] for i in indices], labels[indices])
        return cross_entropy(model(tokens, lengths), targets)

    def error(batch) -> float:
        tokens, targets, lengths = batch
        return float((model(tokens, lengths).data.argmax(axis=-1) != targets).mean())

    start = time.perf_counter()
    history = fit(batch_loss, model, minibatches(1500, 50, data_rng, epochs), lr=0.01, clip_norm=1.0,
                  evaluate=lambda: error(valid), every=30, keep_best=True)
    model.eval()
    with minigrad.no_grad():
        tokens, targets, lengths = test
        right = model(tokens, lengths).data.argmax(axis=-1) == targets
    distance = lengths - 1 - positions[1800:]
    which = np.digitize(distance, DISTANCE_BINS) - 1
    return {"valid_accuracy": [1 - value for _, value in history.evaluations],
            "test_accuracy": float(right.mean()),
            "test_accuracy_by_distance": [float(right[which == k].mean()) for k in range(len(DISTANCE_BINS) - 1)],
            "test_count_by_distance": [int((which == k).sum()) for k in range(len(DISTANCE_BINS) - 1)],
            "seconds": time.perf_counter() - start}


def main() -> None:
    arguments = parse_arguments()
    arguments.out.mkdir(parents=True, exist_ok=True)
    results = {}
    for pooling, bidirectional in CONFIGURATIONS:
        key = f"{pooling}, {'bidirectional' if bidirectional else 'one direction'}"
        results[key] = {str(seed): run(seed, pooling, bidirectional, arguments.epochs) for seed in arguments.seeds}
        print(key, [round(r["test_accuracy"], 3) for r in results[key].values()], flush=True)
    settings = {"seeds": arguments.seeds, "epochs": arguments.epochs, "steps_per_epoch": 30, "batch": 50,
                "lr": 0.01, "clip_norm": 1.0, "hidden_size": 16, "embedding_dim": 8, "distance_bins": DISTANCE_BINS,
                "train": 1500, "valid": 300, "test": 500, "quick": arguments.quick}
    with open(arguments.out / f"{NAME}.json", "w", encoding="utf-8") as file:
        json.dump({"settings": settings, "runs": results}, file, indent=1)


if __name__ == "__main__":
    main()
