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

    assert {"12.1", "12.2", "12.3", "12.4"} <= set(ALL)


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
