"""What a student calls in an exercise notebook (see "Exercises and grading").

* ``check(qid, answer)``: one line of feedback on the question's visible cases;
* ``check.case(qid)``: the arguments of a visible case, the very example the notebook shows, so
  that the student can call the answer on it and print what it does;
* ``hint(qid)``: a hint, more specific after each failed check (two or three levels);
* ``progress()``: every question of the notebook's chapter, its label and its status;
* ``show_difference(qid, answer)``: a heat map of where an array answer differs from the reference.

Everything runs the visible cases only, in the student's own kernel, so it is feedback, not a
grade: the grader (:mod:`minigrad.grading.grader`) never reads what it printed.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from minigrad.grading.questions import QUESTIONS, for_chapter
from minigrad.grading.registry import Outcome, Question, format_line, score_answer
from minigrad.grading.wire import build_argument, probe

__all__ = ["check", "case", "hint", "progress", "show_difference"]

_FAILED: dict[str, int] = {}
"""Failed checks of each question in this kernel (what makes :func:`hint` more specific)."""
_HINTS_SHOWN: dict[str, int] = {}


def check(qid: str, answer: Any) -> None:
    """Check an answer on the question's visible cases and print one line.

    Prints ``✓ 2.3 (3/3) …`` when it passes, ``✗ 2.3 (0/3) <why>`` when it does not, and
    ``○ 2.3 (0/3) not attempted: …`` while the function still raises ``NotImplementedError``.
    ``check.case(qid)`` gives the visible case's arguments (see :func:`case`).

    Args:
        qid: the question's id, e.g. ``"2.3"``.
        answer: the function named in the exercise; the grader reads the answer from that name,
            so pass the name itself (``check("2.3", bptt_contributions)``).
    """
    caller = sys._getframe(1)
    print(_check_line(qid, answer, {**caller.f_globals, **caller.f_locals}))


def case(qid: str, index: int = 0) -> tuple:
    """The arguments ``check(qid, …)`` calls the answer with on its visible case ``index``.

    The notebook's example *is* visible case 0, so ``grad_h(*check.case("4.1"))`` prints exactly
    the array that ``check`` compares; a question may have a second visible case with other sizes.
    Each call returns fresh copies.

    Raises:
        KeyError: for an unknown question id or a case number it does not have.
    """
    question = _question(qid)
    if not 0 <= index < len(question.visible):
        raise KeyError(f"question {qid} has {len(question.visible)} visible case(s), numbered from 0")
    return tuple(build_argument(spec) for spec in question.visible[index]["args"])


check.case = case  # type: ignore[attr-defined]


def hint(qid: str) -> None:
    """Print the next hint of a question: the first at once, each further one after a failed check.

    A question has two or three hints, from a pointer to the chapter's equation to the step that
    is most often wrong. Hint k + 1 is given after k checks of the question have failed in this
    kernel; asking again before that repeats the hints given so far.
    """
    question = _question(qid)
    hints = question.hints
    if not hints:
        print(f"Question {qid} has no hints: its check's message says what is wrong.")
        return
    unlocked = min(len(hints), 1 + _FAILED.get(qid, 0))
    shown = min(unlocked, _HINTS_SHOWN.get(qid, 0) + 1)
    _HINTS_SHOWN[qid] = shown
    for level in range(shown):
        print(f"Hint {level + 1}/{len(hints)} for {qid}: {hints[level]}")
    if shown < len(hints):
        print("(call hint again for a more specific one"
              + (" after your next check that fails)" if shown == unlocked else ")"))


def progress(chapter: str | None = None) -> None:
    """Print every question of a chapter: points, difficulty, time, and its status now.

    Each answer found in the notebook (by the name the question reads it from) is checked again on
    its visible cases. The totals are what the visible cases give; the grader also runs hidden ones.

    Args:
        chapter: ``"04"`` or ``"4"``; by default the chapter of the questions whose answers the
            notebook defines.
    """
    caller = sys._getframe(1)
    names = {**caller.f_globals, **caller.f_locals}
    if chapter is None:
        found = [q.chapter for q in QUESTIONS.values() if q.answer in names]
        if not found:
            print("progress: this notebook defines no answer of any question yet; name the chapter: "
                  "progress('04')")
            return
        chapter = max(set(found), key=found.count)
    questions = for_chapter(f"{int(chapter):02d}")
    if not questions:
        print(f"progress: no questions in chapter {chapter!r}")
        return
    rows, earned = [], 0
    for question in questions:
        answer = names.get(question.answer)
        if answer is None:
            outcome = Outcome("not attempted", 0, f"`{question.answer}` is not defined")
        else:
            outcome = _outcome(question, answer)
        earned += outcome.score
        rows.append(f"  {question.qid:<6}{question.label:<16}{outcome.score:>2}/{question.points:<3}"
                    f"{outcome.status}")
    total = sum(q.points for q in questions)
    attempted = sum(not row.endswith("not attempted") for row in rows)
    print(f"Chapter {int(chapter)}: {earned} of {total} points on the visible cases, "
          f"{attempted} of {len(questions)} questions attempted")
    print("\n".join(rows))


def show_difference(qid: str, answer: Any, index: int = 0) -> Any:
    """A heat map of ``|yours - expected|`` on visible case ``index`` of an array question.

    Rows and columns are the answer's first two axes (a vector is one row), so a wrong row of a
    gradient through time (``t``), or a wrong block of a weight matrix, shows at a glance.

    Returns:
        The matplotlib figure, or ``None`` (with a printed reason) when the question has no array
        reference or the shapes differ.
    """
    question = _question(qid)
    if question.reference is None:
        print(f"Question {qid} has no array reference to compare with.")
        return None
    arguments = case(qid, index)
    yours = np.asarray(answer(*arguments), dtype=np.float64)
    expected = np.asarray(question.reference(question.visible[index]), dtype=np.float64)
    if yours.shape != expected.shape:
        print(f"Your answer has shape {yours.shape}, expected {expected.shape}.")
        return None
    import matplotlib.pyplot as plt

    difference = np.abs(yours - expected)
    grid = difference.reshape(difference.shape[0] if difference.ndim > 1 else 1, -1)
    figure, axes = plt.subplots(figsize=(1.2 + 0.45 * grid.shape[1], 1.0 + 0.4 * grid.shape[0]))
    image = axes.imshow(grid, cmap="magma_r", vmin=0.0, vmax=max(float(grid.max()), 1e-12))
    axes.set_xlabel("column" if difference.ndim > 1 else "entry")
    axes.set_ylabel("row" if difference.ndim > 1 else "")
    axes.set_title(f"{qid}: |yours - expected|, {int((difference > 1e-8).sum())} of {difference.size} "
                   f"entries differ", fontsize=9)
    figure.colorbar(image, ax=axes)
    return figure


def _question(qid: str) -> Question:
    question = QUESTIONS.get(qid)
    if question is None:
        raise KeyError(f"unknown question id {qid!r} (known: {', '.join(QUESTIONS)})")
    return question


def _outcome(question: Question, answer: Any) -> Outcome:
    """The question's outcome on its visible cases, with library routines it asks for by hand refused."""
    results, borrowed = _watch_borrowed(question, lambda: [probe(question.kind, answer, c) for c in question.visible])
    if borrowed:
        return Outcome("failed", 0, f"calls {', '.join(borrowed)}, which this exercise asks you to do by hand "
                                    f"(the grader gives no credit for it)")
    return score_answer(question, question.visible, {"defined": True, "results": results})


def _watch_borrowed(question: Question, call: Any) -> tuple[Any, list[str]]:
    """Run ``call()`` and name the borrowed routines of ``question`` it called (see ``Question.borrowed``)."""
    if not question.borrowed:
        return call(), []
    from minigrad.grading.kernel import _functions_of, _resolve

    codes = {function.__code__: name for name in question.borrowed for function in _functions_of(_resolve(name))}
    called: list[str] = []

    def watch(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code in codes and codes[frame.f_code] not in called:
            called.append(codes[frame.f_code])

    previous = sys.getprofile()
    sys.setprofile(watch)
    try:
        result = call()
    finally:
        sys.setprofile(previous)
    return result, called


def _check_line(qid: str, answer: Any, caller_names: dict) -> str:
    question = QUESTIONS.get(qid)
    if question is None:
        known = ", ".join(QUESTIONS)
        return f"✗ {qid} (0/0) unknown question id {qid!r} (known: {known})"
    if caller_names.get(question.answer, None) is not answer:
        outcome = Outcome("failed", 0, f"the grader reads your answer from `{question.answer}`: "
                                       f"define it and pass it to check()")
        return format_line(qid, question.points, outcome)
    outcome = _outcome(question, answer)
    if outcome.status in ("failed", "error"):
        _FAILED[qid] = _FAILED.get(qid, 0) + 1
    return format_line(qid, question.points, outcome)
