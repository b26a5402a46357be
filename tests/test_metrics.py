"""Edit distance and error rates (chapter 5), bits per pixel and the independent-pixel baseline (chapter 12): minigrad.metrics."""

import math

import numpy as np
import pytest

from minigrad.metrics import (best_mixture_weight, bits_per_pixel, edit_distance, independent_pixel_log_prob,
                              mixture_log_probs, neighbour_pixel_log_prob, phoneme_error_rate, word_error_rate)


def test_bits_per_pixel_of_a_uniform_model_is_log2_of_the_levels():
    log_probs = np.full(5, 12 * math.log(1 / 8))  # 12 pixels, 8 equally likely levels
    assert bits_per_pixel(log_probs, 12) == pytest.approx(3.0)
    assert bits_per_pixel(np.array([-math.log(2), -3 * math.log(2)]), 1) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="bits_per_pixel: need a non-empty 1-D array"):
        bits_per_pixel(np.zeros((2, 2)), 4)


def test_independent_pixel_log_prob_counts_each_position_with_add_one_smoothing():
    train = np.array([[[0, 1]], [[0, 2]], [[1, 2]]])  # 3 images of 1 x 2 pixels, 3 levels
    images = np.array([[[0, 2]], [[2, 0]]])
    got = independent_pixel_log_prob(train, images, levels=3)
    # pixel 0 counts (2, 1, 0) + 1 over 6; pixel 1 counts (0, 1, 2) + 1 over 6
    expected = [math.log(3 / 6) + math.log(3 / 6), math.log(1 / 6) + math.log(1 / 6)]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_independent_pixel_probabilities_sum_to_one_over_every_image():
    rng = np.random.default_rng(0)
    train = rng.integers(0, 3, size=(20, 1, 2))
    every = np.array([[[a, b]] for a in range(3) for b in range(3)])
    assert np.exp(independent_pixel_log_prob(train, every, 3, alpha=0.5)).sum() == pytest.approx(1.0)


def test_independent_pixel_log_prob_names_bad_input():
    with pytest.raises(ValueError, match=r"values in \[0, 3\)"):
        independent_pixel_log_prob(np.full((2, 2, 2), 3), np.zeros((1, 2, 2), dtype=int), 3)
    with pytest.raises(ValueError, match="must have the same shape"):
        independent_pixel_log_prob(np.zeros((2, 2, 2), dtype=int), np.zeros((1, 2, 3), dtype=int), 3)


@pytest.mark.parametrize("a,b,distance", [("kitten", "sitting", 3), ("", "abc", 3), ("abc", "", 3),
                                          ("flaw", "lawn", 2), (("N", "AY", "T"), ("N", "AY", "T"), 0),
                                          ([1, 2, 3], [3, 2, 1], 2)])
def test_edit_distance_counts_the_fewest_edits(a, b, distance):
    assert edit_distance(a, b) == distance == edit_distance(b, a)


def test_error_rates_score_each_word_against_its_closest_reference():
    references = [[("R", "EH", "D"), ("R", "IY", "D")], [("K", "AE", "T")], [("D", "AO", "G")]]
    predictions = [("R", "IY", "D"), ("K", "AE"), ("D", "AO", "G", "Z")]
    assert phoneme_error_rate(predictions, references) == pytest.approx(2 / 9)
    assert word_error_rate(predictions, references) == pytest.approx(2 / 3)
    # two references at the same distance: the shorter one's length is the denominator
    assert phoneme_error_rate([("A", "B")], [[("A",), ("A", "B", "C")]]) == pytest.approx(1 / 1)
    with pytest.raises(ValueError, match="one list of references"):
        word_error_rate(predictions, references[:2])
    with pytest.raises(ValueError, match="at least one reference"):
        phoneme_error_rate([("A",)], [[]])


def test_neighbour_pixel_log_prob_counts_each_pixel_given_the_pixels_above_and_left():
    train = np.array([[[0, 1], [1, 1]], [[0, 0], [1, 0]]])  # 2 images of 2 x 2 pixels, 2 levels
    image = np.array([[[0, 1], [1, 0]]])
    outside = 2

    def context(img, r, j):
        return (img[r - 1, j] if r else outside, img[r, j - 1] if j else outside)

    counts = {}
    for img in train:
        for r in range(2):
            for j in range(2):
                key = context(img, r, j)
                counts.setdefault(key, np.zeros(2))[img[r, j]] += 1
    alpha, expected = 0.5, 0.0
    for r in range(2):
        for j in range(2):
            c = counts.get(context(image[0], r, j), np.zeros(2))
            expected += math.log((c[image[0, r, j]] + alpha) / (c.sum() + 2 * alpha))
    got = neighbour_pixel_log_prob(train, image, 2, alpha=alpha)
    assert got == pytest.approx([expected], rel=1e-12)


def test_neighbour_pixel_probabilities_sum_to_one_over_every_image():
    train = np.random.default_rng(0).integers(0, 3, size=(30, 2, 2))
    every = np.array(np.meshgrid(*[range(3)] * 4, indexing="ij")).reshape(4, -1).T.reshape(-1, 2, 2)
    assert np.exp(neighbour_pixel_log_prob(train, every, 3, alpha=0.3)).sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"images must be \(N, R, C\)"):
        neighbour_pixel_log_prob(np.zeros((2, 4), dtype=int), np.zeros((1, 4), dtype=int), 3)


def test_mixture_log_probs_interpolates_probabilities_and_the_weight_is_chosen_on_held_out_tokens():
    p, q = np.array([0.5, 0.1, 0.2]), np.array([0.1, 0.4, 0.2])
    mixed = mixture_log_probs(np.log(p), np.log(q), 0.25)
    np.testing.assert_allclose(np.exp(mixed), 0.25 * p + 0.75 * q)
    np.testing.assert_allclose(mixture_log_probs(np.log(p), np.log(q), 1.0), np.log(p))
    np.testing.assert_allclose(mixture_log_probs(np.log(p), np.log(q), 0.0), np.log(q))
    # two models that are each right half of the time: the best mixture is an even one
    right, wrong = np.log(np.full(50, 0.9)), np.log(np.full(50, 0.1))
    assert best_mixture_weight(np.r_[right, wrong], np.r_[wrong, right]) == 0.5
    assert best_mixture_weight(np.log(p), np.log(p / 2)) == 1.0
    with pytest.raises(ValueError, match="weight in"):
        mixture_log_probs(np.log(p), np.log(q), 1.5)
