"""Small helpers shared by the chapters' question modules (``chNN.py``): reading a ``numbers`` answer,
drawing array arguments, comparing with a reference and wording the outcome.

Every function runs in the grader's process, on answers that crossed the wire as plain data (see
:mod:`minigrad.grading.wire`).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from minigrad.grading.registry import Outcome
from minigrad.grading.wire import build_argument

__all__ = ["TOL", "where", "numbers", "random_array", "close", "close_scalar", "apart", "versus",
           "first_difference", "three_ways", "same_expression", "grade_derivation"]

TOL = 1e-8
"""The default relative and absolute tolerance of :func:`close` and :func:`first_difference`."""


def where(cases: Sequence[dict]) -> str:
    """"on the visible case", "on the 2 visible cases", or "on the visible case and 2 hidden cases"."""
    hidden = sum(case["label"].startswith("hidden") for case in cases)
    visible = len(cases) - hidden
    text = "on the visible case" if visible == 1 else f"on the {visible} visible cases"
    return text + (f" and {hidden} hidden case{'s' * (hidden != 1)}" if hidden else "")


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


def _width(values: Sequence[float], digits: int) -> int:
    """The fewest significant digits, at least ``digits``, that print differing values differently."""
    distinct = len({float(v) for v in values})
    return next((width for width in range(digits, 18)
                 if len({f"{float(v):.{width}g}" for v in values}) == distinct), 17)


def apart(*values: float, digits: int = 4) -> list[str]:
    """The numbers as text, with the fewest significant digits (at least ``digits``) that tell apart
    every two of them that differ, so that different values never print alike.

    ``apart(0.66081234, 0.66080001)`` is ``["0.66081", "0.6608"]``: four digits would print both as
    0.6608.
    """
    width = _width(values, digits)
    return [f"{float(v):.{width}g}" for v in values]


def versus(got: float, expected: float, digits: int = 4) -> str:
    """``0.6608, expected 0.6609``, printed by :func:`apart`, and the difference itself when more
    than ``digits + 2`` digits were needed: ``0.66081234, expected 0.66080001 (off by 1.23e-05)``."""
    mine, theirs = apart(got, expected, digits=digits)
    text = f"{mine}, expected {theirs}"
    if _width((got, expected), digits) > digits + 2 and math.isfinite(got):
        text += f" (off by {got - expected:.3g})"
    return text


def first_difference(got: np.ndarray, expected: np.ndarray, rtol: float = TOL, atol: float = TOL,
                     digits: int = 6) -> str:
    """``entry (1, 2) is 0.1234, expected 0.5678`` for the first entry that disagrees.

    An entry disagrees when it is not finite or not within ``np.isclose(rtol, atol)`` of the
    reference; the numbers are printed by :func:`versus`, with at least ``digits`` significant
    digits and as many more as they need to differ.
    """
    if got.shape != expected.shape:
        return f"the answer has shape {got.shape}, expected {expected.shape}"
    bad = np.argwhere(~np.isclose(got, expected, rtol=rtol, atol=atol) | ~np.isfinite(got))
    index = tuple(int(i) for i in bad[0]) if len(bad) else ()
    return f"entry {index} is {versus(got[index], expected[index], digits)}"


def three_ways(yours: Any, autograd: float, finite: float) -> str:
    """``it is 0.2023, autograd gives 0.2655 and finite differences 0.2655`` for a derivative
    evaluated at a point (a SymPy number or a float), with enough digits to tell apart the values
    that differ (see :func:`apart`)."""
    try:
        value = float(yours)
    except (TypeError, ValueError):  # complex, or not a number at all
        from minigrad.symbolic import short_number

        return (f"it is {short_number(yours)}, autograd gives {autograd:.6g} and finite differences "
                f"{finite:.6g}")
    mine, auto, fd = apart(value, autograd, finite, digits=6)
    return f"it is {mine}, autograd gives {auto} and finite differences {fd}"


def same_expression(got: Any, expected: Any) -> bool:
    """Whether a SymPy answer equals the reference: by :func:`minigrad.symbolic.equal` (expand and
    cancel, also in exponentials), else by :func:`minigrad.symbolic.numerically_equal`, so that a
    correct answer in a form SymPy cannot bring together is never called different."""
    from minigrad.symbolic import equal, numerically_equal

    return equal(got, expected) or numerically_equal(got, expected)


def grade_derivation(quantity: str, reference: Callable[..., dict], mistakes: Callable[..., dict], points: int,
                     what: str) -> Callable[[Sequence[dict], Sequence[Any]], Outcome]:
    """The grade function of a derived gradient: right when it matches autograd and finite differences.

    Args:
        quantity: what the answer computes, for the messages (``"∂L/∂h"``).
        reference: ``reference(*args)`` gives ``{"autograd": ..., "finite": ...}`` on a case's arguments.
        mistakes: ``mistakes(*args)`` gives ``{why: wrong answer}`` for the slips to name.
        points: the credit when every case passes.
        what: the object of the success message (``"of the minimal gated unit"``).
    """
    def grade(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
        for case, answer in zip(cases, answers):
            args = [build_argument(spec) for spec in case["args"]]
            got, references = numbers(answer), reference(*args)
            if close(got, references["autograd"]):
                if close(got, references["finite"], 1e-6):
                    continue
                return Outcome("failed", 0, f"{quantity} differs from finite differences: "
                                            f"{first_difference(got, references['finite'])} ({case['label']})")
            hint = next((f"; this is what you get if you {why}" for why, wrong in mistakes(*args).items()
                         if close(got, wrong)), "")
            return Outcome("failed", 0, f"{quantity} differs from autograd: "
                                        f"{first_difference(got, references['autograd'])}{hint} ({case['label']})")
        return Outcome("passed", points, f"{quantity} {what} matches autograd and finite differences {where(cases)}")

    return grade
