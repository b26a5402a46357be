"""The sandbox's own guarantees, tested directly (minigrad.grading.sandbox; the book's grading page).

The observer notebook (tests/grading_cases/sandbox/02_observer.ipynb) reports in each cell, as
that cell's error, what a graded notebook can see or do: other processes, the environment, the
network, the file system, the package, its user and limits, and what is left running afterwards.
It is graded next to a victim, with small limits, by the same grader an instructor runs.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from minigrad.grading.grader import Grader
from minigrad.grading.runner import RunLimits
from minigrad.grading.sandbox import Limits, Sandbox, SandboxUnavailable

ROOT = Path(__file__).resolve().parent.parent
OBSERVER = Path(__file__).resolve().parent / "grading_cases" / "sandbox" / "02_observer.ipynb"
GRADER_BIN = Path(sys.executable).with_name("minigrad-grade")
# What a kernel's environment holds: the sandbox's own variables, the floating-point settings passed
# on from the grader, and what IPython sets for itself.
ENVIRONMENT = {"PATH", "HOME", "TMPDIR", "USER", "LOGNAME", "LANG", "MPLBACKEND", "MPLCONFIGDIR", "IPYTHONDIR",
               "PYDEVD_DISABLE_FILE_VALIDATION", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
               "OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES", "PWD", "CLICOLOR", "CLICOLOR_FORCE",
               "FORCE_COLOR", "PAGER", "GIT_PAGER", "TERM", "JPY_SESSION_NAME", "PYDEVD_USE_FRAME_EVAL"}


@pytest.fixture(scope="module")
def observed(tmp_path_factory):
    """What the observer saw, by topic; and the victim graded next to it."""
    folder = tmp_path_factory.mktemp("submissions")
    shutil.copy(OBSERVER, folder / OBSERVER.name)
    shutil.copy(ROOT / "solutions" / "02_computation_graphs.ipynb", folder / "02_victim.ipynb")
    (folder / "mg-sandbox-marker-next-to-the-submissions").write_text("another student's file")
    limits = Limits(memory_bytes=2 << 30, processes=24, disk_bytes=64 << 20, file_bytes=128 << 20, cpu_seconds=300)
    grader = Grader(RunLimits(cell_timeout=30, total_timeout=200), seed=5, sandbox=Sandbox.find(limits))
    results = {Path(r.path).name: r for r in grader.grade([folder / OBSERVER.name, folder / "02_victim.ipynb"], jobs=2)}
    seen = {}
    for error in results[OBSERVER.name].cell_errors:
        topic, _, value = error["error"].removeprefix("RuntimeError: ").partition(": ")
        seen[topic] = value
    return seen, results


def test_the_observer_ran_every_cell(observed):
    seen, results = observed
    assert results[OBSERVER.name].run_status == "completed"
    assert set(seen) == {"processes", "parent", "environment", "network", "files", "package", "user", "limits",
                         "memory", "processes started", "disk", "left running", "introspection"}
    assert results["02_victim.ipynb"].total == 14 and results["02_victim.ipynb"].findings == []


def test_a_notebook_sees_no_other_process(observed):
    commands = observed[0]["processes"].split()
    assert "bwrap" in commands and len(commands) <= 4, commands  # the sandbox's init, the kernel, its shell
    assert not {"pytest", "minigrad-grade"} & set(commands)
    assert observed[0]["parent"] == "1"  # the sandbox's init: the grader is out of reach


def test_a_notebook_gets_a_minimal_environment(observed):
    names = set(observed[0]["environment"].split())
    # a long list reaches the grader cut at its message limit: its last name may be a prefix
    unexpected = {n for n in names - ENVIRONMENT if not any(allowed.startswith(n) for allowed in ENVIRONMENT)}
    assert {"PATH", "HOME", "TMPDIR"} <= names and not unexpected, unexpected


def test_a_notebook_has_no_network(observed):
    interfaces, reached = observed[0]["network"].rsplit(" ", 1)
    assert interfaces == "lo" and reached in ("ENETUNREACH", "EHOSTUNREACH", "ECONNREFUSED")


def test_a_notebook_sees_only_its_own_submission(observed):
    assert observed[0]["files"] == "/sandbox/work/02_observer.ipynb"


def test_a_notebook_cannot_write_the_package(observed):
    outcome, mount = observed[0]["package"].split()
    assert outcome in ("EROFS", "EACCES") and mount == "ro"  # denied, and a read-only mount as well


def test_a_notebook_runs_as_a_user_of_its_own(observed):
    uid, gid = map(int, observed[0]["user"].split())
    if os.geteuid() == 0:
        assert uid >= 2_147_000_000 and gid == uid  # a uid of its own per job slot, not root
    else:
        assert uid == os.getuid()  # in a user namespace of its own


def test_a_notebook_is_held_to_its_limits(observed):
    seen = observed[0]
    memory, files, file_size, cpu, core = map(int, seen["limits"].split())
    assert (memory, file_size, cpu, core) == (2 << 30, 128 << 20, 300, 0) and files == 1024
    assert seen["memory"] == "MemoryError"
    started, outcome = seen["processes started"].split()
    assert int(started) < 24 and outcome == "EAGAIN"
    assert seen["disk"] == "ENOSPC"


def test_every_process_of_a_notebook_dies_with_it(observed):
    assert observed[0]["left running"] == "sleep 987654"
    assert subprocess.run(["pgrep", "-f", "sleep 987654"], capture_output=True).returncode == 1


def test_the_kernel_refuses_introspection_that_reaches_the_grader(observed):
    assert observed[0]["introspection"] == "refused refused refused"
    messages = [f.message for f in observed[1][OBSERVER.name].findings if f.kind == "tampering"]
    assert {"opened a process's memory through /proc", "called gc.get_objects", "called sys._current_frames"} <= set(messages)


# ------------------------------------------------------------------------------ without a sandbox
def test_without_bubblewrap_the_grader_refuses_unless_told(tmp_path):
    notebook = ROOT / "exercises" / "02_computation_graphs.ipynb"
    refused = subprocess.run([str(GRADER_BIN), "--gradescope", str(tmp_path / "results.json"), str(notebook)],
                             capture_output=True, text=True, env={**os.environ, "PATH": str(tmp_path)})
    assert refused.returncode == 2 and "--no-sandbox" in refused.stderr
    assert "could not run" in json.loads((tmp_path / "results.json").read_text())["output"]
    with pytest.raises(SandboxUnavailable, match="no such user"):
        Sandbox.find(Limits(), user="no-such-user-of-minigrad")


def test_no_sandbox_is_stated_in_every_report(tmp_path):
    out = {name: tmp_path / name for name in ("g.csv", "g.json", "gs.json")}
    done = subprocess.run([str(GRADER_BIN), "--no-sandbox", "--csv", str(out["g.csv"]), "--json", str(out["g.json"]),
                           "--gradescope", str(out["gs.json"]), str(ROOT / "exercises" / "02_computation_graphs.ipynb")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "WARNING: graded WITHOUT a sandbox" in done.stdout
    assert next(csv.DictReader(io.StringIO(out["g.csv"].read_text())))["sandbox"].startswith("graded WITHOUT")
    assert json.loads(out["g.json"].read_text())["grader"]["warning"].startswith("graded WITHOUT")
    assert json.loads(out["gs.json"].read_text())["output"].startswith("WARNING: graded WITHOUT")


def test_graders_never_share_a_sandbox_user():
    """Each grader holds its kernels' uids with a lock: another grader (process) gets other ones."""
    from minigrad.grading.sandbox import _claim_uid

    mine = [_claim_uid(()), _claim_uid(())]
    script = "from minigrad.grading.sandbox import _claim_uid; print(_claim_uid(()))"
    theirs = int(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout)
    assert len({*mine, theirs}) == 3
