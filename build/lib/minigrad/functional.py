"""Functions of tensors that are not methods: softmax, cross-entropy, one-hot, embedding, dropout.

Import it as ``import minigrad.functional as F``. Softmax and cross-entropy are single operations
with their own backward pass, both for numerical stability (the max is subtracted before
exponentiating) and because their gradient is simple: for a softmax output :math:`\\hat{y}` and
the target class :math:`y`, :math:`\\nabla_{o} L = \\hat{y} - \\mathbf{1}_{y}` (chapter 4).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.autograd import Function
from minigrad.tensor import Tensor, as_tensor

__all__ = ["check_range", "cross_entropy", "dropout", "embedding", "log_softmax", "one_hot", "softmax"]


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    out = x - x.max(axis=axis, keepdims=True)
    out -= np.log(np.exp(out).sum(axis=axis, keepdims=True))
    return out


class Softmax(Function):
    """:math:`\\hat{y}_i = e^{x_i} / \\sum_j e^{x_j}`, so :math:`\\bar{x} = \\hat{y} \\odot (\\bar{y} - \\langle \\bar{y}, \\hat{y} \\rangle)`."""

    def forward(ctx, x, axis=-1):
        out = np.exp(_log_softmax(x, axis))
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    def backward(ctx, grad_out):
        (out,) = ctx.saved_tensors
        return out * (grad_out - (grad_out * out).sum(axis=ctx.axis, keepdims=True))


class LogSoftmax(Function):
    """:math:`y_i = x_i - \\log \\sum_j e^{x_j}`, so :math:`\\bar{x} = \\bar{y} - \\text{softmax}(x) \\sum_j \\bar{y}_j`."""

    def forward(ctx, x, axis=-1):
        out = _log_softmax(x, axis)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    def backward(ctx, grad_out):
        (out,) = ctx.saved_tensors
        return grad_out - np.exp(out) * grad_out.sum(axis=ctx.axis, keepdims=True)


class CrossEntropy(Function):
    """:math:`L_n = -\\log \\text{softmax}(o_n)_{y_n}`, so :math:`\\nabla_{o_n} L_n = \\hat{y}_n - \\mathbf{1}_{y_n}`.

    Rows whose target is ``ignore_index`` contribute nothing, and the mean is over the other rows.
    """

    def forward(ctx, logits, targets, reduction="mean", ignore_index=None):
        n = logits.shape[0]
        keep = None if ignore_index is None else targets != ignore_index
        safe_targets = targets if keep is None else np.where(keep, targets, 0)
        log_probs = _log_softmax(logits, 1)
        losses = -log_probs[np.arange(n), safe_targets]
        count = n
        if keep is not None:
            losses = losses * keep
            count = int(keep.sum())
        ctx.save_for_backward(log_probs, safe_targets, keep)
        ctx.reduction, ctx.count = reduction, count
        if reduction == "none":
            return losses
        total = losses.sum()
        if reduction == "sum":
            return total
        return total / count if count else np.asarray(np.nan, dtype=logits.dtype)

    def backward(ctx, grad_out):
        log_probs, targets, keep = ctx.saved_tensors
        grad = np.exp(log_probs)
        grad[np.arange(len(targets)), targets] -= 1
        if keep is not None:
            grad *= keep[:, None]
        if ctx.reduction == "none":
            grad *= grad_out[:, None]
        else:
            grad *= grad_out / ctx.count if ctx.reduction == "mean" else grad_out
        return grad, None

    @classmethod
    def op_name(cls) -> str:
        return "cross_entropy"


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """Softmax along ``axis``: :math:`\\hat{y}_i = e^{x_i - \\max x} / \\sum_j e^{x_j - \\max x}` (chapter 3)."""
    return Softmax.apply(x, axis=axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """Log of the softmax along ``axis``, computed stably as :math:`x - \\max x - \\log\\sum e^{x - \\max x}`."""
    return LogSoftmax.apply(x, axis=axis)


def cross_entropy(
    logits: Tensor,
    targets: Any,
    reduction: str = "mean",
    ignore_index: int | None = None,
) -> Tensor:
    """Softmax cross-entropy of integer class targets: :math:`L = -\\sum_n \\log \\hat{y}_{n, y_n}` (chapter 6).

    Args:
        logits: unnormalised scores :math:`o`, shape (N, C).
        targets: class indices, integers of shape (N,); a tensor, array or list.
        reduction: ``"mean"`` over the counted rows, ``"sum"``, or ``"none"`` (one loss per row).
        ignore_index: a target value (e.g. the padding index) whose rows are left out.

    Returns:
        A scalar tensor (or shape (N,) for ``reduction="none"``).

    Raises:
        ValueError: for logits that are not 2-D, targets that do not match, targets out of range,
            or an unknown reduction.
        TypeError: for non-integer targets.
    """
    logits = as_tensor(logits)
    targets = as_tensor(targets)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"cross_entropy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if logits.ndim != 2:
        raise ValueError(
            f"cross_entropy: logits must have shape (N, C), got {logits.shape}; flatten the batch axes "
            "first, e.g. logits.reshape(-1, C) with targets.reshape(-1)"
        )
    if targets.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: targets must be integer class indices, got dtype {targets.dtype}")
    n, classes = logits.shape
    if targets.shape != (n,):
        raise ValueError(f"cross_entropy: logits {logits.shape} need targets of shape ({n},), got {targets.shape}")
    counted = targets.data if ignore_index is None else targets.data[targets.data != ignore_index]
    check_range(counted, classes, "cross_entropy: targets", f" for logits {logits.shape}")
    return CrossEntropy.apply(logits, targets, reduction=reduction, ignore_index=ignore_index)


def check_range(values: np.ndarray, upper: int, what: str, context: str = "") -> None:
    """Check that integer ``values`` lie in ``[0, upper)``, as class indices must.

    Raises:
        ValueError: "``what`` must lie in [0, upper)``context``, found values from ... to ...".
    """
    if values.size and (values.min() < 0 or values.max() >= upper):
        raise ValueError(f"{what} must lie in [0, {upper}){context}, found values from {values.min()} to {values.max()}")


def _integer_indices(indices: Any, op: str) -> np.ndarray:
    array = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be integers, got dtype {array.dtype}")
    return array


def one_hot(indices: Any, num_classes: int, dtype: Any = np.float64) -> Tensor:
    """Rows of the identity: ``one_hot(i, C)[..., k]`` is 1 where ``k == i``; shape ``indices.shape + (C,)``."""
    array = _integer_indices(indices, "one_hot")
    check_range(array, num_classes, "one_hot: indices")
    return Tensor(np.eye(num_classes, dtype=dtype)[array])


def embedding(indices: Any, weight: Tensor) -> Tensor:
    """Look up rows of ``weight``: :math:`x^{(t)} = E[i_t]`, shape ``indices.shape + (D,)`` (chapter 6).

    Equal to ``one_hot(indices, V) @ weight`` without the matrix product; the backward pass adds
    each gradient row into ``weight``'s row (repeated indices add up).
    """
    array = _integer_indices(indices, "embedding")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must have shape (num_embeddings, embedding_dim), got {weight.shape}")
    check_range(array, weight.shape[0], "embedding: indices", f" for weight {weight.shape}")
    return weight[array]


def dropout(x: Tensor, p: float, training: bool = True, rng: np.random.Generator | None = None) -> Tensor:
    """Inverted dropout: zero each element with probability ``p`` and scale the rest by :math:`1/(1-p)` (chapter 7).

    Args:
        x: input tensor.
        p: drop probability in [0, 1).
        training: if False, return ``x`` unchanged.
        rng: the generator that draws the mask (a fresh unseeded one if omitted).
    """
    if not 0 <= p < 1:
        raise ValueError(f"dropout: p must be in [0, 1), got {p}")
    if not training or p == 0:
        return x
    rng = np.random.default_rng() if rng is None else rng
    keep = rng.random(x.shape) >= p
    return x * Tensor._constant((keep / (1 - p)).astype(x.dtype))
