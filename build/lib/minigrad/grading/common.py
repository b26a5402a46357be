"""Small helpers shared by the chapters' question modules (``chNN.py``): reading a ``numbers`` answer,
drawing array arguments, comparing with a reference and wording the outcome.

Every function runs in the grader's process, on answers that crossed the wire as plain data (see
:mod:`minigrad.grading.wire`).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

__all__ = ["TOL", "where", "numbers", "random_array", "close", "close_scalar", "first_difference"]

TOL = 1e-8
"""The default relative and absolute tolerance of :func:`close` and :func:`first_difference`."""


def where(cases: Sequence[dict]) -> str:
    """"on the visible case", or "on the visible case and 2 hidden cases"."""
    hidden = sum(case["label"].startswith("hidden") for case in cases)
    return "on the visible case" + (f" and {hidden} hidden case{'s' * (hidden != 1)}" if hidden else "")


def numbers(answer: Any) -> np.ndarray:
    """The float64 array of a ``numbers`` answer (its ``shape`` and flat ``values``), validated.

    Raises:
        ValueError: the number of values does not fit the shape.
    """
    shape = tuple(int(n) for n in answer["shape"])
    values = np.array([float(v) for v in answer["values"]], dtype=np.float64)
    if values.size != math.prod(shape):
        raise ValueError("shape and values disagree")
    return values.reshape(shape)


def random_array(rng: np.random.Generator, shape: tuple[int, ...], scale: float = 1.0) -> dict:
    """An ``array`` argument of normal draws with standard deviation ``scale``, rounded to 3 decimals."""
    return {"array": np.round(rng.normal(scale=scale, size=shape), 3).tolist()}


def close(got: np.ndarray, expected: np.ndarray, tol: float = TOL) -> bool:
    """Same shape, finite, and equal to ``tol`` relative to the size of ``expected``.

    Entry-wise :math:`|g_i - e_i| \\le \\text{tol}\\,|e_i| + \\text{tol}\\,(1 + \\max_j |e_j|)`.
    """
    return (got.shape == expected.shape and bool(np.all(np.isfinite(got)))
            and np.allclose(got, expected, rtol=tol, atol=tol * (1.0 + np.abs(expected).max(initial=0.0))))


def close_scalar(got: float, expected: float, rtol: float = 1e-6) -> bool:
    """Finite and :math:`|g - e| \\le \\text{rtol}\\,(1 + |e|)`, for one number."""
    return math.isfinite(got) and abs(got - expected) <= rtol * (1.0 + abs(expected))


def first_difference(got: np.ndarray, expected: np.ndarray, rtol: float = TOL, atol: float = TOL,
                     spec: str = ".6g") -> str:
    """``entry (1, 2) is 0.1234, expected 0.5678`` for the first entry that disagrees.

    An entry disagrees when it is not finite or not within ``np.isclose(rtol, atol)`` of the
    reference; numbers are printed with the format ``spec``.
    """
    if got.shape != expected.shape:
        return f"the answer has shape {got.shape}, expected {expected.shape}"
    bad = np.argwhere(~np.isclose(got, expected, rtol=rtol, atol=atol) | ~np.isfinite(got))
    index = tuple(int(i) for i in bad[0]) if len(bad) else ()
    return f"entry {index} is {got[index]:{spec}}, expected {expected[index]:{spec}}"
