"""Gradescope's autograder zip and results.json, and the Canvas gradebook export.

The end-to-end test builds the zip of chapter 2, unpacks it into a folder laid out like
Gradescope's ``/autograder`` and runs its ``run_autograder`` as Gradescope would (the grader from
this environment stands in for the one ``setup.sh`` installs): a solution scores full marks, an
untouched exercise zero, and a submission that attacks the autograder nothing.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from minigrad.grading.grader import NotebookResult, QuestionResult
from minigrad.grading.gradescope import LatePolicy, build, days_late, find_notebooks, pinned_requirements, results_json
from minigrad.grading.lms import canvas_csv, canvas_file
from minigrad.grading.tamper import Finding

ROOT = Path(__file__).resolve().parent.parent
GRADER_BIN = Path(sys.executable).with_name("minigrad-grade")
CASES = ROOT / "tests" / "grading_cases" / "red_team"


def _result(path="doejane_48213_913377_rnn.ipynb", total=3, findings=()) -> NotebookResult:
    questions = [QuestionResult("2.1", "Unfold", "passed", 2, 2, "on every case: right", "on the example: right"),
                 QuestionResult("2.2", "Gradient", "failed", 1, 3,
                                "hidden case 2: got 0.6608123, expected 0.6608127 [link](http://x) <img src=x>",
                                "on the example: right")]
    return NotebookResult(path, "ab" * 32, "completed", "", total, 5, questions, list(findings),
                          timing={"total": 4.2}, seed=1234)


# ------------------------------------------------------------------------------ results.json
def test_results_json_shows_the_example_now_and_the_hidden_cases_after_the_due_date():
    data = results_json(_result(), {"seed_source": "secret"})
    assert data["score"] == 3 and data["output_format"] == "md"
    by_name = {t["name"]: t for t in data["tests"]}
    visible, hidden = by_name["2.2 Gradient"], by_name["2.2 hidden cases"]
    assert (visible["score"], visible["max_score"], visible["visibility"]) == (1, 3, "visible")
    assert "hidden" not in visible["output"] and "example" in visible["output"]
    assert hidden["visibility"] == "after_due_date" and "score" not in hidden and "0.6608127" in hidden["output"]
    assert data["extra_data"]["sha256"] == "ab" * 32 and data["extra_data"]["seed"] == 1234
    assert sum(t.get("max_score", 0) for t in data["tests"]) == 5


def test_results_json_makes_student_text_inert_in_markdown():
    result = _result(findings=[Finding("tampering", "![x](http://evil/p.png) <script>alert(1)</script>\n# big")])
    data = results_json(result, {})
    text = data["output"] + "".join(t["output"] for t in data["tests"])
    for unescaped in (r"(?<!\\)\]\(", r"(?<!\\)<", r"(?<!\\)!\[", "\n# big"):
        assert not re.search(unescaped, text), unescaped
    assert r"\!\[x\](http" in text and r"\<script\>" in text


@pytest.mark.parametrize("created, factor", [("2026-03-01T23:59:00+00:00", 1.0),   # on time
                                             ("2026-03-02T00:30:00+00:00", 0.9),   # half an hour late
                                             ("2026-03-04T12:00:00+00:00", 0.7),   # 2.5 days
                                             ("2026-03-06T00:00:01+00:00", 0.0)])  # beyond the limit
def test_the_late_policy_scales_the_score(created, factor):
    metadata = {"created_at": created, "assignment": {"due_date": "2026-03-02T00:00:00+00:00"}}
    data = results_json(_result(total=4), {}, metadata, LatePolicy(penalty_per_day=0.1, max_days_late=4))
    assert data["score"] == pytest.approx(4 * factor) and data["extra_data"]["late_factor"] == pytest.approx(factor)
    assert data["extra_data"]["total_before_penalty"] == 4


def test_late_policy_files_are_checked(tmp_path):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text('{"penalty_per_day": 0.25, "max_days_late": 2}')
    bad.write_text('{"penalty": 0.25}')
    assert LatePolicy.load(good) == LatePolicy(0.25, 2)
    with pytest.raises(ValueError, match="unknown fields: penalty"):
        LatePolicy.load(bad)
    with pytest.raises(ValueError, match="between 0 and 1"):
        LatePolicy(penalty_per_day=2)
    assert days_late(None) == 0 and days_late({"created_at": "garbage"}) == 0


def test_the_submission_is_found_whatever_its_name_and_folder(tmp_path):
    (tmp_path / "upload" / "ex").mkdir(parents=True)
    (tmp_path / "upload" / ".ipynb_checkpoints").mkdir()
    notebook = tmp_path / "upload" / "ex" / "My Work (final).ipynb"
    notebook.write_text("{}")
    (tmp_path / "upload" / ".ipynb_checkpoints" / "x-checkpoint.ipynb").write_text("{}")
    (tmp_path / "upload" / "link.ipynb").symlink_to(notebook)
    assert find_notebooks(tmp_path / "upload") == [notebook]


def test_requirements_are_pinned_with_their_dependencies():
    pins = pinned_requirements(["nbformat"])
    names = {p.split("==")[0].lower() for p in pins}
    assert all("==" in p for p in pins) and {"nbformat", "jsonschema", "traitlets"} <= names


# ------------------------------------------------------------------------------ Canvas
def test_canvas_file_names_give_the_user_id():
    assert canvas_file("doejane_48213_913377_rnn.ipynb").user_id == "48213"
    late = canvas_file("doejane_LATE_48213_913377_02_computation_graphs.ipynb")
    assert late.late and late.user_id == "48213" and late.student == "doejane"
    assert canvas_file("02_computation_graphs.ipynb") is None


def test_canvas_csv_has_canvas_columns_and_lists_what_it_left_out():
    results = [_result(), _result("smithbob_LATE_555_1_x.ipynb", total=5), _result("=cmd|' /C calc'!A0.ipynb")]
    text, left_out = canvas_csv(results, "Exercises 2 (7781)")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Exercises 2 (7781)"]
    assert rows[1][0] == "Points Possible" and rows[1][5] == "5"
    assert rows[2][:2] == ["doejane", "48213"] and rows[2][5] == "3" and rows[3][1:2] == ["555"]
    assert len(rows) == 4 and len(left_out) == 1 and "no Canvas user id" in left_out[0]


# ------------------------------------------------------------------------------ the zip, end to end
@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory):
    out = tmp_path_factory.mktemp("gradescope")
    return build("02", out, LatePolicy(penalty_per_day=0.5))


def test_the_zip_holds_what_gradescope_needs(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as zipped:
        names = set(zipped.namelist())
        assert {"setup.sh", "run_autograder", "requirements.txt", "late_policy.json", "secret"} <= names
        assert any(n.startswith("minigrad-") and n.endswith(".whl") for n in names)
        run = zipped.read("run_autograder").decode()
        assert "exec " in run and "--chapter 02" in run and "@" not in run
        assert stat.S_IMODE(zipped.getinfo("run_autograder").external_attr >> 16) & 0o100
        assert "git clone" not in zipped.read("setup.sh").decode()
        assert json.loads(zipped.read("late_policy.json")) == {"penalty_per_day": 0.5, "max_days_late": None}


def _grade_on_gradescope(autograder_zip, tmp_path, submission: Path, late: bool = False) -> dict:
    root = tmp_path / "autograder"
    for folder in ("source", "submission", "results"):
        (root / folder).mkdir(parents=True)
    with zipfile.ZipFile(autograder_zip) as zipped:
        zipped.extractall(root / "source")
    run = root / "source" / "run_autograder"
    run.chmod(0o700)
    shutil.copy(submission, root / "submission" / "whatever I called it.ipynb")
    due = "2026-03-02T00:00:00+00:00"
    created = "2026-03-02T06:00:00+00:00" if late else "2026-03-01T12:00:00+00:00"
    (root / "submission_metadata.json").write_text(json.dumps({"created_at": created, "assignment": {"due_date": due}}))
    before = run.read_bytes()
    environment = {**os.environ, "AUTOGRADER_ROOT": str(root), "MINIGRAD_GRADE": str(GRADER_BIN),
                   "MINIGRAD_GRADE_USER": "nobody" if os.geteuid() == 0 else ""}
    done = subprocess.run(["bash", str(run)], env=environment, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert run.read_bytes() == before, "a submission changed run_autograder"
    return json.loads((root / "results" / "results.json").read_text())


def test_a_solution_scores_full_marks_even_when_late_it_loses_the_policy_s_share(autograder_zip, tmp_path):
    data = _grade_on_gradescope(autograder_zip, tmp_path, ROOT / "solutions" / "02_computation_graphs.ipynb", late=True)
    full = data["extra_data"]["max_score"]
    assert full > 0 and data["extra_data"]["total_before_penalty"] == full
    assert data["score"] == pytest.approx(full / 2) and data["extra_data"]["sandbox"] == "bubblewrap"


def test_an_untouched_exercise_scores_zero(autograder_zip, tmp_path):
    data = _grade_on_gradescope(autograder_zip, tmp_path, ROOT / "exercises" / "02_computation_graphs.ipynb")
    assert data["score"] == 0 and data["extra_data"]["max_score"] > 0


def test_a_submission_that_attacks_the_autograder_gets_nothing(autograder_zip, tmp_path):
    data = _grade_on_gradescope(autograder_zip, tmp_path, CASES / "02_c7_append_to_autograder.ipynb")
    assert data["score"] == 0 and "hidden cases seed" in data["output"]
    assert {t["number"] for t in data["tests"] if t["visibility"] == "visible"} == {"2.1", "2.2", "2.3", "2.4", "2.5"}
