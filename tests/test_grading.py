"""Tests of minigrad.grading: the checks, the exercise generator and the grader.

The grader tests execute notebooks in real, sandboxed kernels: the course's solution and exercise
notebooks, and the adversarial notebooks in tests/grading_cases/ (one attack or failure each),
graded once per module with fixed limits and a fixed hidden-case seed. The red-team review's
attacks are in test_grading_attacks.py, the sandbox's own guarantees in test_grading_sandbox.py.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import sympy

from minigrad import Value
from minigrad.grading import QUESTIONS, check
from minigrad.grading.ch02 import loss, reference_contributions, unrolled_gradient
from minigrad.grading.generate import make_exercise
from minigrad.grading.grader import Grader
from minigrad.grading.gradescope import results_json
from minigrad.grading.report import gradebook_csv
from minigrad.grading.runner import RunLimits
from minigrad.grading.tamper import cell_output_text, claims, scan_sources
from minigrad.grading.wire import decode_expression, encode_expression
from minigrad.symbolic import equal, substitute

ROOT = Path(__file__).resolve().parent.parent
CASES = Path(__file__).resolve().parent / "grading_cases"
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("*.ipynb"))
GRADER_BIN = Path(sys.executable).with_name("minigrad-grade")
CHAPTER_2 = ROOT / "solutions" / "02_computation_graphs.ipynb"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def course_results():
    """The course's own notebooks, graded as an instructor would (random hidden cases)."""
    grader = Grader(RunLimits(cell_timeout=60, total_timeout=300))
    results = grader.grade([*SOLUTIONS, *EXERCISES], jobs=2)
    return {Path(r.path): r for r in results}


@pytest.fixture(scope="module")
def case_results():
    """Every adversarial notebook plus a missing file, graded in one batch."""
    paths = sorted(CASES.glob("*.ipynb")) + [CASES / "02_missing.ipynb"]
    before = {p: sha256(p) for p in paths if p.exists()}
    grader = Grader(RunLimits(cell_timeout=3, total_timeout=30), seed=7)
    results = {Path(r.path).name: r for r in grader.grade(paths, jobs=2)}
    return results, before


def row(result, qid):
    return next(q for q in result.questions if q.id == qid)


def statuses(result):
    return {q.id: (q.status, q.score) for q in result.questions}


# ------------------------------------------------------------------------------ the course's notebooks
def test_every_solution_gets_full_marks(course_results):
    assert SOLUTIONS, "no solution notebooks"
    for path in SOLUTIONS:
        result = course_results[path]
        assert result.run_status == "completed", result.run_message
        assert result.total == result.max_score > 0, [(q.id, q.message) for q in result.questions]
        assert all(q.status == "passed" for q in result.questions)
        assert not [f for f in result.findings if f.kind == "tampering"]


def test_every_exercise_gets_zero_with_not_attempted(course_results):
    assert [p.name for p in EXERCISES] == [p.name for p in SOLUTIONS]
    for path in EXERCISES:
        result = course_results[path]
        assert result.run_status == "completed", result.run_message
        assert result.total == 0 and result.max_score > 0
        assert {q.status for q in result.questions} == {"not attempted"}
        assert not result.findings


class TreeCPU:
    """CPU seconds (user + system) of this process and of every process started under it, dead or alive.

    A thread samples ``/proc`` every 20 ms: a process is counted from the first sample in which its
    parent is this process or one already counted (so a kernel that outlives its parent is still
    counted), with the CPU time of its last sample. This thread's own time is left out.
    """

    def __init__(self) -> None:
        import threading

        self.ticks = os.sysconf("SC_CLK_TCK")
        self.members: dict[tuple[int, int], int] = {}  # (pid, start time) -> its CPU ticks at the last sample
        self.own = 0.0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.wait(0.02):
            self._sample()
            self.own = time.thread_time()

    def _sample(self) -> None:
        table = {}
        for entry in os.scandir("/proc"):
            try:
                fields = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split() \
                    if entry.name.isdigit() else None
            except OSError:
                continue
            if fields:
                table[int(entry.name)] = (int(fields[1]), int(fields[19]), int(fields[11]) + int(fields[12]))
        known = {pid for pid, _ in self.members} | {os.getpid()}
        added = True
        while added:
            added = False
            for pid, (parent, start, ticks) in table.items():
                if (pid, start) in self.members or parent in known and pid not in known:
                    self.members[(pid, start)] = ticks
                    added = added or pid not in known
                    known.add(pid)

    def seconds(self) -> float:
        self._sample()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime - self.own + sum(self.members.values()) / self.ticks


def test_grader_overhead_is_under_two_seconds():
    """Grading a solution costs < 2 CPU seconds more than executing it with plain nbclient (best of two each).

    The grader's part (reading the file, the sandbox, its own cells, scoring, in every process it
    starts) is measured end to end, against the same notebook run with nothing around it. CPU time,
    not wall-clock time: other jobs on a shared machine stretch the second, not the first.
    """
    from nbclient import NotebookClient

    path = CHAPTER_2
    grader = Grader(RunLimits(cell_timeout=60, total_timeout=300))
    clock = TreeCPU()
    plain, graded = [], []
    for _ in range(2):
        notebook = nbformat.read(path, as_version=4)
        cpu, wall = clock.seconds(), time.monotonic()
        NotebookClient(notebook, timeout=60, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        plain.append((clock.seconds() - cpu, time.monotonic() - wall))
        cpu, wall = clock.seconds(), time.monotonic()
        (result,) = grader.grade([path])
        graded.append((clock.seconds() - cpu, time.monotonic() - wall))
        assert result.total == result.max_score
        assert set(result.timing) >= {"analysis", "run", "kernel", "notebook", "probes", "scoring", "overhead"}
    clock.stopped.set()
    assert min(plain)[0] > 0.5, plain  # the measure sees the kernel's own work
    assert min(graded)[0] - min(plain)[0] < 2.0, {"graded (cpu, wall)": graded, "plain (cpu, wall)": plain}


def test_committed_exercises_match_generation():
    """An exercise notebook must be exactly what the generator makes from its solution."""
    for solution_path in SOLUTIONS:
        exercise_path = ROOT / "exercises" / solution_path.name
        assert exercise_path.exists(), f"no {exercise_path.name} in exercises/: run `make exercises`"
        generated = make_exercise(nbformat.read(solution_path, as_version=4))
        committed = nbformat.read(exercise_path, as_version=4)
        shape = lambda nb: [(c.cell_type, c.source, sorted(c.metadata.get("tags", []))) for c in nb.cells]  # noqa: E731
        assert shape(committed) == shape(generated), f"run `make exercises` ({solution_path.name})"
        assert committed.metadata.get("grading") == generated.metadata.get("grading")


# ------------------------------------------------------------------------------ attacks and failures
def test_submitted_files_are_never_modified(case_results):
    results, before = case_results
    for path, digest in before.items():
        assert sha256(path) == digest, path.name
        assert results[path.name].sha256 == digest


def test_a_cell_that_raises_does_not_stop_the_notebook(case_results):
    result = case_results[0]["02_raises.ipynb"]
    assert result.run_status == "completed"
    assert result.cell_errors == [{"cell": 2, "error": "ZeroDivisionError: division by zero"}]
    assert statuses(result) == {"2.1": ("passed", 2), "2.2": ("not attempted", 0),
                                "2.3": ("not attempted", 0), "2.4": ("not attempted", 0),
                                "2.5": ("not attempted", 0)}
    assert result.total == 2 and result.max_score == 14


def test_hanging_cell_and_hanging_answer_time_out(case_results):
    result = case_results[0]["02_hangs.ipynb"]
    assert result.run_status == "completed"
    assert result.cell_errors == [{"cell": 2, "error": "timed out after 3 s"}]
    assert statuses(result) == {"2.1": ("passed", 2), "2.2": ("not attempted", 0),
                                "2.3": ("timeout", 0), "2.4": ("not attempted", 0), "2.5": ("not attempted", 0)}
    assert row(result, "2.3").message == "`bptt_contributions` did not return within 3 s on the hidden cases"


def test_a_kernel_that_ignores_interrupts_is_abandoned(case_results):
    result = case_results[0]["02_hangs_uninterruptibly.ipynb"]
    assert result.run_status == "timeout"
    assert result.run_message == "did not stop when interrupted after 3 s in code cell 3"
    assert statuses(result) == {qid: ("timeout", 0) for qid in ("2.1", "2.2", "2.3", "2.4", "2.5")}


def test_the_total_time_limit_stops_a_notebook(tmp_path):
    # Each cell finishes well inside the per-cell limit; together they overrun the total.
    slow = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import time; time.sleep(1)")
                                           for _ in range(4)])
    slow.metadata["grading"] = {"chapter": "02"}
    nbformat.write(slow, tmp_path / "02_slow.ipynb")
    (result,) = Grader(RunLimits(cell_timeout=3, total_timeout=1.5)).grade([tmp_path / "02_slow.ipynb"])
    assert result.run_status == "timeout"
    assert result.run_message.startswith("ran over the total time limit of 1.5 s")
    assert {q.status for q in result.questions} == {"timeout"}


def test_sys_exit_is_an_error_in_one_cell(case_results):
    result = case_results[0]["02_sys_exit.ipynb"]
    assert result.run_status == "completed"
    assert result.cell_errors[0]["cell"] == 2 and result.cell_errors[0]["error"].startswith("SystemExit")
    assert result.total == 2 and row(result, "2.1").status == "passed"


@pytest.mark.parametrize("name", ["02_os_exit.ipynb", "02_segfault.ipynb"])
def test_a_dead_kernel_is_reported_and_nothing_is_credited(case_results, name):
    result = case_results[0][name]
    assert result.run_status == "kernel died"
    assert "code cell 3" in result.run_message
    assert statuses(result) == {qid: ("error", 0) for qid in ("2.1", "2.2", "2.3", "2.4", "2.5")}


def test_huge_output_is_capped(case_results):
    result = case_results[0]["02_huge_output.ipynb"]
    assert result.run_status == "completed" and result.total == 2
    assert [f.kind for f in result.findings] == ["note"]
    assert "bytes of output were dropped" in result.findings[0].message


@pytest.mark.parametrize("name, status, message", [
    ("02_invalid_json.ipynb", "unreadable", "not valid JSON"),
    ("02_not_a_notebook.ipynb", "not a notebook", "not a Jupyter notebook"),
    ("02_missing.ipynb", "missing", "cannot read the file"),
])
def test_unreadable_files_get_a_row(case_results, name, status, message):
    result = case_results[0][name]
    assert result.run_status == status and message in result.run_message
    assert statuses(result) == {qid: ("error", 0) for qid in ("2.1", "2.2", "2.3", "2.4", "2.5")}
    assert (result.sha256 is None) == (name == "02_missing.ipynb")


def test_redefined_check_gets_no_credit(case_results):
    result = case_results[0]["02_redefines_check.ipynb"]
    assert statuses(result)["2.1"] == ("failed", 0) and result.total == 0
    messages = [f.message for f in result.findings if f.kind == "tampering"]
    assert any("defines its own `check`" in m for m in messages)
    assert any("`check` is not minigrad.grading.check" in m for m in messages)
    assert any("prints '✓ 2.1 (2/2)" in m for m in messages)


def test_monkeypatched_grading_voids_every_answer(case_results):
    result = case_results[0]["02_patches_grading.ipynb"]
    assert statuses(result) == {qid: ("failed", 0) for qid in ("2.1", "2.2", "2.3", "2.4", "2.5")}
    assert "replaced minigrad.grading.notebook._check_line" in [f.message for f in result.findings]
    # 2.4 is right, but it was answered in a kernel whose grading code was patched.
    assert "not credited" in row(result, "2.4").message


def test_fake_check_lines_get_no_credit(case_results):
    result = case_results[0]["02_fake_output.ipynb"]
    assert statuses(result)["2.1"] == ("failed", 0) and result.total == 0
    kinds = sorted(f.kind for f in result.findings)
    assert kinds == ["note", "tampering"]
    assert "fake '✓ 2.1 (2/2)" in row(result, "2.1").message


def test_files_written_next_to_the_notebook_stay_in_the_sandbox(case_results):
    result = case_results[0]["02_writes_files.ipynb"]
    assert statuses(result) == {qid: ("failed", 0) for qid in ("2.1", "2.2", "2.3", "2.4", "2.5")}
    messages = [f.message for f in result.findings]
    assert any(m.startswith("replaced minigrad modules in sys.modules: minigrad, minigrad.grading,") for m in messages)
    assert any(m.startswith("`check` is not minigrad.grading.check") for m in messages)
    assert any(m.startswith("wrote files next to itself") and "scratch.txt" in m for m in messages)


def test_answers_fitted_to_the_visible_case_fail_hidden_cases(case_results):
    result = case_results[0]["02_fitted_to_visible.ipynb"]
    assert statuses(result) == {"2.1": ("not attempted", 0), "2.2": ("failed", 0),
                                "2.3": ("failed", 0), "2.4": ("failed", 1), "2.5": ("not attempted", 0)}
    assert "hidden case" in row(result, "2.2").message and "hidden case" in row(result, "2.3").message
    assert not result.findings  # the ✓ it printed for 2.2 was the package's own, for the visible case


def test_unknown_exercises_are_reported(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    path = tmp_path / "homework.ipynb"
    nbformat.write(notebook, path)
    (result,) = Grader().grade([path])
    assert result.run_status == "unknown exercises" and result.questions == []


# ------------------------------------------------------------------------------ the command line
def test_command_line_outputs(tmp_path):
    solution = CHAPTER_2
    out_json, out_csv, out_gs = tmp_path / "r.json", tmp_path / "r.csv", tmp_path / "gs.json"
    done = subprocess.run([str(GRADER_BIN), "--seed", "3", "--json", str(out_json), "--csv", str(out_csv),
                           "--gradescope", str(out_gs), str(solution)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "14/14" in done.stdout and done.stderr == ""  # no progress bar when not on a terminal
    report = json.loads(out_json.read_text())
    assert report["grader"]["seed"] == 3
    assert report["notebooks"][0]["sha256"] == sha256(solution)
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text())))
    assert rows[0]["total"] == "14" and rows[0]["2.3"] == "3"
    gradescope = json.loads(out_gs.read_text())
    assert gradescope["score"] == 14
    assert {t["number"] for t in gradescope["tests"] if t["visibility"] == "visible"} == {"2.1", "2.2", "2.3", "2.4", "2.5"}
    assert set(gradescope["tests"][0]) == {"name", "number", "score", "max_score", "status", "output",
                                           "output_format", "visibility"}


@pytest.mark.parametrize("arguments", [[], ["--jobs", "0", "x.ipynb"], ["--timeout", "-1", "x.ipynb"],
                                       ["--gradescope", "r.json", "a.ipynb", "b.ipynb"]])
def test_usage_errors_exit_with_status_2(arguments):
    done = subprocess.run([sys.executable, "-m", "minigrad.grading", *arguments], capture_output=True, text=True)
    assert done.returncode == 2 and "usage:" in done.stderr


def test_reports_for_a_failed_run(case_results):
    results = case_results[0]
    table = list(csv.DictReader(io.StringIO(gradebook_csv([results["02_raises.ipynb"],
                                                           results["02_patches_grading.ipynb"]]))))
    assert [r["total"] for r in table] == ["2", "0"] and [r["seed"] for r in table] == ["7", "7"]
    assert "replaced minigrad.grading.notebook._check_line" in table[1]["tampering"]
    gradescope = results_json(results["02_hangs.ipynb"], {"seed": 7})
    test = next(t for t in gradescope["tests"] if t["number"] == "2.3")
    assert test["status"] == "failed" and test["output"].startswith("timeout:")


# ------------------------------------------------------------------------------ check() in a notebook
def _line(capsys, qid, source, name=None):
    """Define an answer as a notebook cell would, call check on it, return the one line printed."""
    namespace = {"check": check, "math": math, "sympy": sympy, "Value": Value,
                 "reference_contributions": reference_contributions}
    exec(source, namespace)
    name = name or (QUESTIONS[qid].answer if qid in QUESTIONS else "softplus")
    exec(f"check({qid!r}, {name})", namespace)
    out = capsys.readouterr().out
    assert out.count("\n") == 1, out
    return out.strip()


UNFOLD = "def unfold_s3(s1, theta):\n    s2 = theta * s1 * (1 - s1)\n    return theta * s2 * (1 - s2)"


def test_check_prints_one_line(capsys):
    assert _line(capsys, "2.1", UNFOLD).startswith("✓ 2.1 (2/2) ")
    one_step = "def unfold_s3(s1, theta):\n    return theta * s1 * (1 - s1)"
    assert _line(capsys, "2.1", one_step).startswith("✗ 2.1 (0/2) this is s^(2)")
    stub = 'def softplus(a):\n    raise NotImplementedError("Exercise 2.4")'
    assert _line(capsys, "2.4", stub) == "○ 2.4 (0/2) not attempted: `softplus` still raises NotImplementedError"
    wrong_derivative = ("def softplus(a):\n    return Value.from_op(math.log1p(math.exp(a.data)), (a,), "
                        "(1 / (1 + math.exp(a.data)),), 'softplus')")
    assert _line(capsys, "2.4", wrong_derivative).startswith(
        "✗ 2.4 (1/2) d softplus/da at a = -1.5 is 0.8176, finite differences give 0.1824")
    assert _line(capsys, "9.9", stub).startswith("✗ 9.9 (0/0) unknown question id")
    renamed = UNFOLD.replace("def unfold_s3", "def my_unfold")
    assert "reads your answer from `unfold_s3`" in _line(capsys, "2.1", renamed, name="my_unfold")


def test_an_answer_without_return_is_told_so(capsys):
    """A function that returns None (a forgotten `return`) is reported as such, not as a TypeError."""
    for qid, source in [("2.1", "def unfold_s3(s1, theta):\n    theta * s1"),
                        ("2.3", "def bptt_contributions(w, xs, ys, h0):\n    pass"),
                        ("2.4", "def softplus(a):\n    a.data")]:
        line = _line(capsys, qid, source)
        assert f"✗ {qid} " in line and "returned None" in line and "is a `return` missing?" in line, line
        assert "TypeError" not in line
    assert "returned a str, not numbers" in _line(capsys, "2.3", "def bptt_contributions(w, xs, ys, h0):\n    return 'x'")


def test_check_names_the_missing_step(capsys):
    source = ("def dL_dw_expression(w, h):\n"
              "    tau = len(h) - 1\n"
              "    return sum((1 - h[t] ** 2) * h[t - 1] * w ** (tau - t)\n"
              "               * sympy.Mul(*[1 - h[k] ** 2 for k in range(t + 1, tau + 1)])\n"
              "               for t in range(2, tau + 1))")
    assert "misses the contribution of step t = 1" in _line(capsys, "2.2", source)


def test_check_reports_a_wrong_step_of_bptt(capsys):
    right = reference_contributions(*check.case("2.3"))  # computed outside: check refuses Value.backward in 2.3
    source = ("def bptt_contributions(w, xs, ys, h0):\n"
              f"    right = {[float(r) for r in right]!r}\n"
              "    return [sum(right)] + [0.0] * (len(right) - 1)  # right total, wrong steps")
    assert _line(capsys, "2.3", source).startswith("✗ 2.3 (2/3) the contribution of step t = 1 is")
    calls_backward = ("def bptt_contributions(w, xs, ys, h0):\n"
                      "    return reference_contributions(w, xs, ys, h0)")
    assert _line(capsys, "2.3", calls_backward).startswith("✗ 2.3 (0/3) calls minigrad.scalar.Value.backward")


# ------------------------------------------------------------------------------ references and helpers
@pytest.mark.parametrize("tau", [1, 2, 4])
def test_symbolic_gradient_matches_autograd_and_finite_differences(tau):
    w0, h0, xs = 0.6, -0.2, [0.5, -1.0, 0.3, 0.8][:tau]
    w, h = Value(w0), Value(h0)
    states = [h0]
    for x in xs:
        h = (w * h + x).tanh()
        states.append(h.data)
    h.backward()
    values = {"w": w0, **{f"h_{t}": s for t, s in enumerate(states)}}
    symbolic = float(substitute(unrolled_gradient(tau), values))

    def last(w_value):
        state = h0
        for x in xs:
            state = math.tanh(w_value * state + x)
        return state

    finite = (last(w0 + 1e-6) - last(w0 - 1e-6)) / 2e-6
    assert symbolic == pytest.approx(w.grad, rel=1e-12)
    assert symbolic == pytest.approx(finite, rel=1e-7)


def test_reference_contributions_sum_to_finite_differences():
    w, xs, ys, h0 = 0.9, [0.3, -0.7, 1.1, 0.2, -0.4], [0.1, 0.5, -0.2, 0.3, 0.0], 0.25
    finite = (loss(w + 1e-6, xs, ys, h0) - loss(w - 1e-6, xs, ys, h0)) / 2e-6
    assert sum(reference_contributions(w, xs, ys, h0)) == pytest.approx(finite, rel=1e-7)


def test_expression_trees_round_trip_and_reject_other_nodes():
    x, y = sympy.symbols("x y")
    expr = sympy.tanh(x * y + sympy.Rational(1, 3)) ** 2 - sympy.exp(x) / (1 + y) + sympy.Float(0.25) * sympy.E
    assert equal(decode_expression(json.loads(json.dumps(encode_expression(expr)))), expr)
    with pytest.raises(ValueError, match="unknown expression node"):
        decode_expression(["__import__", ["sym", "os"]])
    with pytest.raises(ValueError, match="malformed"):
        decode_expression(["Add", "not a node"])
    with pytest.raises(TypeError, match="does not read"):
        encode_expression(sympy.Function("f")(x))
    with pytest.raises(TypeError, match="returned a str, not a SymPy expression"):
        encode_expression("x + 1")


def test_equal_uses_expand_and_cancel():
    x = sympy.Symbol("x")
    assert equal((x + 1) ** 2, x ** 2 + 2 * x + 1)
    assert equal(1 / (x - 1) - 1 / (x + 1), 2 / (x ** 2 - 1))
    assert not equal((x + 1) ** 2, x ** 2 + 1)
    assert substitute(x ** 2 / 3, {"x": 2}) == sympy.Rational(4, 3)


def test_source_scan_finds_rebinding_and_patching():
    sources = ["from minigrad.grading import check\nfrom minigrad import Value\n%time x = 1",
               "import minigrad.grading as g\ng.check = print\nValue.softplus = len",
               "from os import path as check",
               "import sys\nsys.modules['minigrad'] = None",
               "%time check = print\n!echo hello",
               "from minigrad.grading import ch02"]
    found = [(f.kind, f.message) for f in scan_sources(sources)]
    assert found == [("tampering", "code cell 2 patches g.check"), ("note", "code cell 2 sets Value.softplus"),
                     ("tampering", "code cell 3 binds `check` to os.path, not minigrad.grading.check"),
                     ("tampering", "code cell 4 replaces a module in sys.modules"),
                     ("tampering", "code cell 5 assigns to `check`"),
                     ("note", "code cell 6 imports minigrad.grading.ch02, the grader's reference code (calling it from "
                              "an answer gets no credit)")]


def test_source_scan_flags_raw_memory_for_review():
    """ctypes, mmap and numpy's array interface can read the kernel's memory (and its key): flagged, not voided."""
    sources = ["import ctypes.util", "from mmap import mmap", "address = a.__array_interface__['data']",
               "p = np.ctypeslib.as_array", "m = __import__('_ctypes')", "import math\nb = a.ctypes_like"]
    found = [(f.kind, f.message.split(";")[0]) for f in scan_sources(sources)]
    assert found == [("review", "code cell 1 imports ctypes"), ("review", "code cell 2 imports mmap"),
                     ("review", "code cell 3 uses a.__array_interface__"), ("review", "code cell 4 uses np.ctypeslib"),
                     ("review", "code cell 5 imports _ctypes")]
    assert "read its code before trusting the score" in scan_sources(sources[:1])[0].message


def test_generator_replaces_solutions_and_tags_top_level_stubs():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    solution = nbformat.v4.new_notebook(cells=[
        md("## Exercise 3.1: a value"),
        code("x = 1\n### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION"),
        md("## Exercise 3.2: a function"),
        code("def f(a):\n    ### BEGIN SOLUTION\n    return a\n    ### END SOLUTION"),
        md("Why?\n\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION"),
    ])
    exercise = make_exercise(solution)
    assert exercise.cells[1].source == 'x = 1\nraise NotImplementedError("Exercise 3.1")'
    assert exercise.cells[1].metadata["tags"] == ["raises-exception"]
    assert exercise.cells[3].source == 'def f(a):\n    raise NotImplementedError("Exercise 3.2")'
    assert "tags" not in exercise.cells[3].metadata
    assert exercise.cells[4].source == "Why?\n\n*Write your answer here (Exercise 3.2).*"
    assert solution.cells[1].source.endswith("### END SOLUTION")  # the solution is left alone


@pytest.mark.parametrize("source, message", [
    ("### BEGIN SOLUTION\nx = 1", "without ### END SOLUTION"),
    ("x = 1\n### END SOLUTION", "without ### BEGIN SOLUTION"),
])
def test_generator_rejects_unbalanced_markers(source, message):
    solution = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("## Exercise 1.1"),
                                               nbformat.v4.new_code_cell(source)])
    with pytest.raises(ValueError, match=message):
        make_exercise(solution)


def test_generator_needs_an_exercise_heading():
    solution = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("### BEGIN SOLUTION\n### END SOLUTION")])
    with pytest.raises(ValueError, match="no 'Exercise N.k' heading"):
        make_exercise(solution)


def test_importing_grading_needs_neither_sympy_nor_nbclient():
    code = ("import sys, minigrad, minigrad.grading, minigrad.symbolic; "
            "print(sorted(m for m in ('sympy', 'nbclient', 'nbformat') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_every_question_has_visible_and_hidden_cases():
    import numpy as np

    for question in QUESTIONS.values():
        assert question.visible and question.points > 0
        hidden = question.hidden(np.random.default_rng(0))
        assert hidden and all(case["label"].startswith("hidden") for case in hidden)
        assert all(case not in question.visible for case in hidden)


def test_progress_bar_only_on_a_terminal():
    from minigrad.grading.cli import _Progress
    from minigrad.grading.grader import NotebookResult

    class Stream(io.StringIO):
        def __init__(self, tty):
            super().__init__()
            self.tty = tty

        def isatty(self):
            return self.tty

    result = NotebookResult("a.ipynb", None, "missing", "", 0, 0)
    for tty, expected in ((True, r"\[#{15}\.{15}\] 1/2 +\d+\.\d min left a\.ipynb"), (False, "")):
        stream = Stream(tty)
        _Progress(2, stream)(result)
        assert re.fullmatch(expected, stream.getvalue().strip("\r").rstrip())


def test_build_argument_gives_integer_arrays_for_integer_specs():
    from minigrad.grading.wire import build_argument

    ids = build_argument({"integers": [[1, 2], [3, -1]]})
    assert ids.dtype.kind == "i" and ids.shape == (2, 2) and ids[1, 1] == -1
    assert build_argument({"array": [1, 2]}).dtype.kind == "f"


def test_a_claim_line_is_found_after_a_display_that_ends_without_a_newline():
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "'shape (3,)'"}, execution_count=1),
                    nbformat.v4.new_output("stream", name="stdout", text="✓ 1.1 (2/2) visible cases pass\n")]
    assert claims(cell_output_text(cell)) == {"1.1": "✓ 1.1 (2/2) visible cases pass"}
