"""``minigrad-grade``: grade exercise notebooks (also ``python -m minigrad.grading``).

    minigrad-grade [--jobs N] [--seed N | --secret-file FILE] [--csv FILE] [--json FILE]
                   [--canvas FILE [--canvas-assignment NAME]]
                   [--gradescope FILE [--late-policy FILE] [--submission-metadata FILE]]
                   [--chapter NN] [--no-sandbox] [--user NAME] NOTEBOOK_OR_FOLDER...

Prints a summary to standard output and writes the reports as each notebook's row becomes final.
Exit status: 0 when grading completed (whatever the scores), 1 when the batch was cut short
(interrupted, or the grader itself failed), 2 on a usage error or when no sandbox can be made
and ``--no-sandbox`` was not given.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Sequence, TextIO

if TYPE_CHECKING:
    from minigrad.grading.grader import NotebookResult

__all__ = ["main", "SECRET_VARIABLE"]

SECRET_VARIABLE = "MINIGRAD_GRADE_SECRET"
"""Environment variable holding the secret the hidden cases' seeds are derived from (see ``--secret-file``)."""


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minigrad-grade",
        description="Grade exercise notebooks: run each in a sandbox of its own and score its answers, on "
                    "visible and hidden cases, with the checks in minigrad.grading.",
    )
    parser.add_argument("notebooks", nargs="+", metavar="NOTEBOOK",
                        help="notebooks to grade, or folders (every *.ipynb directly inside)")
    parser.add_argument("--timeout", type=_positive, default=60.0, metavar="SECONDS",
                        help="time limit of any one cell (default 60)")
    parser.add_argument("--total-timeout", type=_positive, default=None, metavar="SECONDS",
                        help="time limit of a whole notebook (default 10 times --timeout)")
    parser.add_argument("--score-timeout", type=_positive, default=60.0, metavar="SECONDS",
                        help="time limit of the check of one answer (default 60)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="notebooks graded at the same time (default 1)")
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=int, default=None,
                       help="seed of every notebook's hidden cases (default: drawn at random; always reported)")
    seeds.add_argument("--secret-file", type=Path, default=None, metavar="FILE",
                       help=f"a secret that, with each notebook's SHA-256, gives its seed (or set {SECRET_VARIABLE})")
    parser.add_argument("--chapter", default=None, metavar="NN",
                        help="grade every notebook as this chapter's exercises, whatever its name says")
    parser.add_argument("--csv", type=Path, metavar="FILE", help="write a gradebook: a row per notebook")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write every detail as one JSON document")
    parser.add_argument("--canvas", type=Path, metavar="FILE",
                        help="write a CSV for Canvas's gradebook import (notebooks named as Canvas downloads them)")
    parser.add_argument("--canvas-assignment", default=None, metavar="NAME",
                        help="the assignment column of --canvas, e.g. 'Exercises 4 (12345)' to fill an existing "
                             "assignment (default: 'Chapter NN exercises', a new one)")
    parser.add_argument("--gradescope", type=Path, metavar="FILE",
                        help="write Gradescope's results.json (exactly one notebook, found in subfolders too)")
    parser.add_argument("--late-policy", type=Path, metavar="FILE",
                        help="with --gradescope: a JSON late policy, e.g. {\"penalty_per_day\": 0.1, \"max_days_late\": 3}")
    parser.add_argument("--submission-metadata", type=Path, metavar="FILE",
                        help="with --gradescope: Gradescope's submission_metadata.json (when the notebook was submitted)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run notebooks without a sandbox (unconfined; every report says so)")
    parser.add_argument("--user", default=None, metavar="NAME",
                        help="run notebooks as this user (the grader must run as root; default under root: an "
                             "unused uid per job)")
    parser.add_argument("--memory", type=_positive, default=4096, metavar="MB",
                        help="memory of each process of a notebook (default 4096)")
    parser.add_argument("--disk", type=_positive, default=512, metavar="MB",
                        help="what a notebook may write in its sandbox, all files together (default 512)")
    return parser


class _Progress:
    """A one-line progress bar on standard error, only when it is a terminal and there is a batch."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.done, self.stream = total, 0, stream
        self.active = total > 1 and stream.isatty()
        self.start = time.monotonic()

    def __call__(self, result: "NotebookResult") -> None:
        self.done += 1
        if not self.active:
            return
        from minigrad.grading.report import safe_text

        width = 30
        filled = width * self.done // self.total
        elapsed = time.monotonic() - self.start
        left = elapsed / self.done * (self.total - self.done)
        name = safe_text(Path(result.path).name)[:40]
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
                          f"{left / 60:4.1f} min left {name:<40}")
        if self.done == self.total:
            self.stream.write("\n")
        self.stream.flush()


def _notebooks(arguments: list[str], recursive: bool = False) -> list[Path]:
    """The notebooks named: files as given, folders replaced by the ``*.ipynb`` directly inside them
    (or, ``recursive``, in their subfolders too, as in a Gradescope upload)."""
    from minigrad.grading.gradescope import find_notebooks

    found: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            found += find_notebooks(path) if recursive else sorted(p for p in path.iterdir() if p.name.endswith(".ipynb"))
        else:
            found.append(path)
    return found


def _gradescope_inputs(args: argparse.Namespace, parser: argparse.ArgumentParser) -> tuple[dict | None, object]:
    """The submission's metadata (``None`` if absent or unreadable) and the late policy."""
    from minigrad.grading.gradescope import LatePolicy

    if (args.late_policy or args.submission_metadata) and not args.gradescope:
        parser.error("--late-policy and --submission-metadata go with --gradescope")
    try:
        policy = LatePolicy.load(args.late_policy) if args.late_policy else LatePolicy()
    except (TypeError, ValueError) as error:
        parser.error(str(error))
    metadata = None
    if args.submission_metadata:
        try:
            metadata = json.loads(args.submission_metadata.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            metadata = None  # graded on time rather than not at all; results.json shows no lateness
    return metadata, policy


def _secret(args: argparse.Namespace, parser: argparse.ArgumentParser) -> bytes | None:
    if args.secret_file is not None:
        try:
            secret = args.secret_file.read_bytes().strip()
        except OSError as error:
            parser.error(f"cannot read --secret-file: {error.strerror or error}")
    elif os.environ.get(SECRET_VARIABLE) and args.seed is None:
        secret = os.environ[SECRET_VARIABLE].encode("utf-8")
    else:
        return None
    if len(secret) < 16:
        parser.error("the secret must be at least 16 characters long")
    return secret


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _print_to_stdout(text: str) -> None:
    """Print, and if the reader has gone (``minigrad-grade … | head``), stop printing quietly.

    Standard output is then pointed at ``/dev/null``, so that Python's own flush at exit does not
    raise ``BrokenPipeError`` again; grading itself is complete and the reports are written.
    """
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    secret = _secret(args, parser)
    if args.gradescope and sum(not Path(p).is_dir() for p in args.notebooks) > 1:
        parser.error(f"--gradescope grades exactly one notebook, got {len(args.notebooks)}")
    if args.canvas_assignment and not args.canvas:
        parser.error("--canvas-assignment goes with --canvas")
    metadata, policy = _gradescope_inputs(args, parser)
    sys.stdout.reconfigure(errors="backslashreplace")
    # Imported only now, so that a usage error is reported at once.
    from minigrad.grading.grader import Grader, NotebookResult
    from minigrad.grading.gradescope import results_json
    from minigrad.grading.lms import canvas_csv
    from minigrad.grading.report import Gradebook, safe_text, summary, write_atomically
    from minigrad.grading.runner import RunLimits
    from minigrad.grading.sandbox import Limits, Sandbox, SandboxUnavailable

    paths = _notebooks(args.notebooks, recursive=bool(args.gradescope))

    def write_gradescope(result: NotebookResult) -> None:
        write_atomically(args.gradescope, json.dumps(results_json(result, settings, metadata, policy), indent=2) + "\n")

    limits = RunLimits(cell_timeout=args.timeout, total_timeout=args.total_timeout or 10 * args.timeout)
    try:
        sandbox = Sandbox.find(Limits(memory_bytes=int(args.memory * 2**20), disk_bytes=int(args.disk * 2**20),
                                      cpu_seconds=int(limits.total_timeout) + 60),
                               no_sandbox=args.no_sandbox, user=args.user)
        grader = Grader(limits, seed=args.seed, secret=secret, sandbox=sandbox, chapter=args.chapter,
                        score_timeout=args.score_timeout)
    except (SandboxUnavailable, ValueError) as error:
        if args.gradescope:
            write_atomically(args.gradescope, json.dumps({"score": 0, "output": f"The grader could not run: {error}",
                                                          "tests": []}, indent=2) + "\n")
        print(f"minigrad-grade: error: {error}", file=sys.stderr)
        return 2
    settings = {"seed": grader.seed, "seed_source": grader.seed_source, "cell_timeout": limits.cell_timeout,
                "total_timeout": limits.total_timeout, "jobs": args.jobs, "sandbox": sandbox.kind,
                "warning": sandbox.warning, "chapter": args.chapter}
    if args.gradescope and len(paths) != 1:
        names = ", ".join(safe_text(p.name) for p in paths[:5]) or "none"
        message = f"expected exactly one notebook, found {len(paths)} ({names})"
        result = NotebookResult("(submission)", None, "missing", message, 0, 0, sandbox=sandbox.warning or "")
        write_gradescope(result)
        _print_to_stdout(f"minigrad-grade: {message}")
        return 0
    gradebook = Gradebook(args.csv, args.json, settings, len(paths))
    progress = _Progress(len(paths), sys.stderr)

    def record(index: int, result: NotebookResult) -> None:
        gradebook.add(index, result)
        progress(result)

    signal.signal(signal.SIGTERM, _interrupt)
    complete = False
    try:
        grader.grade(paths, jobs=args.jobs, progress=record)
        complete = True
    except KeyboardInterrupt:
        print("minigrad-grade: interrupted: the reports hold the notebooks graded so far", file=sys.stderr)
    finally:
        gradebook.close(complete)
        results = gradebook.results
        _print_to_stdout(summary(results, gradebook.settings))
        if args.gradescope:
            write_gradescope(results[0] if results else NotebookResult(
                "(submission)", None, "error", "the grader was stopped before it finished", 0, 0,
                sandbox=sandbox.warning or ""))
        if args.canvas:
            assignment = args.canvas_assignment or f"Chapter {args.chapter or '??'} exercises"
            text, left_out = canvas_csv(results, assignment)
            write_atomically(args.canvas, text)
            for line in left_out:
                _print_to_stdout(f"minigrad-grade: not in {safe_text(args.canvas)}: {line}")
    return 0 if complete else 1
