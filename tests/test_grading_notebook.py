"""What a student calls in an exercise notebook (minigrad.grading.notebook): check, check.case, hint,
progress and show_difference, and the labels every question carries."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import sympy as sp

from minigrad.grading import QUESTIONS, check, hint, notebook, progress, show_difference
from minigrad.grading.questions import CHAPTERS
from minigrad.symbolic import sigmoid

ROOT = Path(__file__).resolve().parent.parent

matplotlib.use("Agg")
GRADER_BIN = Path(sys.executable).with_name("minigrad-grade")


def _check(capsys, qid, answer):
    check(qid, answer)
    return capsys.readouterr().out.strip()


def simplified_gru_dh(h, x, w_u, v_u, b_u, w, v, b):
    u = sigmoid(b_u + w_u * h + v_u * x)
    candidate = sp.tanh(b + w * h + v * x)
    return (1 - u) + (candidate - h) * u * (1 - u) * w_u + u * (1 - candidate ** 2) * w


def test_check_refuses_sp_diff_where_the_exercise_bans_it(capsys):
    """Issue 22: 9.3 says "do not call sp.diff", and check gave ✓ 3/3 to an answer that did."""
    global simplified_gru_dh
    right = simplified_gru_dh
    assert _check(capsys, "9.3", simplified_gru_dh).startswith("✓ 9.3 (3/3)")

    def simplified_gru_dh(h, x, w_u, v_u, b_u, w, v, b):  # noqa: F811
        u = sigmoid(b_u + w_u * h + v_u * x)
        return sp.diff(u * sp.tanh(b + w * h + v * x) + (1 - u) * h, h)

    try:
        line = _check(capsys, "9.3", simplified_gru_dh)
    finally:
        simplified_gru_dh = right
    assert line.startswith("✗ 9.3 (0/3) calls sympy.diff"), line


def test_case_hands_over_fresh_copies_of_each_visible_case():
    first, again = check.case("9.1"), check.case("9.1")
    assert len(first) == 6 and all(np.array_equal(a, b) and a is not b for a, b in zip(first, again))
    assert check.case("4.1", 1)[0].shape == (3, 4)
    with pytest.raises(KeyError, match="visible case"):
        check.case("9.1", 5)
    with pytest.raises(KeyError, match="unknown question"):
        check.case("99.9")


def test_hints_get_more_specific_after_failed_checks(capsys, monkeypatch):
    monkeypatch.setattr(notebook, "_FAILED", {})
    monkeypatch.setattr(notebook, "_HINTS_SHOWN", {})
    hint("4.1")
    first = capsys.readouterr().out
    assert first.startswith("Hint 1/3 for 4.1:") and "Hint 2/3" not in first and "after your next check" in first
    hint("4.1")  # no failed check yet: the same hint again
    assert "Hint 2/3" not in capsys.readouterr().out

    def grad_h(x, Y, h, y_hat, U, W, V):
        return (y_hat - Y) @ V

    check("4.1", grad_h)
    assert capsys.readouterr().out.startswith("✗ 4.1 (0/3)")
    hint("4.1")
    second = capsys.readouterr().out
    assert "Hint 1/3" in second and "Hint 2/3" in second and "Hint 3/3" not in second
    check("4.1", grad_h)
    hint("4.1")
    assert "Hint 3/3 for 4.1:" in capsys.readouterr().out


def test_every_question_has_a_label_and_hints():
    for question in QUESTIONS.values():
        assert question.label.count("★") == question.difficulty and question.minutes > 0, question.qid
        assert 2 <= len(question.hints) <= 3, question.qid


def test_every_exercise_heading_shows_its_points_and_label():
    import nbformat

    root = ROOT
    seen = set()
    for folder in ("solutions", "exercises"):
        for path in sorted((root / folder).glob("*.ipynb")):
            notebook = nbformat.read(path, as_version=4)
            sources = [cell.source for cell in notebook.cells]
            for qid, points, label in re.findall(r"^#+ Exercise (\d+\.\d+):.*\((\d+) points?, (.+)\)$",
                                                  "\n".join(s for s in sources), flags=re.M):
                question = QUESTIONS[qid]
                assert (int(points), label) == (question.points, question.label), (path.name, qid)
                seen.add(qid)
            assert "progress()" in [s.strip() for s in sources], path.name
    assert seen == set(QUESTIONS)


def test_every_chapter_has_a_question_the_chapter_does_not_print():
    """Issue 22: each chapter has a harder question (★★★), whose answer is derived or designed for
    something the chapter does not treat, worth more than a fill-in."""
    for chapter in CHAPTERS:
        hard = [q for q in QUESTIONS.values() if q.chapter == chapter and q.difficulty == 3]
        assert hard, f"chapter {chapter} has no ★★★ question"
        assert all(q.points >= 4 for q in hard), chapter


def test_the_grading_page_lists_every_question_with_borrowed_machinery():
    """The borrowed-machinery table of book/grading.md names every question that declares routines."""
    page = (ROOT / "book" / "grading.md").read_text(encoding="utf-8")
    table = page.split("### Borrowed machinery", 1)[1].split("\n#", 1)[0]
    listed = set()
    for row in re.findall(r"^\| (\d[\d., –]*) \|", table, flags=re.M):
        for part in row.split(","):
            first, _, last = part.strip().partition("–")
            chapter, number = first.split(".")
            listed.update(f"{chapter}.{n}" for n in range(int(number), int((last or first).split(".")[1]) + 1))
    declared = {q.qid for q in QUESTIONS.values() if q.borrowed}
    assert declared - listed == set(), "declared but not in the table"
    assert listed - set(QUESTIONS) == set(), "in the table but not a question"


def test_progress_summarises_every_question_of_the_chapter(capsys):
    namespace = {"simplified_gru_dh": simplified_gru_dh, "gru_cell": lambda *args: np.zeros((2, 4))}
    exec("progress()", {"progress": progress, **namespace})
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Chapter 9: 3 of ") and "2 of" in out[0]
    rows = {line.split()[0]: line for line in out[1:]}
    assert rows["9.3"].rstrip().endswith("passed") and "3/3" in rows["9.3"]
    assert rows["9.1"].rstrip().endswith("failed") and rows["9.2"].rstrip().endswith("not attempted")
    assert QUESTIONS["9.3"].label in rows["9.3"]
    # not a "✓ 9.3 (3/3)" line, which the grader would read as a claim of check's
    assert not any(line.lstrip().startswith(("✓", "✗", "○")) for line in out)


def test_show_difference_draws_where_an_array_answer_differs():
    right = QUESTIONS["4.1"].reference(QUESTIONS["4.1"].visible[0])
    wrong = right.copy()
    wrong[1] += 0.5
    figure = show_difference("4.1", lambda *args: wrong)
    image = figure.axes[0].images[0].get_array()
    assert image.shape == right.shape and (np.asarray(image)[1] > 0.4).all() and np.asarray(image)[0].max() == 0
    assert "3 of 15 entries differ" in figure.axes[0].get_title()
    assert show_difference("4.1", lambda *args: wrong[:2]) is None


def test_grading_piped_into_head_ends_quietly_with_status_0(tmp_path):
    """Issue 22: `minigrad-grade … | head` ended with a BrokenPipeError traceback and status 1."""
    process = subprocess.Popen([str(GRADER_BIN), "--no-sandbox", str(tmp_path / "missing.ipynb")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # the reader is gone before the summary is printed
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0 and b"BrokenPipeError" not in stderr and b"Traceback" not in stderr


def test_the_instructors_plan_matches_the_questions():
    """The table of "Plan the exercises" (book/instructor.md) counts each chapter's questions, points and minutes."""
    page = (ROOT / "book" / "instructor.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d+)\. [^|]+ \| (\d+) \| (\d+) \| (\d+) \| ([\d., ]+) \|$", page, flags=re.M)
    assert [f"{int(row[0]):02d}" for row in rows] == list(CHAPTERS)
    for number, questions, points, minutes, hard in rows:
        asked = [q for q in QUESTIONS.values() if q.chapter == f"{int(number):02d}"]
        assert (int(questions), int(points), int(minutes)) == (
            len(asked), sum(q.points for q in asked), sum(q.minutes for q in asked)), number
        assert hard.split(", ") == [q.qid for q in asked if q.difficulty == 3], number
