"""The helpers shared by the chapters' question modules (minigrad.grading.common)."""

from __future__ import annotations

import numpy as np
import pytest

from minigrad.grading.common import (apart, close, close_scalar, first_difference, numbers, random_array,
                                     same_expression, three_ways, versus, where)


def test_where_counts_the_hidden_cases():
    visible, hidden = {"label": "visible case"}, {"label": "hidden case, H = 2"}
    assert where([visible]) == "on the visible case"
    assert where([visible, hidden]) == "on the visible case and 1 hidden case"
    assert where([visible, hidden, hidden]) == "on the visible case and 2 hidden cases"


def test_numbers_reshapes_to_float64_and_rejects_a_mismatch():
    got = numbers({"shape": [2, 3], "values": list(range(6))})
    assert got.dtype == np.float64 and got.shape == (2, 3) and got[1, 0] == 3.0
    assert numbers({"shape": [], "values": [1.5]}).shape == ()
    with pytest.raises(ValueError, match="shape and values disagree"):
        numbers({"shape": [2, 2], "values": [1.0, 2.0, 3.0]})


def test_random_array_is_seeded_and_rounded():
    a, b = random_array(np.random.default_rng(3), (2, 4), 0.5), random_array(np.random.default_rng(3), (2, 4), 0.5)
    assert a == b
    values = np.array(a["array"])
    assert values.shape == (2, 4) and np.array_equal(values, np.round(values, 3))


def test_close_is_relative_to_the_size_of_the_reference():
    expected = np.array([1000.0, 0.0])
    assert close(expected + 1e-6, expected)  # within 1e-8 of (1 + max |e|)
    assert not close(expected + 1e-4, expected)
    assert not close(expected[:1], expected)  # shape
    assert not close(np.array([np.nan, 0.0]), expected)
    assert close_scalar(1.0 + 1e-7, 1.0) and not close_scalar(1.0 + 1e-5, 1.0)
    assert not close_scalar(float("inf"), 1.0)


def test_first_difference_names_the_first_entry_that_disagrees():
    expected = np.arange(6.0).reshape(2, 3)
    got = expected.copy()
    got[1, 1] = 7.25
    assert first_difference(got, expected) == "entry (1, 1) is 7.25, expected 4"
    assert first_difference(got, expected, rtol=0, atol=1e-9, digits=2) == "entry (1, 1) is 7.2, expected 4"
    got[0, 2] = np.inf
    assert first_difference(got, expected).startswith("entry (0, 2) is inf")
    assert first_difference(got[:1], expected) == "the answer has shape (1, 3), expected (2, 3)"


# Issue 22, bug 2: "got 0.6608, expected 0.6608" for different values.
@pytest.mark.parametrize("got, expected", [(0.66081, 0.66080), (0.6608 + 1e-6, 0.6608), (0.6608 * (1 + 1e-4), 0.6608),
                                           (-1e-9, 1e-9), (123456.7, 123456.8)])
def test_different_values_never_print_alike(got, expected):
    mine, theirs = apart(got, expected)
    assert mine != theirs and float(mine) == pytest.approx(got, rel=1e-3)
    array_got, array_expected = np.array([[1.0, got]]), np.array([[1.0, expected]])
    message = first_difference(array_got, array_expected, rtol=0, atol=0)
    shown = message.split(" is ")[1].split(" (off by")[0]
    assert shown.split(", expected ")[0] != shown.split(", expected ")[1], message


def test_the_difference_is_printed_when_many_digits_are_needed():
    assert versus(0.66080001, 0.66080002).endswith("(off by -1e-08)")
    assert versus(0.5, 0.25) == "0.5, expected 0.25"  # no difference when it is plain to see
    assert apart(0.1, 0.1, 0.2) == ["0.1", "0.1", "0.2"]  # equal values stay equal


def test_three_ways_prints_equal_numbers_alike_and_different_ones_apart():
    assert three_ways(0.265498, 0.265498, 0.265498) == ("it is 0.265498, autograd gives 0.265498 and finite "
                                                        "differences 0.265498")
    assert "0.2654981" in three_ways(0.2654981, 0.2654982, 0.2654982)


def test_same_expression_accepts_other_forms_of_tanh_and_never_calls_equal_values_different():
    import sympy as sp

    a, h = sp.symbols("a h")
    assert same_expression(1 / sp.cosh(a) ** 2, 1 - sp.tanh(a) ** 2)
    assert same_expression(sp.sech(a) ** 2 * h, h - h * sp.tanh(a) ** 2)
    assert same_expression((sp.exp(2 * a) - 1) / (sp.exp(2 * a) + 1), sp.tanh(a))
    assert not same_expression(sp.sech(a) ** 2, 1 + sp.tanh(a) ** 2)
    assert not same_expression(sp.tanh(a) + 1e-9 * h, sp.tanh(a))
