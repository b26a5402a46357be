"""Learning curves of chapter 6: n-gram and recurrent language models of English words against training size.

For every seed, ``minigrad.experiments.generators(seed)`` draws a split of the CMU dictionary's
words (a training pool, 2,000 validation words, 5,000 test words; no word in two sets) and the
initial weights. For every training size :math:`n`, the first :math:`n` words of the pool (so the
sets are nested) train

- interpolated modified Kneser–Ney n-gram models of orders :math:`m = 1..8`, of which the order
  with the lowest validation cross-entropy is kept (nothing else is tuned: the discounts come from
  the counts);
- a recurrent language model with a plain RNN of 128 hidden units and one with an LSTM of 64,
  which have about the same number of parameters (:func:`minigrad.models.fit_language_model`: Adam
  on batches of 64 words, gradient norm clipped at 1, the validation cross-entropy after every
  epoch, stopping after 2 epochs without a new best and keeping the best epoch);
- the interpolation of each recurrent model with the n-gram model, :math:`\\lambda p_\\text{RNN} +
  (1 - \\lambda) p_\\text{KN}`, with :math:`\\lambda` chosen on the validation words;

and scores every model on the test words (cross-entropy in nats per token; perplexity is its
exponential). The learning rate of each cell is tuned first, on seed 0 at 8,000 words, among a
few values, by the validation cross-entropy at the best epoch (``--learning-rate rnn=0.002`` skips
the search for a cell and says so in the results; ``--cells rnn`` trains only the RNN).

Writes ``ch06_learning_curves.json`` into ``--out`` (default ``book/results``). ``--jobs N`` runs N
trainings at once in separate processes (the results do not depend on it). ``--quick`` runs two
small sizes with one seed and tiny models (seconds), into the same file name.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from minigrad.data import EOS, cmudict_words, word_sequences
from minigrad.experiments import generators
from minigrad.metrics import best_mixture_weight, mixture_log_probs
from minigrad.models import CharLanguageModel, fit_language_model
from minigrad.ngram import NGramModel

NAME = "ch06_learning_curves"
CELLS = ("rnn", "lstm")


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a run of seconds, same output file")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "book" / "results")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--seeds-above", type=int, default=3,
                        help="how many of the seeds to run for sizes above --small")
    parser.add_argument("--small", type=int, default=8_000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 2_000, 4_000, 8_000, 16_000, 32_000])
    parser.add_argument("--valid-words", type=int, default=2_000)
    parser.add_argument("--test-words", type=int, default=5_000)
    parser.add_argument("--hidden", type=int, nargs=2, default=[128, 64], help="hidden size of the RNN, the LSTM")
    parser.add_argument("--embedding", type=int, default=16)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--max-epochs", type=int, default=40)
    parser.add_argument("--patience", type=int, default=2)
    parser.add_argument("--max-order", type=int, default=8)
    parser.add_argument("--tune-size", type=int, default=8_000)
    parser.add_argument("--learning-rates", type=float, nargs="+", default=[0.001, 0.002, 0.005, 0.01, 0.02])
    parser.add_argument("--learning-rate", nargs="+", default=[], metavar="CELL=LR",
                        help="train CELL with LR instead of searching the grid (for example rnn=0.002)")
    parser.add_argument("--cells", nargs="+", choices=CELLS, default=list(CELLS))
    parser.add_argument("--jobs", type=int, default=1, help="training runs at once, in separate processes")
    arguments = parser.parse_args()
    arguments.learning_rate = {cell: float(lr) for cell, lr in (item.split("=") for item in arguments.learning_rate)}
    if arguments.quick:
        arguments.seeds, arguments.sizes, arguments.tune_size = [0], [300, 600], 300
        arguments.valid_words, arguments.test_words = 100, 200
        arguments.hidden, arguments.embedding, arguments.max_epochs = [8, 4], 4, 2
        arguments.max_order, arguments.learning_rates = 3, [0.01, 0.02]
    return arguments


def draw_split(seed: int, arguments):
    """The seed's words: a training pool of the largest size, validation and test words."""
    _, data_rng = generators(seed)
    return cmudict_words(max(arguments.sizes), arguments.valid_words, arguments.test_words, data_rng)


def train_recurrent(cell: str, lr: float, seed: int, train, valid, eos: int, vocab_size: int, arguments):
    """One recurrent model trained from ``seed``'s initialisation stream; returns it and its record."""
    init_rng, _ = generators(seed)
    shuffle_rng = np.random.default_rng([seed, len(train)])
    hidden = arguments.hidden[CELLS.index(cell)]
    model = CharLanguageModel(vocab_size, arguments.embedding, hidden, cell=cell, rng=init_rng)
    start = time.perf_counter()
    history = fit_language_model(model, train, valid, eos, shuffle_rng, lr=lr, batch_size=arguments.batch,
                                 max_epochs=arguments.max_epochs, patience=arguments.patience)
    steps_per_epoch = -(-len(train) // arguments.batch)
    return model, {"validation": [value for _, value in history.evaluations],
                   "best_epoch": history.best_step // steps_per_epoch, "epochs": len(history.evaluations),
                   "stopped_early": history.stopped_early, "seconds": time.perf_counter() - start,
                   "parameters": int(sum(p.size for p in model.parameters()))}


def tuning_run(cell: str, lr: float, arguments) -> float:
    """The best validation cross-entropy of ``cell`` at learning rate ``lr``, seed 0, the tuning size."""
    words = draw_split(arguments.seeds[0], arguments)
    vocabulary = words.vocabulary
    eos = vocabulary.index[EOS]
    train = word_sequences(words.train[:arguments.tune_size], vocabulary)
    valid = word_sequences(words.valid, vocabulary)
    _, record = train_recurrent(cell, lr, arguments.seeds[0], train, valid, eos, len(vocabulary), arguments)
    print(f"tuning {cell} lr={lr}: validation {min(record['validation']):.4f} after {record['epochs']} epochs",
          flush=True)
    return min(record["validation"])


def size_run(seed: int, size: int, tuning: dict, arguments) -> dict:
    """Every model of one seed at one training size."""
    words = draw_split(seed, arguments)
    vocabulary = words.vocabulary
    eos = vocabulary.index[EOS]
    valid, test = word_sequences(words.valid, vocabulary), word_sequences(words.test, vocabulary)
    train = word_sequences(words.train[:size], vocabulary)
    counted = NGramModel(arguments.max_order, len(vocabulary), eos=eos, smoothing="kneser_ney").fit(train)
    orders = {order: counted.with_order(order) for order in range(1, arguments.max_order + 1)}
    valid_h = {order: model.cross_entropy(valid) for order, model in orders.items()}
    best = min(valid_h, key=valid_h.get)
    kn_valid, kn_test = orders[best].token_log_probs(valid), orders[best].token_log_probs(test)
    record = {"kneser_ney": {"order": best, "validation_by_order": {str(k): v for k, v in valid_h.items()},
                             "test": float(-kn_test.mean())}}
    for cell in arguments.cells:
        model, run = train_recurrent(cell, tuning[cell]["chosen"], seed, train, valid, eos, len(vocabulary),
                                     arguments)
        rnn_valid, rnn_test = model.token_log_probs(valid, eos), model.token_log_probs(test, eos)
        weight = best_mixture_weight(rnn_valid, kn_valid)
        run.update(test=float(-rnn_test.mean()), mixture_weight=weight,
                   mixture_test=float(-mixture_log_probs(rnn_test, kn_test, weight).mean()))
        record[cell] = run
    print(f"seed {seed}, {size} words: KN (m={best}) {record['kneser_ney']['test']:.4f}, "
          + ", ".join(f"{cell} {record[cell]['test']:.4f} (+KN {record[cell]['mixture_test']:.4f}, "
                      f"{record[cell]['epochs']} epochs, {record[cell]['seconds']:.0f} s)" for cell in arguments.cells),
          flush=True)
    return record


def main() -> None:
    arguments = parse_arguments()
    arguments.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with ProcessPoolExecutor(arguments.jobs) as pool:
        searched = [cell for cell in arguments.cells if cell not in arguments.learning_rate]
        searches = {(cell, lr): pool.submit(tuning_run, cell, lr, arguments)
                    for cell in searched for lr in arguments.learning_rates}
        tuning = {}
        for cell in arguments.cells:
            if cell in searched:
                scores = {str(lr): searches[cell, lr].result() for lr in arguments.learning_rates}
                tuning[cell] = {"validation": scores, "chosen": float(min(scores, key=scores.get))}
            else:
                tuning[cell] = {"chosen": arguments.learning_rate[cell], "searched": False}
        jobs = {(seed, size): pool.submit(size_run, seed, size, tuning, arguments)
                for size in sorted(arguments.sizes, reverse=True)  # the longest first
                for k, seed in enumerate(arguments.seeds) if k < arguments.seeds_above or size <= arguments.small}
        runs = {}
        for (seed, size), job in sorted(jobs.items()):
            runs.setdefault(str(seed), {})[str(size)] = job.result()
    settings = {key: (str(value) if isinstance(value, Path) else value) for key, value in vars(arguments).items()}
    result = {"settings": settings, "learning_rate_tuning": tuning, "runs": runs,
              "total_seconds": time.perf_counter() - start, "python": platform.python_version(),
              "numpy": np.__version__}
    (arguments.out / f"{NAME}.json").write_text(json.dumps(result, indent=1))
    print(f"wrote {arguments.out / f'{NAME}.json'} in {result['total_seconds']:.0f} s")


if __name__ == "__main__":
    main()
