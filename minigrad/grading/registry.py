"""Graded questions: ids, points, the cases an answer is called on, and how it is scored.

A :class:`Question` names the notebook variable that holds the answer (a function) and how to
call it (``kind``, see :func:`minigrad.grading.wire.probe`). Its ``visible`` cases are the ones
``check()`` runs in the notebook; ``hidden`` draws other seeds and sizes for the grader, so an
answer fitted to the visible case fails. ``grade`` turns the plain data an answer produced into an
:class:`Outcome`; it runs in a child process of the grader's. ``borrowed`` names the library
routines the exercise asks the student to write instead of calling (see :data:`REFERENCE_MODULES`
for the grader's own reference code, which no answer may call).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

__all__ = ["Outcome", "Question", "STATUSES", "BORROWED_ACTIONS", "REFERENCE_PREFIX", "score_answer", "format_line"]

STATUSES = ("passed", "failed", "not attempted", "error", "timeout")
BORROWED_ACTIONS = ("no credit", "review")
REFERENCE_PREFIX = "minigrad.grading."
"""Every function of the chapters' question modules (and their helpers) is the grader's reference
code: an answer that calls one gets no credit for that question, whatever ``borrowed`` says."""
_MARKS = {"passed": "✓", "not attempted": "○"}


@dataclass(frozen=True)
class Outcome:
    """The result of checking one answer.

    Attributes:
        status: one of :data:`STATUSES`.
        score: points earned.
        message: what was checked, or why it failed, in one line.
    """

    status: str
    score: int
    message: str

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"Outcome status must be one of {STATUSES}, got {self.status!r}")


@dataclass(frozen=True)
class Question:
    """One graded question.

    Attributes:
        qid: ``"2.3"``: chapter and number.
        points: the most it can score.
        title: a few words, used in reports.
        answer: the name of the notebook function the answer is read from.
        kind: how the function is called: ``"sympy"``, ``"numbers"`` or ``"value_op"``.
        visible: the cases ``check()`` runs (each a dict with a ``"label"``).
        hidden: ``rng -> cases`` that only the grader runs.
        grade: ``(cases, answers) -> Outcome`` given what the function returned on each case.
        borrowed: dotted names of the routines (functions, or classes: all their methods) an
            answer must not call, because the exercise asks for them by hand (``sympy.diff``
            for a derivation, ``minigrad.nn.GRUCell`` for a GRU step).
        on_borrowed: ``"no credit"`` (the question scores 0) or ``"review"`` (the score stands
            and every report flags the question for the instructor to read).
        difficulty: 1 (apply a formula the chapter gives), 2 (combine or adapt the chapter's
            steps) or 3 (derive or design something the chapter does not print).
        minutes: the time a student who has read the chapter needs, roughly.
        hints: two or three hints, each more specific (see :func:`minigrad.grading.notebook.hint`).
        reference: ``case -> array``, the expected array of a visible case, for the heat map of
            :func:`minigrad.grading.notebook.show_difference` (array questions only).
    """

    qid: str
    points: int
    title: str
    answer: str
    kind: str
    visible: tuple[dict, ...]
    hidden: Callable[[np.random.Generator], tuple[dict, ...]]
    grade: Callable[[Sequence[dict], Sequence[Any]], Outcome]
    borrowed: tuple[str, ...] = ()
    on_borrowed: str = "no credit"
    difficulty: int = 1
    minutes: int = 10
    hints: tuple[str, ...] = ()
    reference: Callable[[dict], np.ndarray] | None = None

    def __post_init__(self) -> None:
        if self.on_borrowed not in BORROWED_ACTIONS:
            raise ValueError(f"on_borrowed must be one of {BORROWED_ACTIONS}, got {self.on_borrowed!r}")
        if self.difficulty not in (1, 2, 3):
            raise ValueError(f"difficulty must be 1, 2 or 3, got {self.difficulty!r}")

    @property
    def label(self) -> str:
        """Difficulty and time, as the notebooks' headings show them: ``★★☆ ~15 min``."""
        return f"{'★' * self.difficulty}{'☆' * (3 - self.difficulty)} ~{self.minutes} min"

    @property
    def chapter(self) -> str:
        """The chapter number as two digits, e.g. ``"02"``."""
        return f"{int(self.qid.split('.')[0]):02d}"


def score_answer(question: Question, cases: Sequence[dict], collected: Any) -> Outcome:
    """Score what was collected for ``question`` on ``cases`` (untrusted data: any shape at all).

    Args:
        question: the question.
        cases: the cases the answer was called on, in order.
        collected: ``{"defined": bool, "results": [...]}`` as made by
            :func:`minigrad.grading.wire.collect_answer` (or the kernel's report).

    Returns:
        ``not attempted`` when the function is missing or still raises ``NotImplementedError``,
        ``error`` when it raised something else or returned what cannot be read, otherwise what
        ``question.grade`` says.
    """
    name = question.answer
    try:
        if not collected["defined"]:
            return Outcome("not attempted", 0, f"`{name}` is not defined")
        results = collected["results"]
        if not isinstance(results, list) or len(results) != len(cases):
            raise ValueError(f"expected {len(cases)} results")
        answers = []
        for case, result in zip(cases, results):
            if "raised" in result:
                if result["raised"] == "NotImplementedError":
                    return Outcome("not attempted", 0, f"`{name}` still raises NotImplementedError")
                if result["raised"] == "UnreadableAnswer":
                    return Outcome("error", 0, f"`{name}` {result['message']} ({case['label']})")
                return Outcome(
                    "error", 0,
                    f"`{name}` raised {result['raised']}: {result['message']} ({case['label']})",
                )
            answers.append(result["ok"])
    except (KeyError, TypeError, ValueError) as error:
        return Outcome("error", 0, f"the grader could not read what `{name}` returned ({error})")
    try:
        outcome = question.grade(cases, answers)
    except Exception as error:  # a malformed answer must not stop the batch
        return Outcome("error", 0, f"`{name}` returned something the check cannot use: "
                                   f"{type(error).__name__}: {error}")
    return Outcome(outcome.status, max(0, min(question.points, outcome.score)), outcome.message)


def format_line(question_id: str, points: int, outcome: Outcome) -> str:
    """The one line ``check()`` prints.

    ``✓ 2.3 (3/3) …`` when passed, ``○ 2.3 (0/3) not attempted: …``, and ``✗ 2.3 (1/3) why`` for
    everything else (failed, partly right, error, timeout).
    """
    mark = _MARKS.get(outcome.status, "✗")
    text = outcome.message if outcome.status != "not attempted" else f"not attempted: {outcome.message}"
    return f"{mark} {question_id} ({outcome.score}/{points}) {text}"
