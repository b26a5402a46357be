"""``check(qid, answer)``: the one-line feedback a student gets in the notebook (see "Exercises and grading").

The check runs the question's visible cases only, in the student's own kernel, so it is feedback,
not a grade: the grader (:mod:`minigrad.grading.grader`) never reads what it printed.
"""

from __future__ import annotations

import sys
from typing import Any

from minigrad.grading.questions import QUESTIONS
from minigrad.grading.registry import Outcome, format_line, score_answer
from minigrad.grading.wire import probe

__all__ = ["check"]


def check(qid: str, answer: Any) -> None:
    """Check an answer on the question's visible cases and print one line.

    Prints ``✓ 2.3 (3/3) …`` when it passes, ``✗ 2.3 (0/3) <why>`` when it does not, and
    ``○ 2.3 (0/3) not attempted: …`` while the function still raises ``NotImplementedError``.

    Args:
        qid: the question's id, e.g. ``"2.3"``.
        answer: the function named in the exercise; the grader reads the answer from that name,
            so pass the name itself (``check("2.3", bptt_contributions)``).
    """
    caller = sys._getframe(1)
    print(_check_line(qid, answer, {**caller.f_globals, **caller.f_locals}))


def _check_line(qid: str, answer: Any, caller_names: dict) -> str:
    question = QUESTIONS.get(qid)
    if question is None:
        known = ", ".join(QUESTIONS)
        return f"✗ {qid} (0/0) unknown question id {qid!r} (known: {known})"
    if caller_names.get(question.answer, None) is not answer:
        outcome = Outcome("failed", 0, f"the grader reads your answer from `{question.answer}`: "
                                       f"define it and pass it to check()")
        return format_line(qid, question.points, outcome)
    results = [probe(question.kind, answer, case) for case in question.visible]
    outcome = score_answer(question, question.visible, {"defined": True, "results": results})
    return format_line(qid, question.points, outcome)
