"""What the per-chapter grading tests share: grading one answer as the grader does."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.grading.questions import QUESTIONS
from minigrad.grading.registry import Outcome, score_answer
from minigrad.grading.wire import collect_answer


def outcome(qid: str, answer: Any, seed: int = 0) -> Outcome:
    """Collect ``answer`` (a function) on question ``qid``'s visible and hidden cases and score it."""
    question = QUESTIONS[qid]
    cases = list(question.visible) + list(question.hidden(np.random.default_rng(seed)))
    collected = collect_answer({question.answer: answer}, question.answer, question.kind, cases)
    return score_answer(question, cases, collected)
