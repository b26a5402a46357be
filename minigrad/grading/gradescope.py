"""Gradescope: the autograder zip of a chapter, and the ``results.json`` it writes for a submission.

``make gradescope CHAPTER=NN`` (``python -m minigrad.grading.gradescope NN``) builds
``_build/gradescope/chapter-NN.zip``, which a Gradescope programming assignment accepts as its
autograder. It holds

- ``setup.sh``: run once when Gradescope builds the image. It installs bubblewrap and a Python of
  3.11 or newer from the distribution's packages, makes a virtual environment in ``/opt/minigrad``
  with ``minigrad`` from the wheel in the zip and the grader's dependencies at the versions pinned in
  ``requirements.txt`` (nothing is cloned), adds the unprivileged user ``student`` and makes
  ``/autograder/source`` readable by root only;
- ``run_autograder``: run for every submission. It ``exec``\\ s the grader, so a line appended to
  the script can never run; the grader finds the one notebook in ``/autograder/submission/``
  whatever its name, runs it in its sandbox as ``student`` and writes
  ``/autograder/results/results.json``;
- ``secret``: the secret from which each notebook's hidden cases are drawn (see the grading page);
  kept in ``_build/gradescope/secret`` and reused by the next build, so that regrading gives the
  same cases;
- ``late_policy.json``: how a late submission loses credit (:class:`LatePolicy`), read with the
  submission's ``submission_metadata.json``.

The ``results.json`` (:func:`results_json`) has one test per question (visible to the student at
once: the score and the message on the notebook's own example), one more per question with the
hidden cases' detail (visible after the due date), Markdown output with every student text
escaped, and the notebook's SHA-256, the seed of its hidden cases and the late penalty in
``extra_data``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import secrets
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    from minigrad.grading.grader import NotebookResult

__all__ = ["LatePolicy", "days_late", "results_json", "find_notebooks", "pinned_requirements", "build", "main"]

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "gradescope"
GRADING_PACKAGES = ("numpy", "sympy", "matplotlib", "nbclient", "nbformat", "ipykernel")
"""What a notebook and the grader import, besides ``minigrad`` (their dependencies are pinned too)."""
_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]<>!|~&#$])")
_MARKDOWN_BLOCK_START = re.compile(r"^(\s*)([-+]|\d{1,9}[.)])(?=\s|$)")
_SKIPPED_FOLDERS = {".ipynb_checkpoints", "__MACOSX"}


@dataclass(frozen=True)
class LatePolicy:
    """How a late submission loses credit: ``penalty_per_day`` of its score for every day, or part
    of a day, after the due date, and nothing at all after ``max_days_late`` days (``None``: no
    limit). The default takes nothing off; Gradescope's own late due date still decides whether a
    student may submit at all."""

    penalty_per_day: float = 0.0
    max_days_late: float | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.penalty_per_day <= 1:
            raise ValueError(f"penalty_per_day must be between 0 and 1, got {self.penalty_per_day}")
        if self.max_days_late is not None and self.max_days_late < 0:
            raise ValueError(f"max_days_late must be at least 0, got {self.max_days_late}")

    @classmethod
    def load(cls, path: Path) -> "LatePolicy":
        """The policy in a JSON file such as ``{"penalty_per_day": 0.1, "max_days_late": 3}``."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ValueError(f"cannot read the late policy {path}: {error}") from None
        unknown = set(data) - {"penalty_per_day", "max_days_late"} if isinstance(data, dict) else {"(not an object)"}
        if unknown:
            raise ValueError(f"the late policy {path} has unknown fields: {', '.join(sorted(unknown))}")
        return cls(**data)

    def factor(self, days: float) -> float:
        """The fraction of its score a submission ``days`` late keeps."""
        if days <= 0:
            return 1.0
        if self.max_days_late is not None and days > self.max_days_late:
            return 0.0
        return max(0.0, 1.0 - self.penalty_per_day * math.ceil(days))


def days_late(submission_metadata: dict | None) -> float:
    """How many days after the assignment's due date the submission was made (0 if on time or unknown)."""
    try:
        created = dt.datetime.fromisoformat(submission_metadata["created_at"])
        due = dt.datetime.fromisoformat(submission_metadata["assignment"]["due_date"])
    except (TypeError, KeyError, ValueError):
        return 0.0
    return max(0.0, (created - due).total_seconds() / 86400)


def _markdown(text: Any) -> str:
    """Student-derived text made inert in Markdown: line breaks and control characters escaped (so
    it stays one paragraph), every character that could start a link, image, tag, emphasis, code or
    math preceded by a backslash, and a list or heading marker at its start too."""
    from minigrad.grading.report import safe_text

    text = _MARKDOWN_INLINE.sub(r"\\\1", safe_text(text))
    return _MARKDOWN_BLOCK_START.sub(lambda m: f"{m.group(1)}{m.group(2)[:-1]}\\{m.group(2)[-1]}", text)


def results_json(result: "NotebookResult", settings: dict, submission_metadata: dict | None = None,
                 policy: LatePolicy = LatePolicy()) -> dict[str, Any]:
    """Gradescope's ``results.json`` for one graded notebook.

    Each question gives two tests: ``"<id> <title>"`` with the points, its status and the message on
    the example the notebook shows (visible at once), and ``"<id> hidden cases"`` with the message on
    every case, hidden ones included (no points, visible after the due date). The score is the
    notebook's total times the late policy's factor.
    """
    late = days_late(submission_metadata)
    factor = policy.factor(late)
    score = round(result.total * factor, 2)
    run = f" ({_markdown(result.run_message)})" if result.run_message else ""
    lines = [f"**{result.total}/{result.max_score}** before any late penalty; run {_markdown(result.run_status)}{run}."]
    lines.append(f"Notebook SHA-256 {result.sha256 or '-'}; hidden cases seed "
                 f"{result.seed if result.seed is not None else '-'}.")
    if result.sandbox:
        lines.insert(0, f"WARNING: {_markdown(result.sandbox)}")
    if late > 0:
        lines.append(f"Submitted {late:.2f} days late: the score is multiplied by {factor:.2f}.")
    lines += [f"- {_markdown(f.kind)}: {_markdown(f.message)}" for f in result.findings]
    tests = []
    for q in result.questions:
        seen = q.visible_message or q.message
        status = "" if q.status in ("passed", "failed") else f"{_markdown(q.status)}: "
        tests.append({"name": f"{q.id} {_markdown(q.title)}", "number": q.id, "score": q.score,
                      "max_score": q.max_score, "status": "passed" if q.status == "passed" else "failed",
                      "output": f"{status}{_markdown(seen)}", "output_format": "md", "visibility": "visible"})
        tests.append({"name": f"{q.id} hidden cases", "number": f"{q.id}.h",
                      "status": "passed" if q.status == "passed" else "failed",
                      "output": f"{status}{_markdown(q.message)}", "output_format": "md",
                      "visibility": "after_due_date"})
    return {
        "score": score,
        "execution_time": round(result.timing.get("total", 0.0)),
        "output": "\n\n".join(lines),
        "output_format": "md",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"sha256": result.sha256, "seed": result.seed, "seed_source": settings.get("seed_source"),
                       "run_status": result.run_status, "total_before_penalty": result.total,
                       "max_score": result.max_score, "days_late": round(late, 4), "late_factor": factor,
                       "sandbox": result.sandbox or "bubblewrap"},
    }


def find_notebooks(folder: Path, max_depth: int = 3) -> list[Path]:
    """Every ``*.ipynb`` regular file in ``folder`` and its subfolders (an upload may be a zip with
    folders), without following symbolic links or entering checkpoint and macOS metadata folders."""
    found: list[Path] = []

    def walk(path: Path, depth: int) -> None:
        try:
            entries = sorted(os.scandir(path), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if entry.is_symlink():
                continue
            if entry.is_dir(follow_symlinks=False) and depth < max_depth and entry.name not in _SKIPPED_FOLDERS:
                walk(Path(entry.path), depth + 1)
            elif entry.is_file(follow_symlinks=False) and entry.name.endswith(".ipynb"):
                found.append(Path(entry.path))

    walk(Path(folder), 0)
    return found


def pinned_requirements(roots: Iterable[str] = GRADING_PACKAGES) -> list[str]:
    """``name==version`` for ``roots`` and everything they need, as installed here (so the
    autograder runs the versions this repository was tested with)."""
    from packaging.markers import default_environment
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    environment = {**default_environment(), "extra": ""}
    pinned: dict[str, str] = {}
    todo = list(roots)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in pinned:
            continue
        distribution = importlib_metadata.distribution(name)
        pinned[name] = f"{distribution.metadata['Name']}=={distribution.version}"
        for text in distribution.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate(environment):
                todo.append(requirement.name)
    return sorted(pinned.values(), key=str.lower)


def _wheel(folder: Path) -> Path:
    """A wheel of ``minigrad`` built from this repository into ``folder``."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(folder),
                    str(ROOT)], check=True, stdout=subprocess.DEVNULL)
    (wheel,) = folder.glob("minigrad-*.whl")
    return wheel


def build(chapter: str, out: Path, policy: LatePolicy = LatePolicy()) -> Path:
    """Build ``out/chapter-NN.zip``, Gradescope's autograder for chapter ``NN``'s exercises.

    The secret is read from ``out/secret``, made there (random, readable by its owner only) on the
    first build.
    """
    from minigrad.grading.questions import CHAPTERS

    chapter = f"{int(chapter):02d}" if str(chapter).isdigit() else str(chapter)
    if chapter not in CHAPTERS:
        raise ValueError(f"no exercises for chapter {chapter!r}; chapters with exercises: {', '.join(CHAPTERS)}")
    if not TEMPLATES.is_dir():
        raise ValueError(f"no scripts in {TEMPLATES}: build the autograder from a clone of the repository")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    secret_path = out / "secret"
    if not secret_path.exists():
        descriptor = os.open(secret_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as stream:
            stream.write(secrets.token_hex(32) + "\n")
    archive = out / f"chapter-{chapter}.zip"
    with tempfile.TemporaryDirectory() as scratch:
        wheel = _wheel(Path(scratch))
        files = {
            "setup.sh": (TEMPLATES / "setup.sh").read_text(encoding="utf-8").replace("@WHEEL@", wheel.name),
            "run_autograder": (TEMPLATES / "run_autograder").read_text(encoding="utf-8").replace("@CHAPTER@", chapter),
            "requirements.txt": "\n".join(pinned_requirements()) + "\n",
            "late_policy.json": json.dumps({"penalty_per_day": policy.penalty_per_day,
                                            "max_days_late": policy.max_days_late}, indent=2) + "\n",
            "secret": secret_path.read_text(encoding="utf-8"),
        }
        temporary = archive.with_suffix(".zip.tmp")
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as zipped:
            for name, text in files.items():
                info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
                info.external_attr = (0o755 if name in ("setup.sh", "run_autograder") else 0o600) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zipped.writestr(info, text)
            zipped.write(wheel, wheel.name)
        os.replace(temporary, archive)
    return archive


def main(argv: list[str] | None = None) -> int:
    """``python -m minigrad.grading.gradescope NN [--out FOLDER] [--penalty-per-day F] [--max-days-late D]``."""
    parser = argparse.ArgumentParser(prog="python -m minigrad.grading.gradescope",
                                     description="Build Gradescope's autograder zip for a chapter's exercises.")
    parser.add_argument("chapter", help="the chapter, e.g. 04")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "gradescope", help="where to write the zip")
    parser.add_argument("--penalty-per-day", type=float, default=0.0,
                        help="fraction of the score lost per day late (default 0)")
    parser.add_argument("--max-days-late", type=float, default=None,
                        help="after this many days late a submission scores 0 (default: no limit)")
    args = parser.parse_args(argv)
    try:
        archive = build(args.chapter, args.out, LatePolicy(args.penalty_per_day, args.max_days_late))
    except ValueError as error:
        parser.error(str(error))
    print(f"{archive.relative_to(Path.cwd()) if archive.is_relative_to(Path.cwd()) else archive}: upload it as the "
          f"autograder of a programming assignment (base image: Ubuntu 22.04 or newer)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
