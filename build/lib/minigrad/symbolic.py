"""Small SymPy helpers for derivations: exact equality and exact substitution (chapters 2, 4, 8-11).

Two expressions are equal when their difference expands, or cancels as a rational function, to
zero. We never call ``sympy.simplify``: its result depends on heuristics and it can take minutes;
``expand`` and ``cancel`` are decision procedures for the polynomials and rational functions our
derivations produce. SymPy is imported inside the functions, so ``import minigrad`` needs only
numpy.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Iterable, Mapping

__all__ = ["equal", "substitute", "unexpected_symbols", "short_number", "abbreviate", "sigmoid"]


def equal(a: Any, b: Any) -> bool:
    """Whether ``a - b`` is zero after ``expand``, or after ``cancel`` for rational functions.

    Args:
        a: a SymPy expression (or a number).
        b: a SymPy expression (or a number).

    Returns:
        ``True`` when the difference reduces to 0. ``False`` means "not shown equal": for
        polynomial and rational expressions in symbols and in the same transcendental atoms
        (``tanh(u)`` with the same ``u``), that is the same as "different".
    """
    import sympy

    difference = sympy.sympify(a) - sympy.sympify(b)
    if sympy.expand(difference) == 0:
        return True
    return sympy.cancel(sympy.together(difference)) == 0


def substitute(expr: Any, values: Mapping[Any, Any]) -> Any:
    """Replace symbols by exact values (ints, ``Fraction``s or SymPy numbers) and evaluate exactly.

    Args:
        expr: a SymPy expression.
        values: symbol (or symbol name) to value.

    Returns:
        A SymPy number, exact when every value is exact and the expression is rational.
    """
    import sympy

    exact = {}
    for key, value in values.items():
        symbol = sympy.Symbol(key) if isinstance(key, str) else key
        if isinstance(value, Fraction):
            value = sympy.Rational(value.numerator, value.denominator)
        exact[symbol] = sympy.sympify(value)
    return sympy.sympify(expr).xreplace(exact)


def unexpected_symbols(expr: Any, allowed: Iterable[Any]) -> list[str]:
    """Names of the free symbols of ``expr`` that are not in ``allowed`` (symbols or names), sorted."""
    import sympy

    allowed_names = {str(a) for a in allowed}
    return sorted(str(s) for s in sympy.sympify(expr).free_symbols if str(s) not in allowed_names)


def short_number(x: Any) -> str:
    """A number for a message: a short fraction when exact and small, else 4 significant digits."""
    import sympy

    x = sympy.sympify(x)
    if x.is_Rational and len(str(x)) <= 12:
        return str(x)
    if x.is_number:
        value = complex(x.evalf(20))
        return f"{value.real:.4g}" if value.imag == 0 else f"{value:.4g}"
    return str(x)[:60]


def abbreviate(expr: Any, names: Mapping[Any, Any]) -> Any:
    """Replace whole subexpressions by symbols, e.g. each nested ``tanh(...)`` state by ``h_t``.

    A derivative of an unrolled graph repeats the graph's nested states many times; naming them
    turns it into a polynomial or rational function of a few symbols, which :func:`equal` decides
    quickly (chapters 2, 4). The replacement works from the root down, so a key that contains
    another key is matched first, and every key must be given exactly as it occurs.

    Args:
        expr: a SymPy expression (or matrix).
        names: subexpression to the symbol that replaces it.

    Returns:
        ``expr`` with every occurrence of every key replaced.
    """
    import sympy

    return sympy.sympify(expr).xreplace(dict(names))


def sigmoid(x: Any) -> Any:
    """The logistic function :math:`\\sigma(x) = 1 / (1 + e^{-x})` as a SymPy expression (chapters 9, 10).

    Written with ``exp`` so that ``expand``/``cancel`` in :func:`equal` can compare expressions that
    contain gates, and so that it crosses the grading boundary as whitelisted nodes.
    """
    import sympy

    return 1 / (1 + sympy.exp(-sympy.sympify(x)))
