"""Check the engine's gradients against central finite differences, in float64.

For a function :math:`f` and each input entry :math:`x_i`,

.. math::  \\frac{\\partial f}{\\partial x_i} \\approx \\frac{f(x + \\varepsilon e_i) - f(x - \\varepsilon e_i)}{2 \\varepsilon},

with an error of order :math:`\\varepsilon^2`. A function with a non-scalar output is first reduced
to :math:`\\langle f(x), r \\rangle` with a fixed random :math:`r`, which checks every entry of the
output at once (chapter 4 and the minigrad appendix).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from minigrad.autograd import no_grad
from minigrad.tensor import Tensor

__all__ = ["GradcheckError", "central_difference", "gradcheck"]


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` when an analytic gradient disagrees with finite differences."""


def central_difference(f: Callable[[], float], array: np.ndarray, index: tuple, eps: float) -> float:
    """:math:`(f(x + \\varepsilon e_i) - f(x - \\varepsilon e_i)) / 2\\varepsilon` for the entry ``array[index]``.

    ``f`` reads ``array`` (a float64 array it depends on), which is shifted in place for the two
    evaluations and restored afterwards.
    """
    original = array[index]
    array[index] = original + eps
    plus = f()
    array[index] = original - eps
    minus = f()
    array[index] = original
    return (plus - minus) / (2 * eps)


def gradcheck(
    fn: Callable[..., Tensor],
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-6,
    rtol: float = 1e-4,
    seed: int = 0,
) -> bool:
    """Compare ``backward()``'s gradients of ``fn(*inputs)`` with central differences.

    Every input tensor that requires grad is checked, entry by entry; other inputs (integer
    targets, arrays, numbers) are passed through unchanged. The inputs' data and ``.grad`` are
    left as they were.

    Args:
        fn: function of the inputs returning a tensor.
        *inputs: the arguments of ``fn``; tensors to check must be float64 and require grad.
        eps: the finite-difference step.
        atol, rtol: an entry passes when :math:`|g_\\text{analytic} - g_\\text{numeric}| \\le
            \\text{atol} + \\text{rtol} \\, |g_\\text{numeric}|`.
        seed: seeds the random projection of a non-scalar output.

    Returns:
        True when every entry passes.

    Raises:
        GradcheckError: naming the input, the index and the relative error of the worst entry.
        TypeError: if an input to check is not float64, or no input requires grad.
    """
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise TypeError("gradcheck: no input is a tensor with requires_grad=True")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} is {inputs[i].dtype}; finite differences need float64")

    projection = None

    def scalar_output() -> Tensor:
        nonlocal projection
        out = fn(*inputs)
        if out.data.size == 1:
            return out.sum()
        if projection is None:
            projection = np.random.default_rng(seed).standard_normal(out.shape)
        return (out * projection).sum()

    saved_grads = [inputs[i].grad for i in checked]
    for i in checked:
        inputs[i].grad = None
    try:
        scalar_output().backward()
        analytic = [np.zeros(inputs[i].shape) if inputs[i].grad is None else inputs[i].grad for i in checked]
        worst = (0.0, None)  # (how far past the tolerance, details)
        for i, grad in zip(checked, analytic):
            data = inputs[i].data
            with no_grad():
                for index in np.ndindex(data.shape):
                    numeric = central_difference(lambda: scalar_output().item(), data, index, eps)
                    error = abs(grad[index] - numeric)
                    excess = error / (atol + rtol * abs(numeric))
                    if excess > 1 and excess > worst[0]:
                        worst = (excess, (i, index, grad[index], numeric, error))
    finally:
        for i, grad in zip(checked, saved_grads):
            inputs[i].grad = grad
    if worst[1] is not None:
        i, index, a, n, error = worst[1]
        relative = error / max(abs(a), abs(n), 1e-300)
        raise GradcheckError(
            f"gradcheck failed: worst entry is input {i} (shape {inputs[i].shape}) at index {index}: "
            f"analytic {a:.6e}, numeric {n:.6e}, relative error {relative:.2e} "
            f"(atol={atol:g}, rtol={rtol:g}, eps={eps:g})"
        )
    return True
