"""Modelling the 8 x 8 digits pixel by pixel: the split, the models, training and scores of chapter 12.

Chapter 12 and ``scripts/pixel_models.py`` compare PixelRNN (Row LSTM and Diagonal BiLSTM layers),
PixelCNN and two count baselines on the digits of :func:`minigrad.data.digits`, all on the same 17
grey levels and the same held-out images. This module holds what both need, so that the chapter's
live run and the script's runs over seeds are the same experiment: the split (:func:`split_digits`),
the models (:func:`build`), the training run (:func:`train`, built on
:func:`minigrad.training.fit`) and the scores in bits per pixel (:func:`test_bits`,
:func:`baselines`).
"""

from __future__ import annotations

import math

import numpy as np

from minigrad import nn
from minigrad.autograd import no_grad
from minigrad.data import DIGIT_LEVELS, digits
from minigrad.metrics import bits_per_pixel, independent_pixel_log_prob, neighbour_pixel_log_prob
from minigrad.training import History, fit, minibatches

__all__ = ["SPLIT", "BATCH", "HIDDEN", "EMBEDDING", "CNN_LAYERS", "ALPHAS", "split_digits", "build", "train",
           "test_bits", "per_pass", "baselines"]

SPLIT = {"train": 1200, "validation": 200, "test": 397}
"""Images in each part of the 1,797 digits."""
BATCH = 64
"""Images per training batch."""
HIDDEN = 32
"""Hidden units of every recurrent layer and features of every convolution."""
EMBEDDING = 8
"""Size of the vector that stands for each grey level."""
CNN_LAYERS = 7
"""Masked convolutions of the PixelCNN: each reaches one row further up, so 7 let the last row see the first."""
ALPHAS = (0.03, 0.1, 0.3, 1.0, 3.0)
"""Pseudo-counts tried for the count baselines (chosen on the validation images)."""
PIXELS = 64


def split_digits(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The digits shuffled by ``rng`` and cut into ``train``, ``validation`` and ``test`` images (:data:`SPLIT`).

    The split is by image: scikit-learn's digits come from 43 writers, and a writer's digits may
    fall on both sides.
    """
    learn, test = digits(SPLIT["train"] + SPLIT["validation"], rng)
    return {"train": learn[:SPLIT["train"]], "validation": learn[SPLIT["train"]:], "test": test}


def build(name: str, rng: np.random.Generator, cnn_layers: int = CNN_LAYERS):
    """A fresh float32 model: ``"Row LSTM"``, ``"Diagonal BiLSTM"`` (one PixelRNN layer each) or ``"PixelCNN"``."""
    common = dict(hidden_size=HIDDEN, embedding_dim=EMBEDDING, rng=rng, dtype=np.float32)
    if name == "Row LSTM":
        return nn.PixelRNN(8, 8, DIGIT_LEVELS, layer="row", **common)
    if name == "Diagonal BiLSTM":
        return nn.PixelRNN(8, 8, DIGIT_LEVELS, layer="diagonal", **common)
    if name == "PixelCNN":
        return nn.PixelCNN(8, 8, DIGIT_LEVELS, num_layers=cnn_layers, **common)
    raise ValueError(f"build: unknown model {name!r}; choose 'Row LSTM', 'Diagonal BiLSTM' or 'PixelCNN'")


def test_bits(model, images: np.ndarray) -> float:
    """Bits per pixel of ``images`` under ``model`` (its log-likelihoods summed in float64)."""
    with no_grad():
        return bits_per_pixel(model.log_prob(images).data.astype(np.float64), PIXELS)


def train(model, split: dict[str, np.ndarray], rng: np.random.Generator, *, epochs: int, lr: float = 0.01,
          patience: int | None = 5) -> History:
    """Maximise the likelihood of the training images with Adam; stop on the validation bits per pixel.

    Each step minimises the negative log-likelihood in nats per pixel of a batch of :data:`BATCH`
    training images, :math:`-\\frac{1}{B n}\\sum_b \\log p(x^{[b]})`, every pixel predicted at
    once from its true past (teacher forcing). After every pass the validation images are scored
    (:func:`test_bits`); training stops after ``patience`` passes without a new best, and the best
    parameters are restored.

    Args:
        model: a :class:`~minigrad.nn.PixelRNN` or :class:`~minigrad.nn.PixelCNN`.
        split: the images, from :func:`split_digits`.
        rng: the generator that shuffles the training images (the data stream).
        epochs: the largest number of passes.
        lr: Adam's learning rate.
        patience: passes without a better validation score before stopping (``None``: never).

    Returns:
        The :class:`~minigrad.training.History`: losses in nats per pixel, evaluations in bits per pixel.
    """
    images = split["train"]
    batches = minibatches(len(images), BATCH, rng, epochs)
    per_epoch = math.ceil(len(images) / BATCH)
    return fit(lambda rows: -model.log_prob(images[rows]).mean() / PIXELS, model, batches, lr=lr,
               evaluate=lambda: test_bits(model, split["validation"]), every=per_epoch, keep_best=True,
               patience=patience)


def per_pass(losses, n_train: int) -> list[float]:
    """The mean training loss of each pass over ``n_train`` images, from nats to bits per pixel."""
    per_epoch = math.ceil(n_train / BATCH)
    return [float(np.mean(losses[start:start + per_epoch]) / math.log(2))
            for start in range(0, len(losses), per_epoch)]


def baselines(split: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Test bits per pixel of the two count models, each with its pseudo-count chosen on the validation images.

    For each of :func:`~minigrad.metrics.independent_pixel_log_prob` and
    :func:`~minigrad.metrics.neighbour_pixel_log_prob`, every pseudo-count of :data:`ALPHAS` is fitted on
    the training images and scored on the validation images; the best one is refitted on training and
    validation images together and scored once on the test images.

    Returns:
        ``{"independent pixels": {"alpha": ..., "test_bpp": ...}, "neighbour context": {...}}``.
    """
    learn = np.concatenate([split["train"], split["validation"]])
    scores = {}
    for name, log_prob in (("independent pixels", independent_pixel_log_prob),
                           ("neighbour context", neighbour_pixel_log_prob)):
        validation = {alpha: bits_per_pixel(log_prob(split["train"], split["validation"], DIGIT_LEVELS, alpha), PIXELS)
                      for alpha in ALPHAS}
        alpha = min(validation, key=validation.get)
        scores[name] = {"alpha": alpha,
                        "test_bpp": bits_per_pixel(log_prob(learn, split["test"], DIGIT_LEVELS, alpha), PIXELS)}
    return scores
