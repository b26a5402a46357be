"""Train chapter 5's grapheme-to-phoneme encoder–decoder on the CMU dictionary, over several seeds.

Every seed trains the same :class:`minigrad.models.EncoderDecoder` (a bidirectional GRU encoder,
a GRU decoder that sees the context at every step) on the same split of the dictionary by word,
with Adam and gradient clipping, one evaluation of the validation loss per epoch, and early
stopping (the parameters of the lowest validation loss are kept). Then it transcribes every test
word by greedy decoding and by beam search of several widths, and scores the transcriptions with
the phoneme error rate (edits per reference phoneme, against the closest of a word's
pronunciations) and the word error rate (words matching none of their pronunciations).

Writes into ``--out`` (default ``book/results``):

- ``ch05_g2p.json``: the settings, the split, and for every seed the validation curve, the
  stopping step, the training time and the test PER and WER for each beam width; for the first
  seed also the greedy and beam transcriptions of the first test words, which the chapter
  reproduces live;
- ``ch05_g2p_weights.npz``: the first seed's trained parameters rounded to float16 (to keep the file
  near 350 kB), which the chapter loads; it checks that the rounded model transcribes the stored
  test words as the float32 model scored here did.

``--quick`` trains on a few hundred words for one epoch (seconds), with the same output files;
``--jobs N`` trains N seeds at once in separate processes (the results are the same).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from pathlib import Path

import numpy as np

from minigrad.experiments import generators
from minigrad.g2p import g2p_batch, g2p_split, transcribe
from minigrad.metrics import phoneme_error_rate, word_error_rate
from minigrad.models import EncoderDecoder
from minigrad.training import fit, minibatches

NAME = "ch05_g2p"
SPLIT_SEED = 2024  # the split of the dictionary by word, the same for every training seed
SHOWN_WORDS = 300  # transcriptions of the first test words, stored to be reproduced by the chapter


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a run of seconds, same outputs")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "book" / "results")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--train-words", type=int, default=40_000)
    parser.add_argument("--valid-words", type=int, default=2_000)
    parser.add_argument("--test-words", type=int, default=3_000)
    parser.add_argument("--hidden", type=int, default=96)
    parser.add_argument("--embedding", type=int, default=32)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.005)
    parser.add_argument("--clip", type=float, default=1.0)
    parser.add_argument("--max-epochs", type=int, default=20)
    parser.add_argument("--patience", type=int, default=2)
    parser.add_argument("--beam-widths", type=int, nargs="+", default=[1, 2, 3, 5, 10])
    parser.add_argument("--jobs", type=int, default=1, help="seeds trained at once, in separate processes")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.seeds = arguments.seeds[:2]
        arguments.train_words, arguments.valid_words, arguments.test_words = 400, 100, 120
        arguments.hidden, arguments.embedding, arguments.max_epochs = 16, 8, 1
        arguments.beam_widths = [1, 3]
    return arguments


def train_one(seed: int, split, arguments) -> tuple[EncoderDecoder, dict]:
    """Train one model from ``seed``; return it (with its best parameters) and its history."""
    init_rng, data_rng = generators(seed)
    letters, phonemes = split.letters, split.phonemes
    model = EncoderDecoder(len(letters), len(phonemes), arguments.embedding, arguments.hidden, cell="gru",
                           bidirectional=True, rng=init_rng)
    valid = g2p_batch(split.valid, letters, phonemes)

    def batch_loss(indices):
        return model.loss(*g2p_batch([split.train[i] for i in indices], letters, phonemes)[:4])

    def valid_loss() -> float:
        return model.loss(*valid[:4]).item()

    steps_per_epoch = -(-len(split.train) // arguments.batch)
    start = time.perf_counter()
    history = fit(batch_loss, model, minibatches(len(split.train), arguments.batch, data_rng, arguments.max_epochs),
                  lr=arguments.lr, clip_norm=arguments.clip, evaluate=valid_loss, every=steps_per_epoch,
                  keep_best=True, patience=arguments.patience)
    seconds = time.perf_counter() - start
    # Score the parameters rounded to float32, as the committed results were (the stored file is float16).
    for parameter in model.parameters():
        parameter.data[...] = parameter.data.astype(np.float32)
    return model, {"seed": seed, "steps": history.steps, "best_step": history.best_step,
                   "steps_per_epoch": steps_per_epoch, "stopped_early": history.stopped_early,
                   "validation_loss": [[step, value] for step, value in history.evaluations],
                   "train_seconds": seconds}


def train_and_score(seed: int, first: bool, arguments) -> dict:
    """Train from ``seed``, transcribe the test words with every beam width and score them; store the
    first seed's parameters."""
    split = g2p_split(arguments.train_words, arguments.valid_words, arguments.test_words,
                      np.random.default_rng(SPLIT_SEED))
    test_words = [example.spelling for example in split.test]
    references = [example.pronunciations for example in split.test]
    model, run = train_one(seed, split, arguments)
    run["test"] = {}
    for width in arguments.beam_widths:
        start = time.perf_counter()
        predicted = transcribe(model, test_words, split.letters, split.phonemes, beam_width=width)
        run["test"][str(width)] = {"per": phoneme_error_rate(predicted, references),
                                   "wer": word_error_rate(predicted, references),
                                   "mean_length": float(np.mean([len(p) for p in predicted])),
                                   "seconds": time.perf_counter() - start}
        if first and width in (1, max(arguments.beam_widths)):
            run.setdefault("shown", {})[str(width)] = [" ".join(p) for p in predicted[:SHOWN_WORDS]]
    if first:
        np.savez_compressed(arguments.out / f"{NAME}_weights.npz",
                            **{name: value.astype(np.float16) for name, value in model.state_dict().items()})
    print(f"seed {seed}: {run['steps']} steps ({run['train_seconds']:.0f} s), "
          + ", ".join(f"beam {w}: PER {r['per']:.4f} WER {r['wer']:.4f}" for w, r in run["test"].items()),
          flush=True)
    return run


def main() -> None:
    arguments = parse_arguments()
    arguments.out.mkdir(parents=True, exist_ok=True)
    jobs = [(seed, k == 0, arguments) for k, seed in enumerate(arguments.seeds)]
    if arguments.jobs > 1:
        with multiprocessing.Pool(min(arguments.jobs, len(jobs))) as pool:
            runs = pool.starmap(train_and_score, jobs)
    else:
        runs = [train_and_score(*job) for job in jobs]
    settings = {key: value for key, value in vars(arguments).items() if key not in ("out", "quick", "jobs")}
    settings.update(split_seed=SPLIT_SEED, quick=arguments.quick, cell="gru", bidirectional=True,
                    shown_words=SHOWN_WORDS, optimizer="Adam")
    with open(arguments.out / f"{NAME}.json", "w", encoding="utf-8") as file:
        json.dump({"settings": settings, "runs": runs}, file, indent=1)


if __name__ == "__main__":
    main()
