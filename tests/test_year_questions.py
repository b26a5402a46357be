"""The which-year task of chapter 1 (minigrad.year_questions)."""

from __future__ import annotations

import numpy as np
import pytest

from minigrad.year_questions import YEAR_QUESTION_LENGTH, YEAR_QUESTION_VOCABULARY, year_question_sentences


def _words(tokens, column):
    return [YEAR_QUESTION_VOCABULARY[i] for i in tokens[:, column] if i != 0]


def test_the_answer_is_the_year_of_the_event_asked_for():
    tokens, positions = year_question_sentences(300, np.random.default_rng(0))
    assert tokens.shape == (YEAR_QUESTION_LENGTH, 300) and positions.shape == (300,)
    events = {"graduated": "graduated", "married": "married", "moved": "boston", "job": "job"}
    for column in range(300):
        words = _words(tokens, column)
        assert words[0].startswith("when-")
        years = [i for i, w in enumerate(words) if w.isdigit()]
        assert len(years) == 2 and words[years[0]] != words[years[1]]
        answer = positions[column]
        assert answer in years
        # the event named by the question is the one whose clause ends just before the answer's "in"
        start = 0 if answer == years[0] else years[0] + 2
        assert events[words[0].removeprefix("when-")] in words[start:answer - 1]


def test_both_years_are_asked_for_and_padding_follows_the_sentence():
    tokens, positions = year_question_sentences(400, np.random.default_rng(1))
    first_year = np.argmax(np.char.isdigit(np.array(YEAR_QUESTION_VOCABULARY)[tokens]), axis=0)
    share_first = np.mean(positions == first_year)
    assert 0.4 < share_first < 0.6
    lengths = (tokens != 0).sum(axis=0)
    assert all((tokens[:n, b] != 0).all() and (tokens[n:, b] == 0).all() for b, n in enumerate(lengths))


def test_same_seed_same_sentences_and_bad_n():
    a = year_question_sentences(5, np.random.default_rng(2))
    b = year_question_sentences(5, np.random.default_rng(2))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert year_question_sentences(0, np.random.default_rng(2))[0].shape == (YEAR_QUESTION_LENGTH, 0)
    with pytest.raises(ValueError, match="at least 0"):
        year_question_sentences(-1, np.random.default_rng(2))
