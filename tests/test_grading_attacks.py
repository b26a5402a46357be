"""The red-team review's attacks on the grader (A1-E9 of ../shared/reviews/grader-red-team.md) and variations.

The attacks are notebooks in tests/grading_cases/red_team/, graded in one batch among victims:
copies of the chapter 2, 7 and 9 solutions under other names, graded both before and after the
attackers. Each test states the exact outcome: the attacker gets nothing it did not earn, the victims
keep full marks, the batch completes, and no file outside the sandbox changes. Attacks on the
command line's outputs (the gradebook, Gradescope's script, file names) run the command itself.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import nbformat
import pytest
import sympy

import minigrad
from minigrad import Value
from minigrad.grading import QUESTIONS
from minigrad.grading.grader import Grader, NotebookResult, QuestionResult, seed_for
from minigrad.grading.report import gradebook_csv, safe_text, summary
from minigrad.grading.runner import RunLimits
from minigrad.grading.submission import analyse, read_submission, Unreadable
from minigrad.grading.tamper import Finding, claims
from minigrad.grading.wire import MAX_NUMBERS, decode_expression, read_value_op, value_op_arguments

ROOT = Path(__file__).resolve().parent.parent
RED_TEAM = Path(__file__).resolve().parent / "grading_cases" / "red_team"
GRADER_BIN = Path(sys.executable).with_name("minigrad-grade")
VICTIMS = {"02_aaa_victim.ipynb": "02_computation_graphs", "02_zzz_victim.ipynb": "02_computation_graphs",
           "07_zzz_victim.ipynb": "07_tagging_classification", "09_zzz_victim.ipynb": "09_gru"}
PACKAGE = Path(minigrad.__file__).resolve().parent


def digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def statuses(result):
    return {q.id: (q.status, q.score) for q in result.questions}


def row(result, qid):
    return next(q for q in result.questions if q.id == qid)


def messages(result, kind=None):
    return [f.message for f in result.findings if kind is None or f.kind == kind]


def planted_modules() -> list[Path]:
    """Where B2 tried to leave a module for the grader to import."""
    places = {Path.cwd(), ROOT, PACKAGE, PACKAGE.parent, Path(sysconfig.get_paths()["purelib"])}
    return [place / "mg_course_helpers.py" for place in places if (place / "mg_course_helpers.py").exists()]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Every red-team notebook and the victims, graded in one batch, two at a time."""
    folder = tmp_path_factory.mktemp("submissions")
    for path in RED_TEAM.glob("*.ipynb"):
        shutil.copy(path, folder / path.name)
    for name, solution in VICTIMS.items():
        shutil.copy(ROOT / "solutions" / f"{solution}.ipynb", folder / name)
    before = {"submissions": digests(folder), "package": digests(PACKAGE)}
    grader = Grader(RunLimits(cell_timeout=20, total_timeout=120), seed=11)
    results = grader.grade(sorted(folder.glob("*.ipynb")), jobs=2)
    return {Path(r.path).name: r for r in results}, before, folder


# ------------------------------------------------------------------------------ the victims
def test_victims_keep_full_marks_among_attackers(batch):
    results = batch[0]
    for name in VICTIMS:
        result = results[name]
        assert result.run_status == "completed" and result.total == result.max_score > 0, (name, result)
        assert result.findings == [], (name, result.findings)
        assert result.seed == 11


def test_no_file_outside_the_sandbox_changed(batch):
    results, before, folder = batch
    assert digests(folder) == before["submissions"]  # C1: no submission edited, E4's file read as it is
    assert digests(PACKAGE) == before["package"]  # B3: the installed package is read-only to notebooks
    assert planted_modules() == []  # B2: nothing on the grader's path


# ------------------------------------------------------------------------------ A: in the kernel
def test_a1_the_graders_reference_code_gets_no_credit(batch):
    result = batch[0]["02_a1_borrow_reference.ipynb"]
    assert statuses(result) == {**{qid: ("failed", 0) for qid in ("2.1", "2.2", "2.3", "2.4")}, "2.5": ("not attempted", 0)}
    assert row(result, "2.1").message == ("not credited: `unfold_s3` calls the grader's reference code "
                                          "(minigrad.grading.ch02.logistic)")
    assert "minigrad.grading.ch02.reference_contributions" in row(result, "2.3").message
    assert "minigrad.grading.ch02._softplus" in row(result, "2.4").message
    assert len(messages(result, "tampering")) == 4


def test_a2_library_routines_the_exercise_asks_for_get_no_credit(batch):
    result = batch[0]["09_a2_borrow_library.ipynb"]
    assert statuses(result) == {**{qid: ("failed", 0) for qid in ("9.1", "9.2", "9.3")}, "9.4": ("not attempted", 0)}
    assert row(result, "9.1").message == ("not credited: `gru_cell` calls minigrad.nn.GRUCell, which exercise 9.1 "
                                          "asks you to write yourself")
    assert "minigrad.grading.ch09.reference_update_gate_gradients" in row(result, "9.2").message
    assert "calls sympy.diff" in row(result, "9.3").message


def test_borrowed_machinery_under_review_keeps_its_score_and_is_flagged(batch):
    result = batch[0]["01_review_borrowed.ipynb"]
    assert statuses(result)["1.2"] == ("passed", 2)
    assert messages(result, "review") == ["1.2: `parameter_counts` calls minigrad.nn.Linear, minigrad.nn.ElmanRNN, "
                                          "which exercise 1.2 asks you to write yourself; its score stands until "
                                          "you read the code"]
    assert "1.2: `parameter_counts` calls" in next(csv.DictReader(io.StringIO(gradebook_csv([result]))))["review"]


def test_a3_patching_value_while_the_grader_calls_it_voids_the_notebook(batch):
    result = batch[0]["02_a3_patch_during_probe.ipynb"]
    assert result.total == 0 and {q.status for q in result.questions} == {"failed"}
    assert {"replaced minigrad.scalar.Value.topological_order",
            "replaced minigrad.scalar.Value.inputs"} <= set(messages(result, "tampering"))


def test_a3_patching_and_restoring_value_gains_nothing(batch):
    """The graph is read through the trusted class: the composite op is seen as it is (5 nodes, 1 of 2)."""
    result = batch[0]["02_a3_patch_and_restore.ipynb"]
    assert statuses(result) == {"2.1": ("passed", 2), "2.2": ("passed", 3), "2.3": ("passed", 3), "2.4": ("failed", 1),
                                "2.5": ("not attempted", 0)}
    assert row(result, "2.4").message.startswith("softplus(a) is a graph of 5 nodes")


def test_a4_forged_reports_get_no_credit(batch):
    """Shadowing __import__ and exec, and rewriting the injected cells, only stops the signed reports."""
    result = batch[0]["02_a4_forged_reports.ipynb"]
    assert result.total == 0 and result.run_status == "completed"
    assert "the grader's integrity probe did not report back" in messages(result, "tampering")
    assert {q.message for q in result.questions} == {"not credited: the notebook interfered with the grader's probe"}


def test_a4_no_frame_a_notebook_can_reach_leads_to_the_key(batch):
    """The key that signs the kernel's reports is out of reach of the frames under a cell, of the tracebacks
    of refused requests and of answers (read from another thread), and of a signal handler's frames."""
    result = batch[0]["02_a4_key_through_frames.ipynb"]
    assert statuses(result) == {"2.1": ("passed", 2), "2.2": ("passed", 3), "2.3": ("passed", 3), "2.4": ("error", 0),
                                "2.5": ("not attempted", 0)}
    assert row(result, "2.4").message.startswith("`softplus` raised RuntimeError: reached: nothing (")
    assert result.cell_errors == []


def test_a4_removing_the_profiler_gets_no_credit_and_a_deep_recursion_is_its_own_error(batch):
    """CPython drops a thread's profiler when an exception starts inside it; an answer that does so on
    purpose (sys.setprofile) is not credited, and one that recurses too deeply reads as RecursionError."""
    result = batch[0]["02_a4_profiler_removed.ipynb"]
    assert statuses(result) == {"2.1": ("passed", 2), "2.2": ("error", 0), "2.3": ("failed", 0), "2.4": ("passed", 2),
                                "2.5": ("not attempted", 0)}
    assert row(result, "2.2").message.startswith("`dL_dw_expression` raised RecursionError")
    assert row(result, "2.3").message.startswith("not credited: the grader's profiler was removed")
    assert result.cell_errors == []


def test_a5_nan_and_always_equal_objects_get_nothing(batch):
    result = batch[0]["02_a5_magic_objects.ipynb"]
    assert result.total == 0
    assert "the expression uses NaN" in row(result, "2.1").message


def test_a6_a_value_subclass_is_not_a_value(batch):
    result = batch[0]["02_a6_value_subclass.ipynb"]
    assert statuses(result)["2.1"] == ("passed", 2)
    assert statuses(result)["2.4"] == ("error", 0)
    assert "returned a Lying, not a Value" in row(result, "2.4").message


def test_a6_the_trusted_reader_refuses_subclasses_and_reads_slots():
    class Lying(Value):
        __slots__ = ()

        def topological_order(self):
            return [self]

    case = {"points": [0.5], "inner": 2.0, "outer": 1.0}
    arguments = value_op_arguments(case)
    (a, _, scaled) = arguments[0]
    composite = lambda v: (1 + v.exp()).log()  # noqa: E731
    read = read_value_op(case, arguments, [(composite(a), composite(scaled))])["points"][0]
    assert read["nodes"] == 5 and read["inputs_are_the_argument"] is False
    assert read["grad"] == pytest.approx(1 / (1 + 2.718281828459045 ** -0.5))
    with pytest.raises(TypeError, match="returned a Lying, not a Value"):
        read_value_op(case, arguments, [(Lying(1.0), composite(scaled))])


# ------------------------------------------------------------------------------ B: the grader's process
def test_b1_base_exceptions_in_answers_are_answers(batch):
    result = batch[0]["02_b1_base_exceptions.ipynb"]
    assert statuses(result) == {**{qid: ("error", 0) for qid in ("2.1", "2.2", "2.3", "2.4")}, "2.5": ("not attempted", 0)}
    assert row(result, "2.1").message.startswith("`unfold_s3` raised SystemExit: 2")
    assert row(result, "2.2").message.startswith("`dL_dw_expression` raised KeyboardInterrupt")


def test_b2_no_module_reaches_the_graders_path(batch):
    result = batch[0]["02_b2_plant_modules.ipynb"]
    assert result.cell_errors == [{"cell": 3, "error": "RuntimeError: planted in []"}]
    assert planted_modules() == []


def test_b3_the_package_is_read_only(batch):
    result = batch[0]["07_b3_poison_package.ipynb"]
    assert result.cell_errors[0]["error"].startswith("RuntimeError: changed []")
    victim = batch[0]["07_zzz_victim.ipynb"]
    assert victim.total == victim.max_score == sum(q.points for q in QUESTIONS.values() if q.chapter == "07")


def test_b4_decode_bombs_are_refused_before_sympy_builds_them(batch):
    result = batch[0]["02_b4_sympy_bomb.ipynb"]
    assert statuses(result)["2.1"] == ("error", 0) and "an exponent larger than 100" in row(result, "2.1").message
    assert statuses(result)["2.2"] == ("error", 0)
    assert f"more than the {MAX_NUMBERS} the grader reads" in row(result, "2.3").message
    assert result.timing["scoring"] < 30


def test_b4_decoding_bounds_literals_exponents_and_depth():
    x = ["sym", "x"]
    for tree, message in ((["Pow", ["int", "3"], ["int", "30000000"]], "exponent larger than 100"),
                          (["Pow", ["int", "9" * 60], ["int", "100"]], "a power larger than"),
                          (["int", "1" * 61], "at most 60 digits"),
                          (["float", "1e400"], "not finite"),
                          (["Mul", *[["int", "9" * 60]] * 200], "a product larger than"),
                          (["rat", "1", "0"], "denominator 0")):
        with pytest.raises(ValueError, match=message):
            decode_expression(tree)
    deep: list = x
    for _ in range(1500):
        deep = ["exp", deep]
    with pytest.raises(ValueError, match="nested more than"):
        decode_expression(deep)
    assert decode_expression(["Pow", x, ["int", "100"]]) == sympy.Symbol("x") ** 100


# ------------------------------------------------------------------------------ C: other submissions and the gradebook
def test_c1_other_submissions_cannot_be_seen(batch):
    result = batch[0]["02_c1_edit_others.ipynb"]
    assert result.cell_errors == [{"cell": 3, "error": "RuntimeError: edited 0 notebooks: []"}]


def test_c2_processes_left_running_die_with_the_sandbox(batch):
    assert subprocess.run(["pgrep", "-f", "mg-redteam-saboteur-c2"], capture_output=True).returncode == 1
    assert batch[0]["02_zzz_victim.ipynb"].total == 14


def test_c4_an_ipython_startup_file_reaches_no_later_kernel(batch):
    assert batch[0]["02_c4_ipython_startup.ipynb"].run_status == "completed"
    assert batch[0]["02_zzz_victim.ipynb"].findings == []


def test_c6_a_notebook_cannot_signal_the_grader(batch):
    result = batch[0]["02_c6_kill_grader.ipynb"]
    assert result.run_status == "completed" and statuses(result)["2.1"] == ("passed", 2)
    assert len(batch[0]) == len(list(RED_TEAM.glob("*.ipynb"))) + len(VICTIMS)


# ------------------------------------------------------------------------------ D: what the reports show
def test_d5_fake_lines_in_any_dress_are_caught(batch):
    result = batch[0]["02_d5_fake_lines.ipynb"]
    for qid in ("2.1", "2.2", "2.3"):
        assert statuses(result)[qid] == ("failed", 0) and "fake" in row(result, qid).message


def test_d5_claims_are_read_after_normalisation():
    text = "✓\u00a02.1\u00a0(2/2) ok\n\x1b[32m✓ 2.2 (3/3)\x1b[0m\n> **✓ 2.3 (3/3)**\n✔ 2.4 (2/2)\n✗ 2.5 (0/2)"
    assert set(claims(text)) == {"2.1", "2.2", "2.3", "2.4"}


def test_d1_d3_reports_escape_student_text_and_formulas():
    result = NotebookResult("=HYPERLINK(\"http://x\").ipynb", "ab", "completed", "ran\n/x.ipynb: 10/10", 0, 2,
                            [QuestionResult("2.1", "t", "error", 0, 2, "raised ValueError: a\n  ✓ 2.1 (2/2)\x1b[2J\u202e")],
                            [Finding("tampering", "-cmd|calc\r@x")], seed=5)
    text = summary([result], {"seed": 5, "cell_timeout": 1, "total_timeout": 2, "sandbox": "bwrap"})
    assert len(text.splitlines()) == 4  # settings, the notebook, its question, its finding: nothing injected
    assert "\\n  ✓ 2.1 (2/2)\\u001b[2J\\u202e" in text
    table = list(csv.reader(io.StringIO(gradebook_csv([result]))))[1]
    assert table[0] == "'=HYPERLINK(\"http://x\").ipynb" and table[-3] == "'-cmd|calc\\r@x"
    assert safe_text("a\udcffb\u2028") == "a\\xffb\\u2028"


# ------------------------------------------------------------------------------ E: files and resources
def test_e1_a_deep_tree_does_not_hide_the_evidence(batch):
    result = batch[0]["02_e1_deep_tree.ipynb"]
    assert result.run_status == "completed" and result.sha256
    assert "replaced minigrad.grading.notebook._check_line" in messages(result, "tampering")


def test_e2_e5_e7_floods_stay_in_the_sandbox(batch):
    for name in ("02_e2_huge_message.ipynb", "02_e5_many_files.ipynb", "02_e7_workdir_symlink.ipynb"):
        result = batch[0][name]
        assert statuses(result)["2.1"] == ("passed", 2), name
        assert result.timing["overhead"] < 30, (name, result.timing)
    assert any("bytes of output were dropped" in m for m in messages(batch[0]["02_e2_huge_message.ipynb"]))


def test_e3_only_regular_files_are_read(tmp_path):
    fifo = tmp_path / "02_fifo.ipynb"
    os.mkfifo(fifo)
    (tmp_path / "02_zero.ipynb").symlink_to("/dev/zero")
    (tmp_path / "02_folder.ipynb").mkdir()
    for name, what in (("02_fifo.ipynb", "a FIFO"), ("02_zero.ipynb", "a device or socket"),
                       ("02_folder.ipynb", "a directory")):
        with pytest.raises(Unreadable, match=f"not a regular file \\({what}\\)"):
            read_submission(tmp_path / name)
    big = tmp_path / "02_big.ipynb"
    big.write_bytes(b" " * 101)
    with pytest.raises(Unreadable, match="larger than 100 bytes"):
        read_submission(big, limit=100)
    (result,) = Grader(RunLimits(cell_timeout=3, total_timeout=10), seed=1).grade([fifo])
    assert result.run_status == "unreadable" and len(result.questions) == 5


def test_e4_deep_json_is_unreadable_with_its_digest(batch):
    result = batch[0]["02_e4_deep_json.ipynb"]
    assert result.run_status == "unreadable" and result.sha256 and "not valid JSON" in result.run_message


def test_e6_a_huge_source_is_refused_by_the_analysis(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1\n" * 400_000)])
    path = tmp_path / "02_big.ipynb"
    nbformat.write(notebook, path)
    analysis = analyse(str(path), path.name)
    assert analysis["status"] == "unreadable" and "characters of code" in analysis["message"]


def test_e8_magics_are_read_as_the_code_they_run(batch):
    result = batch[0]["02_e8_magics.ipynb"]
    assert "code cell 4 assigns to `check`" in messages(result, "tampering")
    assert statuses(result)["2.2"] == ("failed", 0) and "fake" in row(result, "2.2").message


def test_e9_other_notebook_formats_are_graded(batch):
    for name in ("02_e9_nbformat3.ipynb", "02_e9_r_kernelspec.ipynb"):
        assert statuses(batch[0][name])["2.1"] == ("passed", 2), name


# ------------------------------------------------------------------------------ the command line
def run_grader(*arguments, env=None, cwd=None, timeout=600):
    return subprocess.run([str(GRADER_BIN), *map(str, arguments)], capture_output=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, cwd=cwd)


def test_c3_d1_d2_d3_d4_the_command_lines_reports(tmp_path):
    """One run, from inside the submissions folder as the review did: a victim named like a formula,
    one whose name is not UTF-8, the gradebook rewriter (C3), the summary forger (D3) and the
    environment reader (D4)."""
    folder = tmp_path / "subs"
    folder.mkdir()
    names = ["=HYPERLINK(0).ipynb", "+1+cmd|calc.ipynb", os.fsdecode(b"02_\xff\xfe.ipynb"),
             "02_c3_rewrite_gradebook.ipynb", "02_d3_summary_injection.ipynb", "02_d4_environment.ipynb"]
    for name in names[:3]:
        shutil.copy(ROOT / "solutions" / "02_computation_graphs.ipynb", folder / name)
    for name in names[3:]:
        shutil.copy(RED_TEAM / name, folder / name)
    out_csv, out_json = tmp_path / "grades.csv", tmp_path / "grades.json"
    done = run_grader("--jobs", "2", "--seed", "11", "--csv", out_csv, "--json", out_json, *names, cwd=folder,
                      env={"MINIGRAD_TEST_SECRET": "not-a-real-token-123", "PYTHONIOENCODING": "utf-8:strict"})
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    text = done.stdout.decode("utf-8")  # valid UTF-8: the undecodable name is escaped
    assert "02_\\xff\\xfe.ipynb: 14/14" in text
    assert not [line for line in text.splitlines() if line.startswith("/submissions/victim")]  # D3
    written = {path: path.read_bytes() for path in (out_csv, out_json)}
    time.sleep(8)  # C3's process would rewrite both files six seconds after the grader exits
    assert {path: path.read_bytes() for path in written} == written
    table = list(csv.reader(io.StringIO(out_csv.read_text())))
    assert all(not cell.startswith(("=", "+", "-", "@")) for line in table for cell in line)  # D1
    totals = {line[0]: line[table[0].index("total")] for line in table[1:]}
    assert totals == {"'=HYPERLINK(0).ipynb": "14", "'+1+cmd|calc.ipynb": "14", "02_\\xff\\xfe.ipynb": "14",
                      "02_c3_rewrite_gradebook.ipynb": "0", "02_d3_summary_injection.ipynb": "0",
                      "02_d4_environment.ipynb": "0"}
    report = json.loads(out_json.read_text())
    assert report["grader"]["complete"] is True and report["grader"]["seed"] == 11
    environment = next(n for n in report["notebooks"] if n["path"] == "02_d4_environment.ipynb")
    message = environment["questions"][0]["message"]  # D4: the sandbox's own variables only
    assert "HOME" in message and "MINIGRAD_TEST_SECRET" not in message and "PYTEST" not in message
    assert b"not-a-real-token" not in out_json.read_bytes() + out_csv.read_bytes() + done.stdout


def test_c6_rows_are_written_as_they_finish_and_a_cut_batch_exits_1(tmp_path):
    slow = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import time; time.sleep(300)")])
    nbformat.write(slow, tmp_path / "02_slow.ipynb")
    shutil.copy(ROOT / "exercises" / "02_computation_graphs.ipynb", tmp_path / "02_first.ipynb")
    out_csv, out_json = tmp_path / "grades.csv", tmp_path / "grades.json"
    process = subprocess.Popen([str(GRADER_BIN), "--seed", "3", "--timeout", "400", "--csv", str(out_csv), "--json",
                                str(out_json), str(tmp_path / "02_first.ipynb"), str(tmp_path / "02_slow.ipynb")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (out_csv.exists() and out_csv.read_text().count("\n") >= 2):
        time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    stdout, _ = process.communicate(timeout=120)
    assert process.returncode == 1
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text())))
    assert [r["notebook"].rsplit("/", 1)[-1] for r in rows] == ["02_first.ipynb"]
    assert json.loads(out_json.read_text())["grader"]["complete"] is False
    assert b"the batch was cut short" in stdout


# ------------------------------------------------------------------------------ seeds
def test_hidden_cases_come_from_a_recorded_or_secret_seed(tmp_path):
    for name, text in (("02_a.ipynb", "{"), ("02_b.ipynb", "{"), ("02_c.ipynb", "[")):
        (tmp_path / name).write_text(text)
    secret = "a secret of the instructor's, long enough"
    done = run_grader("--csv", tmp_path / "grades.csv", tmp_path, env={"MINIGRAD_GRADE_SECRET": secret})
    assert done.returncode == 0
    seeds = [r["seed"] for r in csv.DictReader(io.StringIO((tmp_path / "grades.csv").read_text()))]
    assert seeds[0] == seeds[1] != seeds[2]  # the same file, the same cases; another file, others
    assert seeds[0] == str(seed_for(secret.encode(), hashlib.sha256(b"{").hexdigest()))
    assert secret.encode() not in done.stdout + (tmp_path / "grades.csv").read_bytes()
    again = Grader(secret=secret.encode())  # grading again reproduces every seed
    assert [again.seed_of(hashlib.sha256(t).hexdigest()) for t in (b"{", b"{", b"[")] == list(map(int, seeds))
    assert (again.seed_source, Grader().seed_source, Grader(seed=3).seed_source) == ("secret", "random", "given")
    both = run_grader("--seed", "1", "--secret-file", tmp_path / "02_a.ipynb", tmp_path / "02_a.ipynb")
    assert both.returncode == 2 and b"not allowed with argument" in both.stderr
