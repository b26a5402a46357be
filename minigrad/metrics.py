"""Evaluation measures: perplexity and accuracy over real (unpadded) tokens (chapters 6 and 7), edit
distance and the phoneme and word error rates of a transducer (chapter 5), bits per pixel and the
two count baselines of image models, independent pixels and a neighbour context (chapter 12)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["perplexity", "masked_accuracy", "edit_distance", "phoneme_error_rate", "word_error_rate",
           "bits_per_pixel", "independent_pixel_log_prob", "neighbour_pixel_log_prob", "mixture_log_probs",
           "best_mixture_weight"]


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


def edit_distance(a, b) -> int:
    """The Levenshtein distance: the fewest substitutions, insertions and deletions that turn ``a`` into ``b`` (chapter 5).

    Dynamic programming over prefixes: with :math:`D_{i,j}` the distance between the first
    :math:`i` items of ``a`` and the first :math:`j` of ``b``,

    .. math:: D_{i,j} = \\min\\big(D_{i-1,j} + 1,\\; D_{i,j-1} + 1,\\;
        D_{i-1,j-1} + [a_i \\ne b_j]\\big), \\qquad D_{i,0} = i,\\; D_{0,j} = j .

    Args:
        a, b: sequences of comparable items (strings, tuples of phonemes, lists of ids).
    """
    a, b = list(a), list(b)
    previous = list(range(len(b) + 1))
    for i, item in enumerate(a, start=1):
        current = [i]
        for j, other in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (item != other)))
        previous = current
    return previous[-1]


def _check_references(predictions, references, who: str) -> None:
    if len(predictions) != len(references) or not predictions:
        raise ValueError(f"{who}: need one list of references per prediction, got {len(predictions)} "
                         f"predictions and {len(references)} reference lists")
    if any(len(refs) == 0 for refs in references):
        raise ValueError(f"{who}: every prediction needs at least one reference")


def phoneme_error_rate(predictions, references) -> float:
    """Edits per reference phoneme, against each word's closest reference (chapter 5).

    .. math:: \\text{PER} = \\frac{\\sum_i \\min_r d(\\hat{y}_i, y_{i,r})}{\\sum_i |y_{i,r_i^\\ast}|}

    where :math:`d` is :func:`edit_distance` and :math:`r_i^\\ast` the reference of word :math:`i`
    closest to its prediction (the shortest of those tied). A word with several correct
    pronunciations is scored against the one the prediction chose.

    Args:
        predictions: one predicted sequence per word.
        references: one list of acceptable sequences per word.
    """
    _check_references(predictions, references, "phoneme_error_rate")
    edits = length = 0
    for predicted, refs in zip(predictions, references):
        distance, size = min((edit_distance(predicted, ref), len(ref)) for ref in refs)
        edits, length = edits + distance, length + size
    if length == 0:
        raise ValueError("phoneme_error_rate: the references are empty")
    return edits / length


def word_error_rate(predictions, references) -> float:
    """The fraction of words whose prediction matches none of their references exactly (chapter 5).

    Args:
        predictions: one predicted sequence per word.
        references: one list of acceptable sequences per word.
    """
    _check_references(predictions, references, "word_error_rate")
    wrong = sum(tuple(predicted) not in {tuple(ref) for ref in refs}
                for predicted, refs in zip(predictions, references))
    return wrong / len(predictions)


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
    train, images = _check_images(train, images, levels, alpha, "independent_pixel_log_prob")
    pixels = train.reshape(len(train), -1)
    counts = (pixels[:, :, None] == np.arange(levels)).sum(axis=0) + alpha  # (D, K)
    log_table = np.log(counts / counts.sum(axis=1, keepdims=True))
    scored = images.reshape(len(images), -1)
    return log_table[np.arange(scored.shape[1]), scored].sum(axis=1)


def _check_images(train, images, levels: int, alpha: float, who: str) -> tuple[np.ndarray, np.ndarray]:
    train, images = np.asarray(train), np.asarray(images)
    for name, array in (("train", train), ("images", images)):
        out_of_range = array.size and (array.min() < 0 or array.max() >= levels)
        if array.ndim < 2 or array.dtype.kind not in "iu" or out_of_range:
            raise ValueError(f"{who}: {name} must be integer images (N, ...) with values in "
                             f"[0, {levels}), got {array.dtype} {array.shape}")
    if train.shape[1:] != images.shape[1:] or alpha <= 0:
        raise ValueError(f"{who}: train images {train.shape[1:]} and scored images "
                         f"{images.shape[1:]} must have the same shape, and alpha > 0 (got {alpha})")
    return train, images


def _neighbour_contexts(images: np.ndarray, levels: int) -> np.ndarray:
    """Per pixel of images :math:`(N, R, C)`, the context id :math:`(K + 1)\\,x_\\uparrow + x_\\leftarrow`.

    The pixel above and the pixel to the left, each a level or :math:`K` outside the image.
    """
    padded = np.pad(images, ((0, 0), (1, 0), (1, 0)), constant_values=levels)
    return (levels + 1) * padded[:, :-1, 1:] + padded[:, 1:, :-1]


def neighbour_pixel_log_prob(train, images, levels: int, alpha: float = 1.0) -> np.ndarray:
    """Log-probabilities of ``images`` under a count model of each pixel given its two nearest past neighbours (chapter 12).

    The image analogue of the n-gram of chapter 6: the pixel above and the pixel to the left
    (:math:`x_\\uparrow`, :math:`x_\\leftarrow`, a level or "outside the image") form the context,
    shared by all positions, and

    .. math:: p(x) = \\prod_{i=1}^{D} \\frac{c(x_\\uparrow, x_\\leftarrow, x_i) + \\alpha}
        {c(x_\\uparrow, x_\\leftarrow) + \\alpha K}

    where :math:`c(u, l, v)` counts the training pixels with value :math:`v` whose neighbours are
    :math:`u` and :math:`l`, and :math:`c(u, l)` the training pixels with those neighbours. Both
    neighbours come before the pixel in raster order, so this is a causal model of the kind
    PixelRNN is, with a context of two pixels and no learning beyond counting.

    Args:
        train: integer training images :math:`(N, R, C)`, values in ``0..levels-1``.
        images: integer images :math:`(M, R, C)` to score.
        levels: :math:`K`.
        alpha: the pseudo-count :math:`\\alpha > 0` (choose it on held-out images).

    Returns:
        :math:`\\log p(x)` in nats for each image, :math:`(M,)`.
    """
    train, images = _check_images(train, images, levels, alpha, "neighbour_pixel_log_prob")
    if train.ndim != 3:
        raise ValueError(f"neighbour_pixel_log_prob: images must be (N, R, C), got {train.shape}")
    contexts = (levels + 1) ** 2
    counts = np.zeros((contexts, levels))
    np.add.at(counts, (_neighbour_contexts(train, levels).ravel(), train.ravel()), 1.0)
    counts += alpha
    log_table = np.log(counts / counts.sum(axis=1, keepdims=True))
    return log_table[_neighbour_contexts(images, levels), images].reshape(len(images), -1).sum(axis=1)


def mixture_log_probs(log_p, log_q, weight: float) -> np.ndarray:
    """Log-probabilities of the linear interpolation of two models, token by token (chapter 6).

    .. math:: \\log\\big(\\lambda\\, p(y_t \\mid y_{<t}) + (1 - \\lambda)\\, q(y_t \\mid y_{<t})\\big)

    computed from :math:`\\log p` and :math:`\\log q` without leaving the log domain. A mixture
    of two distributions is a distribution, so the result is a language model too.

    Args:
        log_p, log_q: the two models' log-probabilities of the same tokens, in nats.
        weight: :math:`\\lambda \\in [0, 1]`, the weight of the first model.
    """
    log_p, log_q = np.asarray(log_p, dtype=np.float64), np.asarray(log_q, dtype=np.float64)
    if log_p.shape != log_q.shape or not 0 <= weight <= 1:
        raise ValueError(f"mixture_log_probs: need log-probabilities of the same tokens and a weight in [0, 1], "
                         f"got shapes {log_p.shape} and {log_q.shape} and weight {weight}")
    with np.errstate(divide="ignore"):
        return np.logaddexp(np.log(weight) + log_p, np.log1p(-weight) + log_q)


def best_mixture_weight(log_p, log_q, steps: int = 20) -> float:
    """The weight :math:`\\lambda` on the grid :math:`0, 1/s, \\dots, 1` whose mixture gives the most log-probability (chapter 6).

    Pass held-out (validation) log-probabilities, so that the weight is chosen on data neither
    model was trained on; then score the test tokens with :func:`mixture_log_probs`.
    """
    grid = np.linspace(0.0, 1.0, steps + 1)
    return float(grid[int(np.argmax([mixture_log_probs(log_p, log_q, w).sum() for w in grid]))])
