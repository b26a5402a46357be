"""Which year? A variant of chapter 1's year task that needs memory.

:func:`minigrad.data.year_sentences` puts one year in a sentence, and a model that scores every
token on its own finds it. Here every sentence mentions two events, each with its year, and opens
with a question token that names one of them:

    ``when-married  i think my sister moved to boston in 2003 and got married in 1998 with honours``

The answer is the position of the year of the named event (1998, position 13). Both years look
alike, so a model must combine the question, read at the start, with the words just before each
year: a per-token model is right about half of the time, and a convolution sees the question only
if its window reaches back to it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["YEAR_QUESTION_LENGTH", "YEAR_QUESTION_VOCABULARY", "year_question_sentences"]

_EVENTS = {"graduated": "graduated", "married": "got married", "moved": "moved to boston",
           "job": "started a new job"}
_SUBJECTS = ("i", "my sister", "my best friend", "our old neighbour")
_LEAD_INS = ("", "well", "i think", "she told me that")
_ENDINGS = ("", "with honours", "after four years", "and stayed there")
_YEARS = tuple(str(year) for year in range(1990, 2026))
_FIRST, _SECOND = "<year 1>", "<year 2>"


def _templates() -> list[tuple[tuple[str, ...], str]]:
    """Every sentence of the grammar with its years as placeholders, and the placeholder asked for."""
    sentences = []
    for lead_in in _LEAD_INS:
        for subject in _SUBJECTS:
            for first in _EVENTS:
                for second in _EVENTS:
                    if first == second:
                        continue
                    for ending in _ENDINGS:
                        body = (*lead_in.split(), *subject.split(), *_EVENTS[first].split(), "in", _FIRST,
                                "and", *_EVENTS[second].split(), "in", _SECOND, *ending.split())
                        sentences.append(((f"when-{first}", *body), _FIRST))
                        sentences.append(((f"when-{second}", *body), _SECOND))
    return sentences


_TEMPLATES = _templates()
YEAR_QUESTION_LENGTH = max(len(sentence) for sentence, _ in _TEMPLATES)
"""Length :math:`T` of every padded sentence of :func:`year_question_sentences`."""
YEAR_QUESTION_VOCABULARY = ("<pad>", *sorted({w for s, _ in _TEMPLATES for w in s} - {_FIRST, _SECOND}),
                            *_YEARS)
"""The words of :func:`year_question_sentences`; a token id is an index into this tuple (0 is ``<pad>``)."""
_IDS = {word: i for i, word in enumerate(YEAR_QUESTION_VOCABULARY)}


def year_question_sentences(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Sentences with two dated events and a question naming one: find its year (chapter 1).

    Each sentence is drawn uniformly from the grammar (a question, an optional lead-in, a subject,
    two different events with a year each, an optional ending), with two different years from
    1990 to 2025 in random order. The question names the first event or the second equally often.

    Args:
        n: number of sentences :math:`B`.
        rng: the random generator.

    Returns:
        ``(tokens, positions)``: token ids :math:`(T, B)` with :math:`T` =
        :data:`YEAR_QUESTION_LENGTH`, padded after the end of each sentence with id 0 (``<pad>``),
        and the 0-based position of the year asked for, :math:`(B,)`. Decode a token id with
        :data:`YEAR_QUESTION_VOCABULARY`.

    Raises:
        ValueError: ``n`` is negative.
    """
    if n < 0:
        raise ValueError(f"year_question_sentences: n must be at least 0, got {n}")
    tokens = np.zeros((YEAR_QUESTION_LENGTH, n), dtype=np.int64)
    positions = np.empty(n, dtype=np.int64)
    for column in range(n):
        sentence, asked = _TEMPLATES[rng.integers(len(_TEMPLATES))]
        first, second = rng.choice(len(_YEARS), size=2, replace=False)
        years = {_FIRST: _YEARS[first], _SECOND: _YEARS[second]}
        tokens[:len(sentence), column] = [_IDS[years.get(word, word)] for word in sentence]
        positions[column] = sentence.index(asked)
    return tokens, positions
