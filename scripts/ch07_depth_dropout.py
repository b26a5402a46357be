"""Chapter 7's depth and dropout experiments: LSTM language models of words, early-stopped, over seeds.

Both experiments train :class:`minigrad.models.CharLanguageModel` (LSTM layers, embeddings of size
16) on words of the CMU dictionary (:func:`minigrad.data.cmudict_words`, one fixed split of the
dictionary by word for every run) with Adam (learning rate 0.005, gradient norm clipped to 1) on
batches of 50 words. After every epoch the validation cross-entropy is measured; training stops
after ``--patience`` epochs without a new lowest value, and the parameters of the lowest one are
kept (early stopping). Each kept model is scored on the test words. So every model is compared at
its best epoch, not at an arbitrary final one.

- *Depth*: 1, 2 and 3 layers of 48 units, on 1,200 and on 8,000 training words (``--seeds``).
- *Dropout*: 2 layers of 96 units on 300 training words, with dropout 0, 0.25 and 0.5 on the
  connection between the layers (training mode only; ``--dropout-seeds``).
- *Overfit*: the dropout models with p = 0 and 0.5 trained for a fixed ``--fixed-epochs`` instead,
  without early stopping, and scored after the last epoch: what a fixed training budget reports.

Writes ``ch07_depth_dropout.json`` into ``--out`` (default ``book/results``): the settings and,
for every part, configuration and seed, the validation curve (nats per token after each epoch), the
best epoch, the training and test cross-entropy of the kept (or last) model and the training time.
``--parts`` reruns only some parts and keeps the others from an existing file; ``--quick`` runs one
short configuration of each part.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import minigrad
from minigrad.data import cmudict_words, language_model_batch
from minigrad.experiments import generators
from minigrad.models import CharLanguageModel
from minigrad.training import fit, minibatches

NAME = "ch07_depth_dropout"
SPLIT_SEED = 7  # one split of the dictionary for every run
VALID_WORDS = TEST_WORDS = 500
PARTS = ("depth", "dropout", "overfit")


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a run of seconds, same outputs")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "book" / "results")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds of the depth runs")
    parser.add_argument("--dropout-seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--max-epochs", type=int, default=60)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--fixed-epochs", type=int, default=40, help="epochs of the runs without early stopping")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS),
                        help="which parts to run; the others are kept from the existing results file")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.seeds, arguments.dropout_seeds = arguments.seeds[:1], arguments.dropout_seeds[:2]
        arguments.max_epochs = arguments.fixed_epochs = 2
    return arguments


def word_split(most_words: int = 8000):
    """The one split of the dictionary every run uses: ``most_words`` training words, 500 validation, 500 test."""
    return cmudict_words(most_words, VALID_WORDS, TEST_WORDS, np.random.default_rng(SPLIT_SEED))


def run(seed: int, split, train_words: int, layers: int, hidden: int, dropout: float, max_epochs: int,
        patience: int | None) -> dict:
    """Train one language model of ``split.train[:train_words]``; return its record.

    With ``patience`` it stops early and keeps the parameters of the lowest validation loss; with
    ``patience=None`` it trains for all ``max_epochs`` and keeps the last parameters.
    """
    init_rng, data_rng = generators(seed)
    chars, words = split.vocabulary, split.train[:train_words]
    model = CharLanguageModel(len(chars), 16, hidden, cell="lstm", num_layers=layers, dropout=dropout,
                              rng=init_rng)
    valid, test = language_model_batch(split.valid, chars), language_model_batch(split.test, chars)

    def batch_loss(indices):
        return model.loss(*language_model_batch([words[i] for i in indices], chars))

    steps_per_epoch = -(-train_words // 50)
    start = time.perf_counter()
    history = fit(batch_loss, model, minibatches(train_words, 50, data_rng, max_epochs), lr=0.005,
                  clip_norm=1.0, evaluate=lambda: model.loss(*valid).item(), every=steps_per_epoch,
                  keep_best=patience is not None, patience=patience)
    seconds = time.perf_counter() - start
    model.eval()
    with minigrad.no_grad():
        train_h = model.loss(*language_model_batch(words, chars)).item()
        test_h = model.loss(*test).item()
    return {"valid_curve": [value for _, value in history.evaluations],
            "best_epoch": history.best_step // steps_per_epoch, "epochs": history.steps / steps_per_epoch,
            "stopped_early": history.stopped_early, "best_valid": history.best_value,
            "train": train_h, "test": test_h, "seconds": seconds}


def configurations(quick: bool) -> dict[str, list[tuple]]:
    """Each part's configurations: ``(key, train_words, layers, hidden, dropout)``."""
    if quick:
        return {"depth": [(f"300 words, {n} layer{'s' if n > 1 else ''}", 300, n, 8, 0.0) for n in (1, 2)],
                "dropout": [(f"dropout {p}", 100, 2, 8, p) for p in (0.0, 0.5)],
                "overfit": [(f"dropout {p}", 100, 2, 8, p) for p in (0.0, 0.5)]}
    return {"depth": [(f"{words} words, {n} layer{'s' if n > 1 else ''}", words, n, 48, 0.0)
                      for words in (1200, 8000) for n in (1, 2, 3)],
            "dropout": [(f"dropout {p}", 300, 2, 96, p) for p in (0.0, 0.25, 0.5)],
            "overfit": [(f"dropout {p}", 300, 2, 96, p) for p in (0.0, 0.5)]}


def main() -> None:
    arguments = parse_arguments()
    arguments.out.mkdir(parents=True, exist_ok=True)
    path = arguments.out / f"{NAME}.json"
    split = word_split(300 if arguments.quick else 8000)
    parts = configurations(arguments.quick)
    seeds = {"depth": arguments.seeds, "dropout": arguments.dropout_seeds, "overfit": arguments.dropout_seeds}
    epochs = {"depth": arguments.max_epochs, "dropout": arguments.max_epochs, "overfit": arguments.fixed_epochs}
    patience = {"depth": arguments.patience, "dropout": arguments.patience, "overfit": None}
    stored = json.loads(path.read_text()) if path.exists() and set(arguments.parts) != set(parts) else None
    results = {part: stored["runs"][part] for part in parts if part not in arguments.parts} if stored else {}
    for part in arguments.parts:
        results[part] = {}
        for key, words, layers, hidden, p in parts[part]:
            results[part][key] = {str(s): run(s, split, words, layers, hidden, p, epochs[part], patience[part])
                                  for s in seeds[part]}
            print(part, key, [round(r["test"], 4) for r in results[part][key].values()], flush=True)
    settings = {"seeds": arguments.seeds, "dropout_seeds": arguments.dropout_seeds,
                "max_epochs": arguments.max_epochs, "patience": arguments.patience,
                "fixed_epochs": arguments.fixed_epochs, "split_seed": SPLIT_SEED, "valid_words": VALID_WORDS,
                "test_words": TEST_WORDS, "batch": 50, "lr": 0.005, "clip_norm": 1.0, "embedding_dim": 16,
                "cell": "lstm", "quick": arguments.quick,
                **{part: [{"key": key, "words": w, "layers": n, "hidden": h, "p": p} for key, w, n, h, p in configs]
                   for part, configs in parts.items()}}
    with open(path, "w", encoding="utf-8") as file:
        json.dump({"settings": settings, "runs": {part: results[part] for part in parts}}, file, indent=1)


if __name__ == "__main__":
    main()
