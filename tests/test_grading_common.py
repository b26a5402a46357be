"""The helpers shared by the chapters' question modules (minigrad.grading.common)."""

from __future__ import annotations

import numpy as np
import pytest

from minigrad.grading.common import close, close_scalar, first_difference, numbers, random_array, where


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
    assert first_difference(got, expected, rtol=0, atol=1e-9, spec=".4f") == \
        "entry (1, 1) is 7.2500, expected 4.0000"
    got[0, 2] = np.inf
    assert first_difference(got, expected).startswith("entry (0, 2) is inf")
    assert first_difference(got[:1], expected) == "the answer has shape (1, 3), expected (2, 3)"
