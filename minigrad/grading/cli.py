"""``minigrad-grade``: grade exercise notebooks (also ``python -m minigrad.grading``).

    minigrad-grade [--timeout SECONDS] [--jobs N] [--csv FILE] [--json FILE] [--gradescope FILE] NOTEBOOK...

Prints a summary to standard output. Exit status 0 when grading completed (whatever the scores),
2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Sequence, TextIO

if TYPE_CHECKING:
    from minigrad.grading.grader import NotebookResult

__all__ = ["main"]


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
        description="Grade exercise notebooks: run each in a fresh kernel on a private copy and "
                    "score its answers with the checks in minigrad.grading.",
    )
    parser.add_argument("notebooks", nargs="+", metavar="NOTEBOOK", help="notebooks to grade")
    parser.add_argument("--timeout", type=_positive, default=60.0, metavar="SECONDS",
                        help="time limit of any one cell (default 60)")
    parser.add_argument("--total-timeout", type=_positive, default=None, metavar="SECONDS",
                        help="time limit of a whole notebook (default 10 times --timeout)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="notebooks graded at the same time (default 1)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the hidden cases (default: random, reported in --json)")
    parser.add_argument("--csv", type=Path, metavar="FILE", help="write a gradebook: a row per notebook")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write every detail as one JSON document")
    parser.add_argument("--gradescope", type=Path, metavar="FILE",
                        help="write Gradescope's results.json (exactly one notebook)")
    return parser


class _Progress:
    """A one-line progress bar on standard error, only when it is a terminal and there is a batch."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.done, self.stream = total, 0, stream
        self.active = total > 1 and stream.isatty()

    def __call__(self, result: "NotebookResult") -> None:
        self.done += 1
        if not self.active:
            return
        width = 30
        filled = width * self.done // self.total
        name = Path(result.path).name[:40]
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {name:<40}")
        if self.done == self.total:
            self.stream.write("\n")
        self.stream.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    if args.gradescope and len(args.notebooks) != 1:
        parser.error(f"--gradescope grades exactly one notebook, got {len(args.notebooks)}")
    # Imported only now, so that a usage error is reported at once.
    from minigrad.grading.grader import Grader
    from minigrad.grading.report import full_json, gradebook_csv, gradescope_json, summary
    from minigrad.grading.runner import RunLimits

    total_timeout = args.total_timeout or 10 * args.timeout
    limits = RunLimits(cell_timeout=args.timeout, total_timeout=total_timeout)
    grader = Grader(limits, seed=args.seed)
    results = grader.grade(args.notebooks, jobs=args.jobs, progress=_Progress(len(args.notebooks), sys.stderr))
    print(summary(results))
    settings = {"seed": grader.seed, "cell_timeout": limits.cell_timeout, "total_timeout": limits.total_timeout,
                "jobs": args.jobs}
    if args.json:
        args.json.write_text(json.dumps(full_json(results, settings), indent=2, ensure_ascii=False) + "\n",
                             encoding="utf-8")
    if args.csv:
        args.csv.write_text(gradebook_csv(results), encoding="utf-8")
    if args.gradescope:
        args.gradescope.write_text(json.dumps(gradescope_json(results[0]), indent=2, ensure_ascii=False) + "\n",
                                   encoding="utf-8")
    return 0
