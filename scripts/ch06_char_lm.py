"""Character language models of Python's documentation for chapter 6: an LSTM and a plain RNN, trained with truncated BPTT.

The corpus is :func:`minigrad.text.python_docs`: the topics that ``help()`` shows, split by
document into training, validation and test text that share no passage. Two
:class:`minigrad.models.CharLanguageModel` models with about the same number of parameters
(about 100,000) read it: an LSTM with 128 hidden units and a plain (tanh) RNN with 256, each with
32-dimensional character embeddings, in float32.

Training reads the training stream in 32 rows side by side, in windows of 100 characters that
carry the state over (:func:`minigrad.text.stream_windows`, :func:`minigrad.text.truncated_bptt_loss`),
with Adam and the gradient norm clipped at 1 (:func:`minigrad.training.fit`). The validation
text is scored (bits per character, each document read from the start) after every epoch; training
stops after ``--patience`` scores without a new best, or after ``--max-epochs`` epochs, and keeps
the parameters of the best score. Each cell's learning rate is chosen first, on seed 0, as the
one with the best validation score after ``--tune-epochs`` epochs among ``--learning-rates``
(``--learning-rate lstm=0.03`` skips the search for a cell and says so in the results).

The n-gram baselines (interpolated modified Kneser–Ney, orders 1 to 8, on the same training
text) are scored on the same validation and test text.

Writes into ``--out`` (default ``book/results``):

- ``ch06_char_lm.json``: the settings, the corpus (sizes, topics of each split, fingerprint), the
  learning-rate search, and for every cell and seed the validation curve, the best step, the
  training time and the test bits per character; the n-gram baselines;
- ``ch06_char_lm_weights.npz``: the first seed's parameters of both models (float32), named
  ``lstm.<parameter>`` and ``rnn.<parameter>``, which the chapter loads.

``--jobs N`` runs N trainings at once in separate processes (the results do not depend on it).
``--quick`` trains tiny models for a few windows (seconds), with the same output files.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from minigrad.experiments import generators
from minigrad.models import CharLanguageModel
from minigrad.ngram import NGramModel
from minigrad.text import python_docs, stream_windows, truncated_bptt_loss
from minigrad.training import fit

NAME = "ch06_char_lm"
BITS = np.log(2.0)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a run of seconds, same outputs")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "book" / "results")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cells", nargs="+", default=["lstm", "rnn"])
    parser.add_argument("--hidden", type=int, nargs=2, default=[128, 256], help="hidden size of the LSTM, the RNN")
    parser.add_argument("--embedding", type=int, default=32)
    parser.add_argument("--rows", type=int, default=32)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--clip", type=float, default=1.0)
    parser.add_argument("--max-epochs", type=int, default=25)
    parser.add_argument("--evaluations-per-epoch", type=int, default=1)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--tune-epochs", type=int, default=3)
    parser.add_argument("--learning-rates", type=float, nargs="+", default=[0.003, 0.01, 0.03])
    parser.add_argument("--learning-rate", nargs="+", default=[], metavar="CELL=LR",
                        help="train CELL with LR instead of searching the grid (for example lstm=0.03)")
    parser.add_argument("--max-order", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=1, help="training runs at once, in separate processes")
    arguments = parser.parse_args()
    arguments.learning_rate = {cell: float(lr) for cell, lr in (item.split("=") for item in arguments.learning_rate)}
    if arguments.quick:
        arguments.seeds, arguments.hidden, arguments.embedding = [0], [8, 8], 4
        arguments.rows, arguments.steps, arguments.max_epochs, arguments.tune_epochs = 4, 20, 1, 1
        arguments.learning_rates, arguments.max_order = [0.01], 2
    return arguments


class Corpus:
    """The encoded corpus: the training documents and stream, the validation and test documents."""

    def __init__(self, quick: bool) -> None:
        self.text = python_docs()
        self.documents = {split: self.text.encode(getattr(self.text, split)) for split in ("train", "valid", "test")}
        if quick:  # the start of each document, so that a run takes seconds
            self.documents = {split: [d[:400] for d in docs] for split, docs in self.documents.items()}
        self.train = np.concatenate([[0], *self.documents["train"]])  # the stream: each document after an end
        self.valid, self.test = self.documents["valid"], self.documents["test"]
        self.vocab_size = len(self.text.vocabulary)


def bits_per_character(model: CharLanguageModel, documents) -> float:
    return float(-model.token_log_probs(documents, start_token=0, window=1000).mean() / BITS)


def build(cell: str, seed: int, corpus: Corpus, arguments) -> CharLanguageModel:
    init_rng, _ = generators(seed)
    hidden = arguments.hidden[0] if cell == "lstm" else arguments.hidden[1]
    return CharLanguageModel(corpus.vocab_size, arguments.embedding, hidden, cell=cell, rng=init_rng,
                             dtype=np.float32)


def train(cell: str, seed: int, lr: float, epochs: int, patience: int | None, corpus: Corpus,
          arguments) -> tuple[CharLanguageModel, dict]:
    """Train one model; return it with the parameters of its best validation score, and its record."""
    model = build(cell, seed, corpus, arguments)
    _, data_rng = generators(seed)
    windows = stream_windows(corpus.train, arguments.rows, arguments.steps, epochs=epochs, rng=data_rng)
    per_epoch = len(windows) // epochs
    start = time.perf_counter()
    history = fit(truncated_bptt_loss(model), model, windows, lr=lr, clip_norm=arguments.clip,
                  evaluate=lambda: bits_per_character(model, corpus.valid),
                  every=max(1, per_epoch // arguments.evaluations_per_epoch), keep_best=True, patience=patience)
    record = {"validation": [[step, value] for step, value in history.evaluations],
              "training_loss": [float(np.mean(history.losses[i:i + per_epoch]) / BITS)
                                for i in range(0, len(history.losses), per_epoch)],
              "best_step": history.best_step, "best_validation": history.best_value, "steps": history.steps,
              "windows_per_epoch": per_epoch, "stopped_early": history.stopped_early,
              "seconds": time.perf_counter() - start,
              "parameters": int(sum(p.size for p in model.parameters()))}
    return model, record


def kneser_ney_baselines(corpus: Corpus, arguments) -> dict:
    start = time.perf_counter()
    highest = NGramModel(arguments.max_order, corpus.vocab_size, eos=0, smoothing="kneser_ney").fit(
        corpus.documents["train"])
    scores = {}
    for order in range(1, arguments.max_order + 1):
        model = highest.with_order(order)
        scores[str(order)] = {"validation": model.cross_entropy(corpus.valid) / BITS,
                              "test": model.cross_entropy(corpus.test) / BITS,
                              "stored_counts": model.stored_counts()}
    return {"orders": scores, "seconds": time.perf_counter() - start}


def tuning_run(cell: str, lr: float, arguments) -> float:
    """The best validation score of a short run from seed 0 (a job of the learning-rate search)."""
    corpus = Corpus(arguments.quick)
    _, record = train(cell, arguments.seeds[0], lr, arguments.tune_epochs, None, corpus, arguments)
    print(f"tuning {cell} lr={lr}: {record['best_validation']:.4f} bits per character after "
          f"{arguments.tune_epochs} epochs ({record['seconds']:.0f} s)", flush=True)
    return record["best_validation"]


def full_run(cell: str, seed: int, lr: float, arguments) -> tuple[dict, dict]:
    """Train one model in full; return its record (with the test score) and its parameters."""
    corpus = Corpus(arguments.quick)
    model, record = train(cell, seed, lr, arguments.max_epochs, arguments.patience, corpus, arguments)
    record["test"] = bits_per_character(model, corpus.test)
    print(f"{cell} seed {seed}: validation {record['best_validation']:.4f}, test {record['test']:.4f} bits "
          f"per character, best step {record['best_step']} of {record['steps']} ({record['seconds']:.0f} s)",
          flush=True)
    return record, {name: value.astype(np.float32) for name, value in model.state_dict().items()}


def main() -> None:
    arguments = parse_arguments()
    arguments.out.mkdir(parents=True, exist_ok=True)
    corpus = Corpus(arguments.quick)
    start = time.perf_counter()
    result = {"corpus": {"fingerprint": corpus.text.fingerprint,
                         "characters": {split: int(sum(map(len, getattr(corpus.text, split).values())))
                                        for split in ("train", "valid", "test")},
                         "topics": {split: list(getattr(corpus.text, split)) for split in ("train", "valid", "test")}},
              "kneser_ney": kneser_ney_baselines(corpus, arguments), "tuning": {}, "runs": {}}
    print(f"Kneser-Ney test bits per character: "
          + ", ".join(f"m={m} {s['test']:.3f}" for m, s in result["kneser_ney"]["orders"].items()), flush=True)
    with ProcessPoolExecutor(arguments.jobs) as pool:
        searched = [cell for cell in arguments.cells if cell not in arguments.learning_rate]
        searches = {(cell, lr): pool.submit(tuning_run, cell, lr, arguments)
                    for cell in searched for lr in arguments.learning_rates}
        for cell in arguments.cells:
            if cell in searched:
                scores = {str(lr): searches[cell, lr].result() for lr in arguments.learning_rates}
                result["tuning"][cell] = {"validation": scores, "chosen": float(min(scores, key=scores.get))}
            else:
                result["tuning"][cell] = {"chosen": arguments.learning_rate[cell], "searched": False}
        runs = {(cell, seed): pool.submit(full_run, cell, seed, result["tuning"][cell]["chosen"], arguments)
                for cell in arguments.cells for seed in arguments.seeds}
        weights = {}
        for (cell, seed), run in runs.items():
            record, parameters = run.result()
            result["runs"].setdefault(cell, {})[str(seed)] = record
            if seed == arguments.seeds[0]:
                weights.update({f"{cell}.{name}": value for name, value in parameters.items()})
    settings = {key: (str(value) if isinstance(value, Path) else value) for key, value in vars(arguments).items()}
    result.update(settings=settings, total_seconds=time.perf_counter() - start,
                  python=platform.python_version(), numpy=np.__version__)
    np.savez_compressed(arguments.out / f"{NAME}_weights.npz", **weights)
    (arguments.out / f"{NAME}.json").write_text(json.dumps(result, indent=1))
    print(f"wrote {NAME}.json and {NAME}_weights.npz into {arguments.out} in {result['total_seconds']:.0f} s")


if __name__ == "__main__":
    main()
