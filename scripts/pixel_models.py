"""PixelRNN (Row LSTM, Diagonal BiLSTM), PixelCNN and two count baselines on 8 x 8 digits, over seeds (chapter 12).

For every seed, the seed's data stream (``minigrad.experiments.generators``) splits the 1,797
digits of ``minigrad.data.digits`` into 1,200 training, 200 validation and 397 test images, all
with the same 17 grey levels; the models of that seed share this split and draw their initial
weights from the seed's initialisation stream. The models:

- ``Row LSTM``: ``nn.PixelRNN(layer="row")``, one layer, H = 32, kernel 3;
- ``Diagonal BiLSTM``: ``nn.PixelRNN(layer="diagonal")``, one layer, H = 32;
- ``PixelCNN``: ``nn.PixelCNN``, ``--cnn-layers`` masked 3 x 3 convolutions of 32 features;

each with an 8-dimensional embedding of the grey levels and a 17-way softmax, in float32. They
train with ``minigrad.digit_images.train``: Adam at learning rate ``--lr`` on batches of 64 images, the
validation bits per pixel after every pass, stopping after ``--patience`` passes without
improvement (at most ``--epochs``) and keeping the best parameters. The baselines count: one
histogram per pixel position (``metrics.independent_pixel_log_prob``) and one table of each
pixel given the pixels above and to its left (``metrics.neighbour_pixel_log_prob``), each with its
pseudo-count chosen on the validation images from ``ALPHAS`` and refitted on training plus
validation images.

Writes ``pixel_models.json`` into ``--out``: the settings, and per seed the test bits per pixel of
every model and baseline, and for the trained models the validation curve, the training curve
(per pass), the passes taken and the CPU time.

Usage: ``python scripts/pixel_models.py`` (about 15 minutes on one core), ``--quick`` (seconds).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from minigrad import digit_images as pixels
from minigrad.experiments import generators

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("Row LSTM", "Diagonal BiLSTM", "PixelCNN")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a run of seconds with the same output files")
    parser.add_argument("--out", type=Path, default=ROOT / "book" / "results")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--cnn-layers", type=int, default=pixels.CNN_LAYERS)
    args = parser.parse_args(argv)
    sizes = dict(pixels.SPLIT)
    if args.quick:
        args.seeds, args.epochs = [0], 1
    args.out.mkdir(parents=True, exist_ok=True)

    results = {}
    for seed in args.seeds:
        init_rng, data_rng = generators(seed)
        split = pixels.split_digits(data_rng)
        if args.quick:
            split = {name: images[:24] for name, images in split.items()}
        record = {"baselines": pixels.baselines(split)}
        for name in MODELS:
            model = pixels.build(name, init_rng, cnn_layers=args.cnn_layers)
            start = time.process_time()
            history = pixels.train(model, split, data_rng, epochs=args.epochs, lr=args.lr, patience=args.patience)
            record[name] = {"test_bpp": pixels.test_bits(model, split["test"]),
                            "validation_bpp": history.best_value,
                            "validation_curve": [value for _, value in history.evaluations],
                            "training_curve": pixels.per_pass(history.losses, len(split["train"])),
                            "passes": len(history.evaluations),
                            "best_pass": 1 + [step for step, _ in history.evaluations].index(history.best_step),
                            "cpu_seconds": time.process_time() - start,
                            "parameters": int(sum(p.data.size for p in model.parameters()))}
            print(f"seed {seed} {name:<16} test {record[name]['test_bpp']:.3f} bits/pixel after "
                  f"{record[name]['passes']} passes ({record[name]['cpu_seconds']:.0f} s)", flush=True)
        print(f"seed {seed} baselines " + ", ".join(f"{k} {v['test_bpp']:.3f}" for k, v in record["baselines"].items()))
        results[str(seed)] = record
    settings = {**sizes, "seeds": args.seeds, "epochs": args.epochs, "patience": args.patience, "lr": args.lr,
                "batch_size": pixels.BATCH, "hidden": pixels.HIDDEN, "cnn_layers": args.cnn_layers,
                "quick": args.quick}
    (args.out / "pixel_models.json").write_text(json.dumps({"settings": settings, "results": results}, indent=1))


if __name__ == "__main__":
    main()
