"""Graded exercises: questions and their checks, ``check()`` for notebooks, and the grader.

In a notebook::

    from minigrad.grading import check
    check("2.3", bptt_contributions)

For a class: ``minigrad-grade submissions/*.ipynb --csv grades.csv`` (see
:mod:`minigrad.grading.cli` and the book's "Exercises and grading" page). Importing this package
needs only numpy; the grader's modules (nbclient) and SymPy are imported when used.
"""

from minigrad.grading.notebook import check
from minigrad.grading.questions import QUESTIONS
from minigrad.grading.registry import Outcome, Question

__all__ = ["check", "QUESTIONS", "Question", "Outcome"]
