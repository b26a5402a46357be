"""Grade notebooks: each runs in a sandbox of its own, and the grader's work on it in limited children.

For every notebook the grader

1. reads the file safely (:func:`~minigrad.grading.submission.read_submission`) and records its
   SHA-256 and the seed of its hidden cases;
2. in a child process, parses and analyses it (which chapter, its code, signs of tampering in its
   text, the "✓" lines its stored outputs show), then runs it in its sandboxed kernel
   (:mod:`minigrad.grading.runner`), which brings back the kernel's signed reports: what each
   answer returned on the visible and hidden cases, which borrowed routines it called, what was
   tampered with;
3. scores its answers in a child process, each question within a time limit (:func:`score_questions`);
4. turns every failure on the way, ``BaseException`` included, into that notebook's row.

The children are limited in time and memory (:mod:`minigrad.grading.children`), so no notebook
can stop the batch, and no notebook can reach the grader, its files or another submission
(:mod:`minigrad.grading.sandbox`).
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import hmac
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

import minigrad
from minigrad.grading import children
from minigrad.grading.questions import CHAPTERS, QUESTIONS, for_chapter
from minigrad.grading.registry import REFERENCE_PREFIX, Outcome, Question, score_answer
from minigrad.grading.runner import Request, RunLimits, RunResult, run_notebook
from minigrad.grading.sandbox import Limits, Sandbox
from minigrad.grading.submission import Unreadable, analyse, read_submission
from minigrad.grading.tamper import Finding

__all__ = ["QuestionResult", "NotebookResult", "Finding", "Grader", "score_question", "score_questions", "seed_for"]

_RUNNER_MEMORY = 3 << 30
_SCORING_MEMORY = 2 << 30
_CHAPTER_IN_NAME = re.compile(r"^(\d{2})_")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}\.ipynb$")
_REFERENCE_MODULES = sorted({q.grade.__module__ for q in QUESTIONS.values()} | {"minigrad.grading.common"})


@dataclass
class QuestionResult:
    """One question's row of the report: ``message`` on every case, hidden ones included;
    ``visible_message`` on the notebook's own example alone (what ``check()`` printed), when it ran."""

    id: str
    title: str
    status: str
    score: int
    max_score: int
    message: str
    visible_message: str = ""


@dataclass
class NotebookResult:
    """One notebook's row of the report.

    ``seed`` is the seed its hidden cases were drawn from; ``sandbox`` is empty when it ran in a
    sandbox, else the warning every report repeats.
    """

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
    seed: int | None = None
    sandbox: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def seed_for(secret: bytes, sha256: str) -> int:
    """The seed of a notebook's hidden cases under a secret: the same file always gets the same cases,
    and nobody without the secret can tell which."""
    return int.from_bytes(hmac.new(secret, sha256.encode("ascii"), hashlib.sha256).digest()[:4], "big")


def _draw_cases(seed: int) -> dict[str, tuple[dict, ...]]:
    rng = np.random.default_rng(seed)
    return {qid: (*q.visible, *q.hidden(rng)) for qid, q in QUESTIONS.items()}


def score_question(qid: str, cases: list, n_visible: int, visible: Any, hidden: Any) -> dict:
    """Score one question from the kernel's reports (run in a child process: the reports are untrusted data).

    Args:
        qid: the question.
        cases: its visible then hidden cases.
        n_visible: how many are visible.
        visible, hidden: the ``answer`` parts of the kernel's reports on the two sets of cases,
            ``None`` when one did not come back.

    Returns:
        ``{"outcome": [status, score, message], "visible": [...] or None}``: the credit over all
        cases, and the outcome on the visible cases alone (what ``check()`` printed).
    """
    question = QUESTIONS[qid]
    seen = score_answer(question, cases[:n_visible], visible) if visible is not None else None
    outcome = None
    if visible is not None and hidden is not None:
        try:
            combined = {"defined": visible["defined"] and hidden["defined"],
                        "results": list(visible["results"]) + list(hidden["results"])}
        except (KeyError, TypeError):
            combined = None
        outcome = score_answer(question, cases, combined)
    as_list = lambda o: None if o is None else [o.status, o.score, o.message]  # noqa: E731
    return {"outcome": as_list(outcome), "visible": as_list(seen)}


class _OutOfTime(BaseException):
    """Raised by the alarm in :func:`score_questions`; a BaseException, so that no ``except Exception`` in a check stops it."""


def _alarm(signum: int, frame: Any) -> None:
    raise _OutOfTime


def score_questions(tasks: list[tuple], timeout: float) -> list[dict]:
    """:func:`score_question` for each task, each within ``timeout`` seconds (run in one child per notebook).

    Returns:
        Per task, :func:`score_question`'s result, or ``{"failed": why}`` when the check ran out of
        time or memory or raised.
    """
    signal.signal(signal.SIGALRM, _alarm)
    results = []
    for task in tasks:
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            results.append(score_question(*task))
        except _OutOfTime:
            results.append({"failed": f"took more than {timeout:g} s"})
        except MemoryError:
            results.append({"failed": "ran out of memory"})
        except Exception as error:  # noqa: BLE001 - a check that fails on odd data fails this question only
            results.append({"failed": f"raised {type(error).__name__}: {str(error)[:200]}"})
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    return results


@dataclass(frozen=True)
class _Job:
    """What the child that reads and runs one notebook needs (see :func:`_analyse_and_run`)."""

    copy: str
    submitted_name: str
    name: str
    chapter: str | None
    seed: int
    sandbox: Sandbox
    slot: int
    root: Path
    limits: RunLimits
    fonts: str | None


def _requests(questions: list[Question], cases: dict[str, tuple[dict, ...]]) -> list[Request]:
    """Two requests per question (its visible, then its hidden cases), then the integrity request."""
    requests = []
    for q in questions:
        n_visible = len(q.visible)
        for part, chosen in (("visible", cases[q.qid][:n_visible]), ("hidden", cases[q.qid][n_visible:])):
            requests.append(Request(f"{q.qid}/{part}", {"task": "answer", "qid": q.qid, "name": q.answer,
                                                        "kind": q.kind, "cases": list(chosen)}))
    return [*requests, Request("integrity", {"task": "integrity"})]


def _analyse_and_run(job: _Job) -> dict:
    """Read a submission, then run it in its sandbox (in a child process: both handle the student's data).

    Returns:
        ``{"analysis": analyse()'s result, "analysis_seconds", "run": RunResult.to_dict()}``;
        no ``run`` when the file could not be read as a notebook of a known chapter.
    """
    start = time.monotonic()
    analysis = analyse(job.copy, job.submitted_name, job.chapter)
    reply: dict[str, Any] = {"analysis": analysis, "analysis_seconds": time.monotonic() - start}
    if analysis["status"] != "ok":
        return reply
    questions = for_chapter(analysis["chapter"])
    imports = ["minigrad.grading", *(["sympy"] if any(q.kind == "sympy" for q in questions) else [])]
    config = {"key": secrets.token_hex(32), "imports": imports, "references": _REFERENCE_MODULES,
              "borrowed": {q.qid: list(q.borrowed) for q in questions if q.borrowed},
              "package": str(Path(minigrad.__file__).resolve().parent), "matplotlib_cache": job.fonts}
    launch = job.sandbox.launch(job.slot, job.root, Path(job.copy), job.name, config)
    run = run_notebook(analysis.pop("sources"), launch, _requests(questions, _draw_cases(job.seed)), job.limits)
    reply["run"] = asyncio.run(run).to_dict()
    return reply


_FONT_CACHE: list[str] = []


def _prepare_font_list(directory: str) -> str:
    """Build matplotlib's font list once (in a child), for every kernel to copy instead of building it."""
    os.environ["MPLCONFIGDIR"] = directory
    import matplotlib.font_manager  # noqa: F401 - importing it writes the font list

    return directory


class Grader:
    """Grades notebooks with the same limits, the same sandbox and reproducible hidden cases.

    Args:
        limits: timeouts and output cap of each notebook.
        seed: seed of the hidden cases of every notebook; drawn at random when neither it nor
            ``secret`` is given (and reported either way).
        secret: a secret from which each notebook's seed is derived with its SHA-256
            (:func:`seed_for`), so that re-grading a file reproduces its grade while students
            cannot predict their hidden cases.
        sandbox: where kernels run (default: :meth:`Sandbox.find`, which raises
            :class:`~minigrad.grading.sandbox.SandboxUnavailable` when there is none).
        chapter: grade every notebook as this chapter's (``"02"``), whatever it says.
        score_timeout: seconds the scoring of one question may take.
    """

    def __init__(self, limits: RunLimits | None = None, seed: int | None = None, *, secret: bytes | None = None,
                 sandbox: Sandbox | None = None, chapter: str | None = None, score_timeout: float = 60.0) -> None:
        if seed is not None and secret is not None:
            raise ValueError("give a seed or a secret, not both")
        if chapter is not None and chapter not in CHAPTERS:
            raise ValueError(f"no exercises for chapter {chapter!r} (chapters: {', '.join(CHAPTERS)})")
        self.limits = limits or RunLimits()
        cpu = int(self.limits.total_timeout) + 60
        self.sandbox = sandbox or Sandbox.find(Limits(cpu_seconds=cpu))
        self.secret = secret
        self.seed_source = "secret" if secret is not None else "given" if seed is not None else "random"
        self.seed = seed if seed is not None or secret is not None else secrets.randbelow(2**32)
        self.chapter = chapter
        self.score_timeout = score_timeout
        children.start()
        self._cases: dict[int, dict[str, tuple[dict, ...]]] = {}
        self._workspace: Path | None = None
        self._jobs = 1

    def seed_of(self, sha256: str) -> int:
        """The seed of the hidden cases of the notebook with this SHA-256."""
        return seed_for(self.secret, sha256) if self.secret is not None else self.seed

    def cases(self, seed: int) -> dict[str, tuple[dict, ...]]:
        """Every question's visible and hidden cases for a seed."""
        if seed not in self._cases:
            self._cases[seed] = _draw_cases(seed)
        return self._cases[seed]

    # ------------------------------------------------------------------------------ batch
    def grade(self, paths: Sequence[str | Path], jobs: int = 1,
              progress: Callable[[int, NotebookResult], None] | None = None) -> list[NotebookResult]:
        """Grade every notebook, ``jobs`` at a time; results come back in the order of ``paths``.

        ``progress(index, result)`` is called as soon as a notebook's result is final (in the order
        they finish; ``index`` is its place in ``paths``).
        """
        return asyncio.run(self.grade_async([Path(p) for p in paths], max(1, jobs), progress))

    async def grade_async(self, paths: list[Path], jobs: int,
                          progress: Callable[[int, NotebookResult], None] | None) -> list[NotebookResult]:
        """:meth:`grade` inside a running event loop."""
        self._jobs = jobs
        self.sandbox.claim_users(jobs)
        slots: asyncio.Queue[int] = asyncio.Queue()
        for slot in range(jobs):
            slots.put_nowait(slot)
        self._workspace = Path(tempfile.mkdtemp(prefix="minigrad-grade-"))
        os.chmod(self._workspace, 0o711)
        if not _FONT_CACHE:
            font_dir = Path(tempfile.mkdtemp(prefix="minigrad-grade-fonts-"))
            os.chmod(font_dir, 0o755)
            atexit.register(_remove, font_dir)
            try:
                _FONT_CACHE.append(await children.run_child(_prepare_font_list, (str(font_dir),), 120, 1 << 30))
            except children.ChildFailed:
                _FONT_CACHE.append("")

        async def one(index: int, path: Path) -> NotebookResult:
            slot = await slots.get()
            try:
                result = await self.grade_one(path, slot)
            finally:
                slots.put_nowait(slot)
            if progress is not None:
                progress(index, result)
            return result

        try:
            return list(await asyncio.gather(*(one(i, p) for i, p in enumerate(paths))))
        finally:
            if self.sandbox.kind == "none" and self.sandbox.user is not None:
                _kill_user(*self.sandbox.user_of(0))
            _remove(self._workspace)

    # ------------------------------------------------------------------------------ one notebook
    async def grade_one(self, path: Path, slot: int = 0) -> NotebookResult:
        """Grade one notebook; every failure becomes a status in the result, never an exception."""
        start = time.monotonic()
        partial: dict[str, Any] = {"sha": None, "seed": None, "findings": []}
        try:
            result = await self._grade_one(path, slot, partial)
        except (asyncio.CancelledError, KeyboardInterrupt):  # the instructor stops the batch (Ctrl-C, SIGTERM)
            raise
        except BaseException as error:  # noqa: BLE001 - a failure of the grader's own must not stop the batch
            result = self._unrun(path, partial["sha"], "error",
                                 f"the grader failed on this notebook ({type(error).__name__}: {str(error)[:200]}): "
                                 f"review it by hand", self._questions_named(path), partial["seed"])
            result.findings = [*partial["findings"], *result.findings]
        result.timing["total"] = round(time.monotonic() - start, 3)
        result.timing["overhead"] = round(result.timing["total"] - result.timing.get("kernel", 0.0)
                                          - result.timing.get("notebook", 0.0), 3)
        return result

    async def _grade_one(self, path: Path, slot: int, partial: dict) -> NotebookResult:
        try:
            raw = read_submission(path)
        except Unreadable as error:
            return self._unrun(path, None, error.status, str(error), self._questions_named(path), None)
        sha = partial["sha"] = hashlib.sha256(raw).hexdigest()
        seed = partial["seed"] = self.seed_of(sha)
        root = Path(tempfile.mkdtemp(dir=self._workspace))
        try:
            copy = root / "submission.ipynb"
            copy.write_bytes(raw)
            os.chmod(copy, 0o644)
            if self.sandbox.kind == "none":
                os.chmod(root, 0o711)  # the kernel's own user reaches its folders inside
            clock = time.monotonic()
            name = path.name if _SAFE_NAME.match(path.name) else "submission.ipynb"
            job = _Job(str(copy), path.name, name, self.chapter, seed, self.sandbox, slot, root, self.limits,
                       _FONT_CACHE[0] if _FONT_CACHE else None)
            try:
                reply = await children.run_child(_analyse_and_run, (job,), self.limits.total_timeout + 180,
                                                 _RUNNER_MEMORY)
            except children.ChildFailed as error:
                return self._unrun(path, sha, "error", f"the grader's run of the notebook failed: it {error.reason}",
                                   self._questions_named(path), seed)
            finally:
                if self.sandbox.kind == "none" and self.sandbox.user is not None and self._jobs == 1:
                    _kill_user(*self.sandbox.user_of(slot))
            analysis = reply["analysis"]
            if analysis["status"] != "ok":
                chapter = analysis.get("chapter")
                return self._unrun(path, sha, analysis["status"], analysis["message"],
                                   for_chapter(chapter) if chapter in CHAPTERS else [], seed)
            questions = for_chapter(analysis["chapter"])
            findings = partial["findings"] = [Finding(kind, message) for kind, message in analysis["findings"]]
            run = RunResult.from_dict(reply["run"])
            ran = time.monotonic()
            result = NotebookResult(
                path=str(path), sha256=sha, run_status=run.status,
                run_message=run.message or _completed_message(run), total=0,
                max_score=sum(q.points for q in questions), findings=findings,
                cell_errors=[{"cell": n, "error": e} for n, e in run.cell_errors],
                timing={"analysis": round(reply["analysis_seconds"], 3), "run": round(ran - clock, 3),
                        "kernel": round(run.kernel_seconds, 3), "notebook": round(run.notebook_seconds, 3),
                        "probes": round(run.probe_seconds, 3)},
                seed=seed, sandbox=self.sandbox.warning or "")
            await self._score(result, run, questions, seed, analysis["stored_claims"])
            result.timing["scoring"] = round(time.monotonic() - ran, 3)
            return result
        finally:
            _remove(root)

    async def _score(self, result: NotebookResult, run: RunResult, questions: list[Question], seed: int,
                     stored_claims: dict[str, str]) -> None:
        """Fill ``result``'s questions, findings and total from the run's reports."""
        cases = self.cases(seed)
        compromised = self._check_integrity(run, result.findings)
        failures, tasks = {}, []
        for q in questions:
            failure, parts = self._reports(q, run)
            failures[q.qid] = failure
            tasks.append((q.qid, list(cases[q.qid]), len(q.visible), *parts))
        try:
            scored = await children.run_child(score_questions, (tasks, self.score_timeout),
                                              len(tasks) * self.score_timeout + 30, _SCORING_MEMORY)
        except children.ChildFailed as error:
            scored = [{"failed": error.reason}] * len(tasks)
        visible: dict[str, Outcome | None] = {}
        for q, score in zip(questions, scored):
            if "failed" in score:
                outcome, visible[q.qid] = Outcome("error", 0, f"the check of `{q.answer}`'s answer {score['failed']}: "
                                                              f"review it by hand"), None
            else:
                visible[q.qid] = Outcome(*score["visible"]) if score["visible"] else None
                outcome = failures[q.qid] or Outcome(*score["outcome"])
            outcome = self._borrowed(q, run, outcome, result.findings)
            if compromised:
                outcome = Outcome("failed", 0, f"not credited: {compromised}")
            seen = visible[q.qid].message if visible[q.qid] is not None else ""
            result.questions.append(QuestionResult(q.qid, q.title, outcome.status, outcome.score, q.points,
                                                   outcome.message, seen))
        if run.dropped_output_bytes:
            result.findings.append(Finding("note", f"printed more than {self.limits.max_output_bytes} bytes; "
                                                   f"{run.dropped_output_bytes} bytes of output were dropped"))
        self._compare_claims(result, stored_claims, visible, fresh=False)
        self._compare_claims(result, run.claims, visible, fresh=True)
        result.total = sum(r.score for r in result.questions)

    def _reports(self, q: Question, run: RunResult) -> tuple[Outcome | None, tuple]:
        """(why ``q`` cannot be credited or None, (the visible report, the hidden report, or None each)).

        The visible and the hidden cases are read by two injected cells, so that an answer that
        hangs on a hidden case still has its visible result (what ``check()`` printed).
        """
        parts: list[Any] = []
        for part in ("visible", "hidden"):
            state = run.request_status.get(f"{q.qid}/{part}")
            answer = (run.payloads.get(f"{q.qid}/{part}") or {}).get("answer")
            failure = None
            if state == "timeout" and run.status == "timeout":
                failure = Outcome("timeout", 0, f"not graded: the notebook {run.message}")
            elif state == "timeout":
                failure = Outcome("timeout", 0, f"`{q.answer}` did not return within "
                                                f"{self.limits.cell_timeout:g} s on the {part} cases")
            elif state != "done":
                failure = Outcome("error", 0, f"not graded: {run.message or 'the notebook did not run'}")
            elif not isinstance(answer, dict):
                failure = Outcome("error", 0, "not graded: the grader's probe did not report back "
                                              "(the notebook interfered with it)")
            if failure is not None:
                return failure, (parts[0] if parts else None, None)
            parts.append(answer)
        return None, tuple(parts)

    @staticmethod
    def _borrowed(q: Question, run: RunResult, outcome: Outcome, findings: list[Finding]) -> Outcome:
        """Apply the question's rule to the borrowed routines its answer called, and note what was refused."""
        called, refused, unwatched = [], [], False
        for part in ("visible", "hidden"):
            answer = (run.payloads.get(f"{q.qid}/{part}") or {}).get("answer")
            if isinstance(answer, dict):
                called += [str(n) for n in answer.get("borrowed", []) if str(n) not in called]
                refused += [str(n) for n in answer.get("refused", []) if str(n) not in refused]
                unwatched = unwatched or answer.get("unwatched") is True
        if refused:
            findings.append(Finding("note", f"while the grader called `{q.answer}` ({q.qid}) it refused: "
                                            + ", ".join(refused[:5])))
        if unwatched and outcome.score > 0:
            why = (f"the grader's profiler was removed while it called `{q.answer}` (an exception that "
                   f"started inside it, such as a RecursionError, or a call to sys.setprofile), so it cannot "
                   f"tell which routines the answer called")
            findings.append(Finding("note", f"{q.qid}: {why}"))
            return Outcome("failed", 0, f"not credited: {why}")
        references = [n for n in called if n.startswith(REFERENCE_PREFIX)]
        if references:
            why = f"`{q.answer}` calls the grader's reference code ({', '.join(references[:3])})"
            findings.append(Finding("tampering", f"{q.qid}: {why}"))
            return Outcome("failed", 0, f"not credited: {why}")
        if not called:
            return outcome
        why = (f"`{q.answer}` calls {', '.join(called[:3])}, which exercise {q.qid} asks you to write "
               f"yourself")
        if q.on_borrowed == "review":
            findings.append(Finding("review", f"{q.qid}: {why}; its score stands until you read the code"))
            return outcome
        findings.append(Finding("tampering", f"{q.qid}: {why}"))
        return Outcome("failed", 0, f"not credited: {why}")

    @staticmethod
    def _check_integrity(run: RunResult, findings: list[Finding]) -> str:
        """Add findings from the kernel's reports; return why credit is void (``""`` when it is not)."""
        if run.status != "completed":
            return ""
        integrity = run.payloads.get("integrity")
        if not isinstance(integrity, dict):
            findings.append(Finding("tampering", "the grader's integrity probe did not report back"))
            return "the notebook interfered with the grader's probe"
        tampering: list[str] = []
        notes: list[str] = []
        for payload in run.payloads.values():
            if isinstance(payload, dict):
                tampering += [str(t) for t in payload.get("tampering", []) if str(t) not in tampering]
                notes += [str(n) for n in payload.get("notes", []) if str(n) not in notes]
        findings += [Finding("tampering", t) for t in tampering]
        findings += [Finding("note", n) for n in notes[:10]]
        written = [str(name) for name in integrity.get("written", [])]
        if written:
            findings.append(Finding("note", "wrote files next to itself: " + ", ".join(written[:5])
                                    + (" …" if len(written) > 5 else "") + " (in its sandbox, then discarded)"))
        check_state = str(integrity.get("check", ""))
        if check_state.startswith("other"):
            findings.append(Finding("tampering", f"`check` is not minigrad.grading.check when the "
                                                 f"notebook ends ({check_state}); its ✓ lines mean nothing"))
        return f"the notebook modified minigrad in its kernel ({tampering[0]})" if tampering else ""

    @staticmethod
    def _compare_claims(result: NotebookResult, claims: dict[str, str],
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

    def _questions_named(self, path: Path) -> list[Question]:
        """The questions of the chapter a file's name (or ``--chapter``) gives, for a row that could not run."""
        match = _CHAPTER_IN_NAME.match(path.name)
        chapter = self.chapter or (match.group(1) if match else None)
        return for_chapter(chapter) if chapter in CHAPTERS else []

    def _unrun(self, path: Path, sha: str | None, status: str, message: str, questions: list[Question],
               seed: int | None) -> NotebookResult:
        rows = [QuestionResult(q.qid, q.title, "error", 0, q.points, f"not graded: {message}") for q in questions]
        return NotebookResult(str(path), sha, status, message, 0, sum(q.points for q in questions), rows,
                              seed=seed, sandbox=self.sandbox.warning or "")


def _remove(path: Path | None) -> None:
    """Delete a directory tree of any depth (``rm`` walks it without recursion limits)."""
    if path is not None and os.path.lexists(path):
        subprocess.run([shutil.which("rm") or "/bin/rm", "-rf", "--one-file-system", "--", str(path)], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _kill_user(uid: int, gid: int) -> None:
    """Kill every process of ``uid`` (the kernels' own user, without a sandbox): what they left running.

    ``kill -1`` run as that user reaches its processes and no other.
    """
    subprocess.run([shutil.which("kill") or "/bin/kill", "-KILL", "-1"], user=uid, group=gid, extra_groups=[], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _completed_message(run: RunResult) -> str:
    errors = len(run.cell_errors)
    seconds = run.kernel_seconds + run.notebook_seconds
    if not errors:
        return f"ran in {seconds:.1f} s"
    cells = ", ".join(str(n) for n, _ in run.cell_errors[:5])
    return f"ran in {seconds:.1f} s; {errors} code cell{'s' * (errors > 1)} raised (code cell {cells})"
