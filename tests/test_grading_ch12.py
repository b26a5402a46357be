"""Chapter 12's graded questions: right answers pass, common slips fail with their reason."""

from __future__ import annotations

import math

import numpy as np
import pytest

from minigrad.grading import ch12

from grading_helpers import outcome

QUESTIONS = {q.qid: q for q in ch12.QUESTIONS}


def mask(kernel_size, include_centre, centre=None, right=False, above=True):
    k = kernel_size // 2
    taps = np.zeros((2, kernel_size))
    taps[0] = 1 if above else np.arange(kernel_size) < k
    taps[1, :k] = 1
    taps[1, k] = include_centre if centre is None else centre
    if right:
        taps[1, k + 1:] = 1
    return taps


def cone(height, width, row, col, kernel_size, whole_past=False, with_pixel=False):
    """The pixels a one-layer mask-A Row LSTM at (row, col) reads: row - d, columns col - (d+1)k .. col + dk."""
    k = kernel_size // 2
    field = np.zeros((height, width))
    if whole_past:
        field.ravel()[: row * width + col] = 1
        return field
    field[row, max(col - k, 0):col + with_pixel] = 1
    for d in range(1, row + 1):
        field[row - d, max(col - (d + 1) * k, 0):col + d * k + 1] = 1
    return field


def bits(logits, images, log_base=2.0, per_image=False, normalise=True):
    scores = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True)) if normalise else logits
    log_p = np.take_along_axis(scores, images[..., None], axis=-1)
    value = -log_p.mean() / math.log(log_base)
    return value * images[0].size if per_image else value


def histogram_bits(train, test, levels, alpha=1.0, pooled=False):
    if pooled:
        counts = np.bincount(train.ravel(), minlength=levels) + alpha
        return -np.log2(counts / counts.sum())[test].mean()
    flat_train, flat_test = train.reshape(len(train), -1), test.reshape(len(test), -1)
    total = 0.0
    for i in range(flat_train.shape[1]):
        counts = np.bincount(flat_train[:, i], minlength=levels) + alpha
        total += np.log2(counts / counts.sum())[flat_test[:, i]].sum()
    return -total / flat_test.size


def test_chapter_12_is_registered():
    from minigrad.grading.questions import QUESTIONS as ALL

    assert {"12.1", "12.2", "12.3", "12.4", "12.5"} <= set(ALL)


def test_the_receptive_field_reference_is_the_cone_and_excludes_the_future():
    for h, w, r, c, k in ((6, 8, 4, 5, 3), (7, 9, 4, 6, 5), (5, 6, 0, 3, 3)):
        np.testing.assert_array_equal(ch12.reference_row_lstm_context(h, w, r, c, k), cone(h, w, r, c, k))


@pytest.mark.parametrize("answer, status, reason", [
    (mask, "passed", "matches minigrad.nn.RowLSTM"),
    (lambda k, b: mask(k, b).astype(bool), "passed", "matches"),
    (lambda k, b: mask(k, b, centre=1), "failed", "mask A leaves it out"),
    (lambda k, b: mask(k, b, right=True), "failed", "right of the centre"),
    (lambda k, b: mask(k, b, above=False), "failed", "keep all its taps"),
])
def test_input_mask(answer, status, reason):
    result = outcome("12.1", answer)
    assert result.status == status and reason in result.message, result.message


@pytest.mark.parametrize("answer, status, reason", [
    (cone, "passed", "matches the gradient"),
    (lambda *a: cone(*a, whole_past=True), "failed", "whole past"),
    (lambda *a: cone(*a, with_pixel=True), "failed", "the pixel itself"),
    (lambda h, w, r, c, k: cone(h, w, r, c, 3), "failed", "differs from the gradient"),
])
def test_row_lstm_context(answer, status, reason):
    result = outcome("12.2", answer)
    assert result.status == status and reason in result.message, result.message


@pytest.mark.parametrize("options, status, reason", [
    ({}, "passed", "match minigrad's cross_entropy"),
    ({"log_base": math.e}, "failed", "divide by ln 2"),
    ({"per_image": True}, "failed", "number of pixels"),
    ({"normalise": False}, "failed", "log-softmax first"),
])
def test_nll_bits_per_pixel(options, status, reason):
    result = outcome("12.3", lambda logits, images: bits(logits, images, **options))
    assert result.status == status and reason in result.message, result.message


@pytest.mark.parametrize("options, status, reason", [
    ({}, "passed", "match minigrad.metrics.independent_pixel_log_prob"),
    ({"alpha": 0.0}, "failed", "add-one smoothing"),
    ({"pooled": True}, "failed", "pooled over all positions"),
    ({"alpha": 0.5}, "failed", "differ from"),
])
def test_independent_pixel_bits(options, status, reason):
    with np.errstate(divide="ignore", invalid="ignore"):
        result = outcome("12.4", lambda train, test, levels: histogram_bits(train, test, levels, **options))
    assert result.status == status and reason in result.message, result.message


# ------------------------------------------------------------------------------ 12.5, the PixelCNN's field
def pixelcnn_field(height, width, row, col, num_layers, kernel_size):
    """The solution's closed form: d rows up, columns col - kL .. col + k min(d, L); own row col - kL .. col - 1."""
    k = kernel_size // 2
    reach = k * num_layers
    field = np.zeros((height, width))
    field[row, max(col - reach, 0):col] = 1
    for d in range(1, min(reach, row) + 1):
        field[row - d, max(col - reach, 0):col + k * min(d, num_layers) + 1] = 1
    return field


def tap_sums(height, width, row, col, num_layers, kernel_size):
    """The field as the set of sums of one tap per layer (mask A, then B), independently of autograd."""
    from minigrad.nn.pixel import causal_offsets

    reached = {(0, 0)}
    for depth in range(num_layers):
        taps = causal_offsets(kernel_size, "A" if depth == 0 else "B")
        reached = {(dr + tr, dc + tc) for dr, dc in reached for tr, tc in taps}
    field = np.zeros((height, width))
    for dr, dc in reached:
        if 0 <= row + dr < height and 0 <= col + dc < width:
            field[row + dr, col + dc] = 1
    return field


def _cases_12_5(seed=0):
    question = QUESTIONS["12.5"]
    return [[spec["number"] for spec in case["args"]]
            for case in list(question.visible) + list(question.hidden(np.random.default_rng(seed)))]


@pytest.mark.parametrize("seed", [0, 1])
def test_the_pixelcnn_field_reference_is_the_set_of_tap_sums_and_causal(seed):
    for args in _cases_12_5(seed) + [[6, 7, 5, 6, 3, 5], [9, 9, 0, 4, 2, 3]]:
        field = ch12.reference_pixelcnn_context(*args)
        np.testing.assert_array_equal(field, tap_sums(*args))
        np.testing.assert_array_equal(field, pixelcnn_field(*args))
        height, width, row, col = args[:4]
        assert not field.ravel()[row * width + col:].any()


def test_the_pixelcnn_field_has_the_blind_spot_the_chapter_measures():
    field = ch12.reference_pixelcnn_context(8, 8, 5, 3, 7, 3)
    assert field[4, :5].all() and not field[4, 5:].any()  # the row above stops at column j + 1


def test_pixelcnn_context_solution_scores_full_marks_and_a_stub_none():
    for seed in (0, 1, 2):
        result = outcome("12.5", pixelcnn_field, seed)
        assert result.status == "passed" and result.score == 4, result.message
    assert outcome("12.5", lambda *args: np.zeros(args[:2])).score == 0

    def stub(*args):
        raise NotImplementedError

    assert outcome("12.5", stub).status == "not attempted"


@pytest.mark.parametrize("slip, words", [(slip, slip.split(":")[0]) for slip in ch12._pixelcnn_slips(9, 11, 7, 5, 2, 5)])
def test_pixelcnn_context_names_each_slip(slip, words):
    result = outcome("12.5", lambda *args: ch12._pixelcnn_slips(*args)[slip])
    assert result.score == 0 and words in result.message, result.message


def test_pixelcnn_context_fitted_to_the_visible_case_fails_a_hidden_case():
    visible_args = (9, 11, 7, 5, 2, 5)
    visible = pixelcnn_field(*visible_args)
    result = outcome("12.5", lambda *args: visible)
    assert result.score == 0 and "hidden case" in result.message, result.message

    def fitted(*args):
        """Right on the visible case, and elsewhere every kernel taken for 3 x 3."""
        return visible if args == visible_args else pixelcnn_field(*args[:5], 3)

    result = outcome("12.5", fitted)
    assert result.score == 0 and "hidden case" in result.message, result.message
