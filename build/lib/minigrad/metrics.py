"""Evaluation measures: perplexity and accuracy over real (unpadded) tokens (chapters 6 and 7), bits per
pixel and the independent-pixel baseline of image models (chapter 12)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["perplexity", "masked_accuracy", "bits_per_pixel", "independent_pixel_log_prob"]


def perplexity(losses, counts=None) -> float:
    """Perplexity from negative log-likelihoods in nats (chapter 6).

    .. math:: \\text{PPL} = \\exp\\Big(\\frac{\\sum_i L_i}{\\sum_i n_i}\\Big)

    where :math:`L_i = -\\log p(y^{(i)})` is the loss of sequence :math:`i` and :math:`n_i` its
    number of tokens: the exponential of the cross-entropy per token, pooled over all tokens (not
    the mean of per-sequence perplexities).

    Args:
        losses: per-sequence (or per-token) losses :math:`L_i`, in nats.
        counts: the tokens :math:`n_i` behind each loss; ``None`` means one token each.
    """
    losses = np.asarray(losses, dtype=np.float64)
    counts = np.ones_like(losses) if counts is None else np.asarray(counts, dtype=np.float64)
    if losses.shape != counts.shape or counts.sum() <= 0:
        raise ValueError(f"perplexity: need one positive count per loss, got losses {losses.shape} "
                         f"and counts {counts.shape} summing to {counts.sum()}")
    return math.exp(losses.sum() / counts.sum())


def masked_accuracy(logits, targets, ignore_index: int = -1) -> float:
    """The fraction of real tokens whose highest-scoring class is the target (chapter 7).

    .. math:: \\text{acc} = \\frac{\\sum_{t, b} [\\arg\\max_c o^{(t)}_{b,c} = y^{(t)}_b]\\,
        [y^{(t)}_b \\ne \\text{pad}]}{\\sum_{t, b} [y^{(t)}_b \\ne \\text{pad}]}

    pooled over all real tokens of the batch (padding positions, whose target is ``ignore_index``,
    count neither as right nor as wrong).

    Args:
        logits: scores :math:`(\\ast, C)` (a tensor or an array).
        targets: integer targets :math:`(\\ast)`.
        ignore_index: the target value of padding positions.
    """
    scores = np.asarray(getattr(logits, "data", logits))
    targets = np.asarray(targets)
    if scores.shape[:-1] != targets.shape:
        raise ValueError(f"masked_accuracy: logits {scores.shape} need targets of shape {scores.shape[:-1]}, "
                         f"got {targets.shape}")
    real = targets != ignore_index
    if not real.any():
        raise ValueError("masked_accuracy: every target is padding")
    return float((scores.argmax(axis=-1) == targets)[real].mean())


def bits_per_pixel(log_probs, pixels_per_image: int) -> float:
    """The negative log-likelihood of images in bits per pixel (chapter 12).

    .. math:: \\text{bpp} = -\\frac{1}{N D \\ln 2} \\sum_{n=1}^{N} \\log p(x^{(n)})

    for :math:`N` images of :math:`D` pixels each, with :math:`\\log p` in nats: the average
    number of bits a code built from the model spends on one pixel.

    Args:
        log_probs: :math:`\\log p(x^{(n)})` in nats, one per image (a tensor or an array).
        pixels_per_image: :math:`D`.
    """
    log_probs = np.asarray(getattr(log_probs, "data", log_probs), dtype=np.float64)
    if log_probs.ndim != 1 or log_probs.size == 0 or pixels_per_image < 1:
        raise ValueError(f"bits_per_pixel: need a non-empty 1-D array of log-probabilities and a positive pixel "
                         f"count, got shape {log_probs.shape} and {pixels_per_image}")
    return float(-log_probs.mean() / (pixels_per_image * math.log(2)))


def independent_pixel_log_prob(train, images, levels: int, alpha: float = 1.0) -> np.ndarray:
    """Log-probabilities of ``images`` under a model whose pixels are independent (chapter 12).

    Every pixel position :math:`i` gets its own histogram of the training images, smoothed by
    adding :math:`\\alpha` to every count (add-one smoothing for :math:`\\alpha = 1`):

    .. math:: p(x) = \\prod_{i=1}^{D} \\frac{c_i(x_i) + \\alpha}{N + \\alpha K}

    where :math:`c_i(v)` counts the :math:`N` training images whose pixel :math:`i` has value
    :math:`v` and :math:`K` is the number of levels. It is the baseline an autoregressive model must
    beat: it knows where ink usually is, but not how pixels go together.

    Args:
        train: integer training images :math:`(N, \\ldots)`, values in ``0..levels-1``.
        images: integer images :math:`(M, \\ldots)` of the same shape to score.
        levels: :math:`K`.
        alpha: the pseudo-count :math:`\\alpha > 0`.

    Returns:
        :math:`\\log p(x)` in nats for each image, :math:`(M,)`.
    """
    train, images = np.asarray(train), np.asarray(images)
    for name, array in (("train", train), ("images", images)):
        out_of_range = array.size and (array.min() < 0 or array.max() >= levels)
        if array.ndim < 2 or array.dtype.kind not in "iu" or out_of_range:
            raise ValueError(f"independent_pixel_log_prob: {name} must be integer images (N, ...) with values in "
                             f"[0, {levels}), got {array.dtype} {array.shape}")
    if train.shape[1:] != images.shape[1:] or alpha <= 0:
        raise ValueError(f"independent_pixel_log_prob: train images {train.shape[1:]} and scored images "
                         f"{images.shape[1:]} must have the same shape, and alpha > 0 (got {alpha})")
    pixels = train.reshape(len(train), -1)
    counts = (pixels[:, :, None] == np.arange(levels)).sum(axis=0) + alpha  # (D, K)
    log_table = np.log(counts / counts.sum(axis=1, keepdims=True))
    scored = images.reshape(len(images), -1)
    return log_table[np.arange(scored.shape[1]), scored].sum(axis=1)
