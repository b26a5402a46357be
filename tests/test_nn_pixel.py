"""RowLSTM and PixelRNN (minigrad.nn.pixel): causality, likelihood, sampling, gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad
from minigrad import functional as F
from minigrad import nn
from minigrad.analysis import pixel_influence
from minigrad.nn.pixel import causal_offsets


@pytest.fixture(scope="module")
def model():
    return nn.PixelRNN(4, 5, levels=3, hidden_size=4, embedding_dim=3, num_layers=2,
                       rng=np.random.default_rng(0))


@pytest.mark.parametrize("layer", ["row", "diagonal"])
def test_changing_pixel_j_never_changes_the_distribution_of_pixels_up_to_j(layer):
    """The masking proof: p(x_i | x_<i) for i <= j is the same whatever x_j is; later ones do change."""
    model = nn.PixelRNN(4, 5, levels=3, hidden_size=4, embedding_dim=3, num_layers=2, layer=layer,
                        rng=np.random.default_rng(0))
    rng = np.random.default_rng(1)
    images = rng.integers(0, 3, size=(2, 4, 5))
    base = model(images).data.reshape(2, 20, 3)
    influenced = []
    for j in range(20):
        other = images.copy().reshape(2, 20)
        other[:, j] = (other[:, j] + 1) % 3
        logits = model(other.reshape(2, 4, 5)).data.reshape(2, 20, 3)
        np.testing.assert_array_equal(logits[:, : j + 1], base[:, : j + 1], err_msg=f"pixel {j} leaks")
        influenced.append(np.flatnonzero(np.abs(logits - base).max(axis=(0, 2)) > 0))
    assert all(len(later) > 0 for later in influenced[:-1])  # every pixel but the last matters
    if layer == "diagonal":  # the Diagonal BiLSTM's context is complete: every later pixel sees j
        assert all(np.array_equal(later, np.arange(j + 1, 20)) for j, later in enumerate(influenced))


def test_row_lstm_receptive_field_for_mask_a_and_b():
    """Gradient of one output state: mask A sees only columns < j of its row, mask B also column j."""
    rng = np.random.default_rng(2)
    for mask, visible in (("A", [1]), ("B", [1, 2])):
        layer = nn.RowLSTM(2, 3, mask=mask, rng=rng)
        x = minigrad.Tensor(rng.standard_normal((1, 3, 5, 2)), requires_grad=True)
        layer(x)[0, 1, 2].sum().backward()
        seen = np.abs(x.grad[0]).sum(axis=-1) > 0
        np.testing.assert_array_equal(np.flatnonzero(seen[1]), visible)
        assert not seen[2].any()
        # the row above: columns j-1..j+1 directly, and their left context through the states
        np.testing.assert_array_equal(np.flatnonzero(seen[0]), [0, 1, 2, 3])


@pytest.mark.parametrize("mask", ["A", "B"])
def test_diagonal_bilstm_sees_exactly_the_pixels_before(mask):
    """One layer: the state at (1, 2) depends on all of row 0 and on row 1 left of column 2 (mask A)
    or up to column 2 (mask B), and on nothing else."""
    rng = np.random.default_rng(9)
    layer = nn.DiagonalBiLSTM(2, 3, mask=mask, rng=rng)
    x = minigrad.Tensor(rng.standard_normal((1, 3, 5, 2)), requires_grad=True)
    layer(x)[0, 1, 2].sum().backward()
    seen = np.abs(x.grad[0]).sum(axis=-1) > 0
    expected = np.zeros((3, 5), dtype=bool)
    expected[0] = True
    expected[1, : 2 if mask == "A" else 3] = True
    np.testing.assert_array_equal(seen, expected)


def test_diagonal_bilstm_gradcheck():
    rng = np.random.default_rng(10)
    layer = nn.DiagonalBiLSTM(2, 2, mask="A", rng=rng)
    x = minigrad.Tensor(rng.standard_normal((1, 2, 3, 2)), requires_grad=True)
    assert minigrad.gradcheck(lambda x, *p: layer(x), x, *layer.parameters())


def test_log_prob_is_the_sum_of_per_pixel_log_softmax(model):
    rng = np.random.default_rng(3)
    images = rng.integers(0, 3, size=(3, 4, 5))
    log_p = model.log_prob(images)
    log_softmax = F.log_softmax(model(images), axis=-1).data
    expected = np.take_along_axis(log_softmax, images[..., None], axis=-1).reshape(3, -1).sum(axis=1)
    assert log_p.shape == (3,)
    np.testing.assert_allclose(log_p.data, expected, rtol=1e-12)
    assert np.all(log_p.data < 0)


def test_a_model_with_zero_readout_is_uniform():
    model = nn.PixelRNN(2, 3, levels=4, hidden_size=2, rng=np.random.default_rng(4))
    model.output.weight.data[:] = 0
    model.output.bias.data[:] = 0
    np.testing.assert_allclose(model.log_prob(np.zeros((2, 2, 3), dtype=int)).data, -6 * math.log(4))


@pytest.mark.parametrize("layer", ["row", "diagonal"])
def test_rows_below_do_not_matter_so_sampling_may_drop_them(layer):
    model = nn.PixelRNN(4, 3, levels=3, hidden_size=3, layer=layer, num_layers=2, rng=np.random.default_rng(11))
    images = np.random.default_rng(12).integers(0, 3, size=(2, 4, 3))
    full = model(images).data
    for r in range(4):
        np.testing.assert_allclose(model(images[:, : r + 1]).data, full[:, : r + 1], rtol=1e-13, atol=1e-15)
    assert model.sample(2, np.random.default_rng(13)).shape == (2, 4, 3)


def test_sample_shape_range_and_reproducibility(model):
    a = model.sample(3, np.random.default_rng(5))
    b = model.sample(3, np.random.default_rng(5))
    assert a.shape == (3, 4, 5) and a.dtype.kind == "i" and a.min() >= 0 and a.max() < 3
    np.testing.assert_array_equal(a, b)


def test_sample_follows_the_model_distribution():
    """With a 1x1 image, samples are draws from the softmax of the output bias."""
    model = nn.PixelRNN(1, 1, levels=3, hidden_size=2, rng=np.random.default_rng(6))
    model.output.weight.data[:] = 0
    model.output.bias.data[:] = np.log([0.2, 0.5, 0.3])
    draws = model.sample(4000, np.random.default_rng(7)).ravel()
    np.testing.assert_allclose(np.bincount(draws, minlength=3) / 4000, [0.2, 0.5, 0.3], atol=0.03)


def test_pixel_rnn_gradcheck():
    rng = np.random.default_rng(8)
    model = nn.PixelRNN(2, 3, levels=3, hidden_size=2, embedding_dim=2, num_layers=2, rng=rng)
    images = rng.integers(0, 3, size=(2, 2, 3))
    assert minigrad.gradcheck(lambda *p: model.log_prob(images), *model.parameters())


def test_bad_arguments_are_named(model):
    with pytest.raises(ValueError, match=r"pixel values must lie in \[0, 3\)"):
        model.log_prob(np.full((1, 4, 5), 3))
    with pytest.raises(ValueError, match=r"expected integer images \(N, R, C\)"):
        model(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        nn.RowLSTM(2, 2, kernel_size=4)
    with pytest.raises(ValueError, match="mask must be 'A' or 'B'"):
        nn.RowLSTM(2, 2, mask="C")
    with pytest.raises(ValueError, match="layer must be 'row' or 'diagonal'"):
        nn.PixelRNN(2, 2, 2, 2, layer="column")


def test_sample_keeps_the_given_top_rows_and_draws_the_rest_from_the_conditionals(model):
    """Completion given the top 2 rows of a full draw, with the random numbers that draw used for
    the rows below, gives back the same image: the same conditionals p(x_i | x_<i) are sampled."""
    full = model.sample(3, np.random.default_rng(14))
    rng = np.random.default_rng(14)
    for _ in range(2 * 5):  # the uniforms the full draw spent on the 2 x 5 top pixels
        rng.random((3, 1))
    np.testing.assert_array_equal(model.sample(3, rng, top=full[:, :2]), full)
    other = model.sample(3, np.random.default_rng(15), top=(full[:, :2] + 1) % 3)
    np.testing.assert_array_equal(other[:, :2], (full[:, :2] + 1) % 3)
    np.testing.assert_array_equal(model.sample(3, rng, top=full), full)  # nothing left to draw
    with pytest.raises(ValueError, match=r"top must have shape \(3, rows <= 4, 5\)"):
        model.sample(3, np.random.default_rng(16), top=full[:2, :2])


@pytest.mark.parametrize("kernel_size, mask, expected", [
    (3, "A", [(-1, -1), (-1, 0), (-1, 1), (0, -1)]),
    (3, "B", [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 0)]),
    (1, "B", [(0, 0)]),
])
def test_causal_offsets_keep_the_rows_above_and_the_left_of_the_centre(kernel_size, mask, expected):
    assert causal_offsets(kernel_size, mask) == expected
    offsets = causal_offsets(5, mask)
    assert len(offsets) == 12 + (mask == "B") and all(dr < 0 or (dr == 0 and dc <= 0) for dr, dc in offsets)
    with pytest.raises(ValueError, match="odd and positive"):
        causal_offsets(4, mask)


def test_masked_conv2d_is_a_convolution_with_the_later_taps_zeroed():
    rng = np.random.default_rng(4)
    conv = nn.MaskedConv2d(2, 3, kernel_size=3, mask="A", rng=rng)
    x = rng.standard_normal((1, 4, 5, 2))
    got = conv(minigrad.Tensor(x)).data
    kernel = np.zeros((3, 3, 3, 2))  # (out, kernel row, kernel column, in): the full 3 x 3 kernel
    for s, (dr, dc) in enumerate(conv.offsets):
        kernel[:, dr + 1, dc + 1] = conv.weight.data[:, 2 * s:2 * s + 2]
    padded = np.pad(x[0], ((1, 1), (1, 1), (0, 0)))
    expected = np.array([[np.einsum("oki,ki->o", kernel.reshape(3, 9, 2), padded[r:r + 3, j:j + 3].reshape(9, 2))
                          for j in range(5)] for r in range(4)]) + conv.bias.data
    np.testing.assert_allclose(got[0], expected, rtol=1e-12)
    assert not kernel[:, 1, 1:].any() and not kernel[:, 2].any()  # the centre, its right and the row below
    assert minigrad.gradcheck(lambda x, *p: conv(x), minigrad.Tensor(x, requires_grad=True), *conv.parameters())


def test_pixel_cnn_is_causal_and_has_a_blind_spot_up_and_to_the_right():
    """Two 3 x 3 layers: the target (2, 1) sees row 1 up to column 2 and row 0 up to column 3, never beyond."""
    model = nn.PixelCNN(4, 6, levels=3, hidden_size=4, embedding_dim=3, num_layers=2, rng=np.random.default_rng(5))
    images = np.random.default_rng(6).integers(0, 3, size=(3, 4, 6))
    seen = pixel_influence(model, images, 2, 1, levels=3) > 0
    expected = np.zeros((4, 6), dtype=bool)
    expected[0, :4] = expected[1, :3] = expected[2, 0] = True
    np.testing.assert_array_equal(seen, expected)


def test_pixel_cnn_gradcheck_and_arguments():
    model = nn.PixelCNN(3, 4, levels=3, hidden_size=3, embedding_dim=2, num_layers=3, rng=np.random.default_rng(7))
    images = np.random.default_rng(8).integers(0, 3, size=(2, 3, 4))
    assert minigrad.gradcheck(lambda *p: model.log_prob(images), *model.parameters())
    assert model.sample(2, np.random.default_rng(0)).shape == (2, 3, 4)
    with pytest.raises(ValueError, match="num_layers must be at least 1"):
        nn.PixelCNN(3, 4, levels=3, hidden_size=3, num_layers=0)
    with pytest.raises(ValueError, match="PixelCNN: pixel values"):
        model.log_prob(np.full((1, 3, 4), 3))
