"""Every graded question of the course, by id. A chapter adds its module's ``QUESTIONS`` here."""

from __future__ import annotations

from minigrad.grading import ch01, ch02, ch03, ch04, ch05, ch06, ch07, ch08, ch09, ch10, ch11, ch12, ch13, ch14
from minigrad.grading.registry import Question

__all__ = ["QUESTIONS", "for_chapter", "CHAPTERS"]

QUESTIONS: dict[str, Question] = {
    q.qid: q for q in (*ch01.QUESTIONS, *ch02.QUESTIONS, *ch03.QUESTIONS, *ch04.QUESTIONS, *ch05.QUESTIONS, *ch06.QUESTIONS, *ch07.QUESTIONS,
                       *ch08.QUESTIONS, *ch09.QUESTIONS, *ch10.QUESTIONS, *ch11.QUESTIONS, *ch12.QUESTIONS,
                       *ch13.QUESTIONS, *ch14.QUESTIONS)
}
CHAPTERS: tuple[str, ...] = tuple(sorted({q.chapter for q in QUESTIONS.values()}))


def for_chapter(chapter: str) -> list[Question]:
    """The questions of one chapter (``"02"``), in order."""
    return [q for q in QUESTIONS.values() if q.chapter == chapter]
