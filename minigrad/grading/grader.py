"""Grade notebooks: run each in a private copy, score its answers here, and look for tampering.

Scores are computed in this process, from the plain data :mod:`minigrad.grading.runner` read out
of the kernel, by the checks in :mod:`minigrad.grading.questions` as this process loaded them.
What the notebook printed is only compared with those scores, to report fake "✓" lines.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import json
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import nbformat
import numpy as np
from nbclient.exceptions import DeadKernelError

import minigrad
from minigrad.grading import tamper
from minigrad.grading.tamper import Finding
from minigrad.grading.questions import CHAPTERS, QUESTIONS, TRUSTED_MODULES, for_chapter
from minigrad.grading.registry import Outcome, Question, score_answer
from minigrad.grading.runner import Request, RunLimits, run_notebook

__all__ = ["QuestionResult", "NotebookResult", "Finding", "Grader"]

_MAX_NOTEBOOK_BYTES = 50_000_000
_CHAPTER_IN_NAME = re.compile(r"^(\d{2})_")
_CHECK_CALL = re.compile(r"""check\(\s*["'](\d+\.\d+)["']""")
# The grading code a kernel runs (check, the questions, the wire format): a notebook that replaces
# anything in these, or in the module of its own questions, gets no credit.
_GRADING_MODULES = ("minigrad", "minigrad.grading", "minigrad.grading.notebook", "minigrad.grading.questions",
                    "minigrad.grading.registry", "minigrad.grading.wire")


@dataclass
class QuestionResult:
    """One question's row of the report."""

    id: str
    title: str
    status: str
    score: int
    max_score: int
    message: str


@dataclass
class NotebookResult:
    """One notebook's row of the report."""

    path: str
    sha256: str | None
    run_status: str
    run_message: str
    total: int
    max_score: int
    questions: list[QuestionResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    cell_errors: list[dict] = field(default_factory=list)
    timing: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _questions_for(notebook: Any, name: str) -> list[Question]:
    """Which exercises a notebook holds: its metadata, else its file name, else its check() calls."""
    chapter = None
    grading = notebook.metadata.get("grading") if notebook is not None else None
    if isinstance(grading, dict) and str(grading.get("chapter", "")).isdigit():
        chapter = f"{int(grading['chapter']):02d}"
    if chapter not in CHAPTERS:
        match = _CHAPTER_IN_NAME.match(name)
        chapter = match.group(1) if match else None
    if chapter not in CHAPTERS and notebook is not None:
        ids = {qid for cell in notebook.cells for qid in _CHECK_CALL.findall(str(cell.get("source", "")))}
        chapters = {QUESTIONS[qid].chapter for qid in ids if qid in QUESTIONS}
        chapter = chapters.pop() if len(chapters) == 1 else None
    return for_chapter(chapter) if chapter in CHAPTERS else []


class Grader:
    """Grades notebooks with the same limits and the same hidden cases for every notebook.

    Args:
        limits: timeouts and output cap.
        seed: seed of the hidden cases (drawn at random when ``None``; reported in the JSON).
    """

    def __init__(self, limits: RunLimits | None = None, seed: int | None = None) -> None:
        importlib.import_module("sympy")  # once per grader, not in the first notebook's time
        self.limits = limits or RunLimits()
        self.seed = seed if seed is not None else int(np.random.SeedSequence().entropy % 2**32)
        rng = np.random.default_rng(self.seed)
        self.cases = {qid: (*q.visible, *q.hidden(rng)) for qid, q in QUESTIONS.items()}
        # Fingerprints of the trusted modules as this process loaded them, and the package's files.
        self.package_dir = Path(minigrad.__file__).parent
        self.package_files = tamper.snapshot_package(self.package_dir)
        self._fingerprints: dict[str, Any] = {}
        self._running: set[Path] = set()
        self._suspects: set[Path] = set()

    # ------------------------------------------------------------------------------ batch
    def grade(self, paths: Sequence[str | Path], jobs: int = 1,
              progress: Callable[[NotebookResult], None] | None = None) -> list[NotebookResult]:
        """Grade every notebook, ``jobs`` at a time; results come back in the order of ``paths``."""
        return asyncio.run(self._grade_all([Path(p) for p in paths], max(1, jobs), progress))

    async def _grade_all(self, paths: list[Path], jobs: int,
                         progress: Callable[[NotebookResult], None] | None) -> list[NotebookResult]:
        gate = asyncio.Semaphore(jobs)
        asyncio.get_running_loop().set_exception_handler(_ignore_orphaned_kernel_polls)

        async def one(path: Path) -> NotebookResult:
            async with gate:
                result = await self.grade_one(path)
            if progress is not None and path not in self._suspects:
                progress(result)
            return result

        results = list(await asyncio.gather(*(one(p) for p in paths)))
        # The grader's files changed while several notebooks ran: grade each of those alone,
        # so that the change is pinned on the notebook that made it.
        for index, path in enumerate(paths):
            if path in self._suspects:
                results[index] = await self.grade_one(path)
                if progress is not None:
                    progress(results[index])
        self._suspects.clear()
        return results

    # ------------------------------------------------------------------------------ one notebook
    async def grade_one(self, path: Path) -> NotebookResult:
        """Grade one notebook; every failure becomes a status in the result, never an exception."""
        self._running.add(path)
        try:
            return await self._grade_one(path)
        except Exception as error:  # a bug of the grader's own must not stop the batch either
            return self._unrun(path, None, "error", f"the grader failed: {type(error).__name__}: {error}",
                               _questions_for(None, path.name))
        finally:
            self._running.discard(path)

    async def _grade_one(self, path: Path) -> NotebookResult:
        start = time.monotonic()
        name = path.name
        try:
            raw = path.read_bytes() if path.stat().st_size <= _MAX_NOTEBOOK_BYTES else None
        except OSError as error:
            return self._unrun(path, None, "missing", f"cannot read the file: {error.strerror or error}",
                               _questions_for(None, name))
        if raw is None:
            return self._unrun(path, None, "unreadable", f"larger than {_MAX_NOTEBOOK_BYTES} bytes",
                               _questions_for(None, name))
        sha = _sha256(raw)
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            return self._unrun(path, sha, "unreadable", f"not valid JSON ({str(error)[:80]})",
                               _questions_for(None, name))
        try:
            if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
                raise ValueError("no list of cells")
            notebook = nbformat.reads(json.dumps(data), as_version=4)
            for cell in notebook.cells:
                if cell.cell_type not in ("code", "markdown", "raw") or not isinstance(cell.source, str):
                    raise ValueError("a cell without a type or a source")
        except Exception as error:  # nbformat raises many kinds of errors on odd input
            return self._unrun(path, sha, "not a notebook", f"not a Jupyter notebook ({str(error)[:80]})",
                               _questions_for(None, name))
        questions = _questions_for(notebook, name)
        if not questions:
            return self._unrun(path, sha, "unknown exercises",
                               "cannot tell which chapter's exercises this is (no grading metadata, "
                               "no NN_ file name, no check() calls)", [])

        findings = tamper.scan_sources(notebook)
        stored_claims = tamper.claims(tamper.stored_output_text(notebook))
        result = await self._run_and_score(path, name, notebook, questions, findings, stored_claims)
        result.sha256 = sha

        # The submitted file must be exactly as it was; and so must the grader's own package.
        try:
            unchanged = _sha256(path.read_bytes()) == sha
        except OSError:
            unchanged = False
        if not unchanged:
            self._void(result, "the submitted file changed while it was graded")
        changed, self.package_files = tamper.package_changes(self.package_dir, self.package_files)
        if changed and len(self._running) > 1:
            self._suspects.update(self._running)
        elif changed:
            self._void(result, "the grader's installed files changed while the notebook ran: "
                       + ", ".join(changed) + " (reinstall minigrad before grading again)")
        result.timing["total"] = round(time.monotonic() - start, 3)
        result.timing["overhead"] = round(result.timing["total"] - result.timing.get("kernel", 0.0)
                                          - result.timing.get("notebook", 0.0), 3)
        return result

    async def _run_and_score(self, path: Path, name: str, notebook: Any, questions: list[Question],
                             findings: list[Finding], stored_claims: dict[str, str]) -> NotebookResult:
        trusted = sorted({*_GRADING_MODULES, *TRUSTED_MODULES, *(q.grade.__module__ for q in questions)})
        requests = [Request("integrity", {"task": "integrity", "trusted": trusted})]
        for q in questions:
            n_visible = len(q.visible)
            for part, cases in (("visible", self.cases[q.qid][:n_visible]),
                                ("hidden", self.cases[q.qid][n_visible:])):
                requests.append(Request(f"{q.qid}/{part}", {"task": "answer", "name": q.answer,
                                                            "kind": q.kind, "cases": list(cases)}))
        root = Path(tempfile.mkdtemp(prefix="minigrad-grade-"))
        try:
            workdir, payload_dir = root / "work", root / "payload"
            workdir.mkdir()
            payload_dir.mkdir()
            copy = workdir / name
            nbformat.write(notebook, copy)
            before = tamper.snapshot_directory(workdir)
            run = await run_notebook(notebook, workdir, payload_dir, requests, self.limits)
            written = tamper.changed_files(before, tamper.snapshot_directory(workdir))
        finally:
            shutil.rmtree(root, ignore_errors=True)

        result = NotebookResult(
            path=str(path), sha256=None, run_status=run.status,
            run_message=run.message or _completed_message(run), total=0,
            max_score=sum(q.points for q in questions), findings=findings,
            cell_errors=[{"cell": n, "error": e} for n, e in run.cell_errors],
            timing={"kernel": round(run.kernel_seconds, 3), "notebook": round(run.notebook_seconds, 3),
                    "probes": round(run.probe_seconds, 3)},
        )
        if written:
            own = name in written
            others = [f for f in written if f != name]
            if own:
                findings.append(Finding("tampering", "rewrote its own notebook file (only the grader's "
                                                     "private copy; the submitted file is unchanged)"))
            if others:
                findings.append(Finding("note", "wrote files next to itself: " + ", ".join(others[:5])
                                        + (" …" if len(others) > 5 else "")
                                        + " (in the grader's private copy, then deleted)"))
        if run.dropped_output_bytes:
            findings.append(Finding("note", f"printed more than {self.limits.max_output_bytes} bytes; "
                                            f"{run.dropped_output_bytes} bytes of output were dropped"))

        integrity = run.payloads.get("integrity")
        compromised = self._check_integrity(run, integrity, findings)
        visible: dict[str, Outcome | None] = {}
        for q in questions:
            outcome, visible[q.qid] = self._score(q, run)
            if compromised:
                outcome = Outcome("failed", 0, f"not credited: {compromised}")
            result.questions.append(QuestionResult(q.qid, q.title, outcome.status, outcome.score,
                                                   q.points, outcome.message))
        self._compare_claims(result, stored_claims, visible, fresh=False)
        self._compare_claims(result, tamper.claims("".join(run.output_text)), visible, fresh=True)
        result.total = sum(r.score for r in result.questions)
        return result

    def _score(self, q: Question, run: Any) -> tuple[Outcome, Outcome | None]:
        """(credit over all cases, outcome on the visible cases alone or None when unknown).

        The visible and the hidden cases are read by two injected cells, so that an answer that
        hangs on a hidden case still has its visible result.
        """
        n_visible = len(q.visible)
        parts = []
        for part, cases in (("visible", self.cases[q.qid][:n_visible]), ("hidden", self.cases[q.qid][n_visible:])):
            state = run.request_status.get(f"{q.qid}/{part}")
            payload = run.payloads.get(f"{q.qid}/{part}")
            if state == "timeout" and run.status == "timeout":
                failure = Outcome("timeout", 0, f"not graded: the notebook {run.message}")
            elif state == "timeout":
                failure = Outcome("timeout", 0, f"`{q.answer}` did not return within "
                                                f"{self.limits.cell_timeout:g} s on the {part} cases")
            elif state != "done":
                failure = Outcome("error", 0, f"not graded: {run.message or 'the notebook did not run'}")
            elif not isinstance(payload, dict) or not isinstance(payload.get("results"), list):
                failure = Outcome("error", 0, "not graded: the grader's probe did not report back "
                                              "(the notebook interfered with it)")
            else:
                parts.append(payload)
                continue
            visible = score_answer(q, self.cases[q.qid][:n_visible], parts[0]) if parts else None
            return failure, visible
        visible_payload, hidden_payload = parts
        combined = {"defined": visible_payload.get("defined") and hidden_payload.get("defined"),
                    "results": visible_payload["results"] + hidden_payload["results"]}
        return (score_answer(q, self.cases[q.qid], combined),
                score_answer(q, self.cases[q.qid][:n_visible], visible_payload))

    def _check_integrity(self, run: Any, integrity: Any, findings: list[Finding]) -> str:
        """Add findings from the integrity payload; return why credit is void ("" when it is not)."""
        if run.status != "completed":
            return ""
        if integrity is None:
            findings.append(Finding("tampering", "the grader's integrity probe did not report back"))
            return "the notebook interfered with the grader's probe"
        problems = tamper.compare_modules(integrity.get("modules", {}), self._fingerprint)
        for kind, message in problems:
            findings.append(Finding(kind, message))
        check_state = str(integrity.get("check", ""))
        if check_state.startswith("other"):
            findings.append(Finding("tampering", f"`check` is not minigrad.grading.check when the "
                                                 f"notebook ends ({check_state}); its ✓ lines mean nothing"))
        serious = [m for k, m in problems if k == "tampering"]
        return f"the notebook modified minigrad in its kernel ({serious[0]})" if serious else ""

    def _fingerprint(self, module_name: str) -> Any:
        """This process's fingerprint of a module (``None`` when it cannot be imported)."""
        if module_name not in self._fingerprints:
            try:
                module = importlib.import_module(module_name)
            except Exception:
                self._fingerprints[module_name] = None
            else:
                self._fingerprints[module_name] = tamper.fingerprint(module)
        return self._fingerprints[module_name]

    def _compare_claims(self, result: NotebookResult, claims: dict[str, str],
                        visible: dict[str, Outcome | None], fresh: bool) -> None:
        """Report "✓" lines that the package's check could not have printed.

        ``check`` passes exactly when the visible cases pass. In the grader's own run (``fresh``)
        a ✓ for a question whose visible cases fail is a fake: it is reported as tampering and the
        question gets no credit. In the submitted file's stored outputs it may also be stale, so
        it is only a note.
        """
        for row in result.questions:
            line = claims.get(row.id)
            seen = visible.get(row.id)
            if line is None or seen is None or seen.status == "passed":
                continue
            if not fresh:
                result.findings.append(Finding(
                    "note", f"the submitted file shows {line!r}, but {row.id}'s check does not pass "
                            f"when graded (stale or edited output)"))
                continue
            result.findings.append(Finding("tampering", f"prints {line!r} although check() does not "
                                                        f"pass {row.id}: no credit for {row.id}"))
            row.status, row.score = "failed", 0
            row.message = f"not credited: the notebook printed a fake {line!r}"

    def _void(self, result: NotebookResult, why: str) -> None:
        result.findings.append(Finding("tampering", why))
        for row in result.questions:
            row.status, row.score, row.message = "failed", 0, f"not credited: {why}"
        result.total = 0

    def _unrun(self, path: Path, sha: str | None, status: str, message: str,
               questions: list[Question]) -> NotebookResult:
        rows = [QuestionResult(q.qid, q.title, "error", 0, q.points, f"not graded: {message}")
                for q in questions]
        return NotebookResult(str(path), sha, status, message, 0, sum(q.points for q in questions), rows)


def _ignore_orphaned_kernel_polls(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """Silence nbclient's liveness-poll tasks left behind when a stuck or dead kernel is abandoned."""
    if "never retrieved" in context.get("message", "") and isinstance(
            context.get("exception"), (AssertionError, DeadKernelError)):
        return
    loop.default_exception_handler(context)


def _completed_message(run: Any) -> str:
    errors = len(run.cell_errors)
    seconds = run.kernel_seconds + run.notebook_seconds
    if not errors:
        return f"ran in {seconds:.1f} s"
    cells = ", ".join(str(n) for n, _ in run.cell_errors[:5])
    return f"ran in {seconds:.1f} s; {errors} cell{'s' * (errors > 1)} raised (cell {cells})"
