"""Graded exercises: questions and their checks, ``check()`` for notebooks, and the grader.

In a notebook::

    from minigrad.grading import check, hint, progress
    check("2.3", bptt_contributions)   # one line of feedback on the visible case
    check.case("2.3")                  # that case's arguments, to call your function on
    hint("2.3")                        # a hint, more specific after each failed check
    progress()                         # every question of the chapter and its status

For a class: ``minigrad-grade submissions/*.ipynb --csv grades.csv`` (see
:mod:`minigrad.grading.cli` and the book's "Exercises and grading" page). Importing this package
needs only numpy; the grader's modules (nbclient) and SymPy are imported when used.
"""

from minigrad.grading.notebook import check, hint, progress, show_difference
from minigrad.grading.questions import QUESTIONS
from minigrad.grading.registry import Outcome, Question

__all__ = ["check", "hint", "progress", "show_difference", "QUESTIONS", "Question", "Outcome"]
