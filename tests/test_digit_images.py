"""The digit-modelling experiment of chapter 12 (minigrad.digit_images): split, models, training, baselines."""

from __future__ import annotations

import numpy as np
import pytest

from minigrad import digit_images
from minigrad.data import DIGIT_LEVELS


@pytest.fixture(scope="module")
def split():
    return digit_images.split_digits(np.random.default_rng(0))


def test_split_sizes_and_disjoint_parts(split):
    assert {name: len(images) for name, images in split.items()} == digit_images.SPLIT
    flat = {name: {image.tobytes() for image in images} for name, images in split.items()}
    # the digits data hold a few exact duplicates, so compare counts of shared images, not sets
    assert len(flat["train"] & flat["test"]) < 5


@pytest.mark.parametrize("name", ["Row LSTM", "Diagonal BiLSTM", "PixelCNN"])
def test_build_and_five_passes_of_training_improve_on_the_uniform_model(name, split):
    small = {part: images[:32] for part, images in split.items()}
    model = digit_images.build(name, np.random.default_rng(1))
    uniform = np.log2(DIGIT_LEVELS)
    assert digit_images.test_bits(model, small["test"]) == pytest.approx(uniform, abs=0.5)  # near uniform at the start
    history = digit_images.train(model, small, np.random.default_rng(2), epochs=5, lr=0.01)
    assert len(history.evaluations) == 5
    assert digit_images.test_bits(model, small["validation"]) == pytest.approx(history.best_value, rel=1e-6)
    assert history.best_value < uniform - 0.5
    assert len(digit_images.per_pass(history.losses, 32)) == 5


def test_unknown_model_is_named():
    with pytest.raises(ValueError, match="unknown model 'GRU'"):
        digit_images.build("GRU", np.random.default_rng(0))


def test_baselines_pick_alpha_on_validation_and_beat_uniform(split):
    scores = digit_images.baselines(split)
    assert set(scores) == {"independent pixels", "neighbour context"}
    for score in scores.values():
        assert score["alpha"] in digit_images.ALPHAS
        assert 1.5 < score["test_bpp"] < np.log2(DIGIT_LEVELS) - 1
