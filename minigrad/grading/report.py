"""The grader's outputs: a readable summary, the full JSON, a CSV gradebook (Gradescope's results.json is
in :mod:`minigrad.grading.gradescope`, Canvas's import in :mod:`minigrad.grading.lms`).

Every text that can come from a submission (its file name, messages quoting the student's
exceptions, findings) is escaped by :func:`safe_text` before it is written: control characters,
line breaks, bidirectional overrides and undecodable bytes become visible escapes, so that no
report shows a line the grader did not write. A CSV cell that a spreadsheet would read as a
formula gets a leading apostrophe. Files are written whole and atomically (a temporary file in the
same folder, then a rename), readable by their owner only; :class:`Gradebook` rewrites them as
each notebook's row becomes final, so a batch cut short keeps every row it finished.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import secrets
from pathlib import Path
from typing import Any, Sequence

from minigrad.grading.grader import NotebookResult
from minigrad.grading.registry import Outcome, format_line

__all__ = ["safe_text", "csv_cell", "summary", "full_json", "gradebook_csv", "write_atomically", "Gradebook"]

# C0 and C1 controls, DEL, and the format characters that reorder or hide text.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(text: Any) -> str:
    """``text`` with every control or invisible character, and every undecodable byte, shown as an escape."""
    text = str(text)
    try:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that is not an escaped byte
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return _UNSAFE.sub(lambda m: _NAMED.get(m.group(), f"\\u{ord(m.group()):04x}"), text)


def csv_cell(value: Any) -> Any:
    """A CSV cell: numbers as they are, text escaped and kept from being read as a formula."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = safe_text(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


_SEED_SOURCES = {"given": "given with --seed", "random": "drawn at random; --seed reproduces it"}


def _settings_line(settings: dict) -> str:
    if settings.get("seed") is None:
        seed = "a seed per notebook, derived from the secret and the file's SHA-256"
    else:
        source = _SEED_SOURCES.get(settings.get("seed_source", ""))
        seed = f"seed {settings['seed']}" + (f" ({source})" if source else "")
    return (f"minigrad-grade: hidden cases from {seed}; cell limit {settings['cell_timeout']:g} s, "
            f"notebook limit {settings['total_timeout']:g} s; sandbox: {settings['sandbox']}")


def summary(results: Sequence[NotebookResult], settings: dict) -> str:
    """The grader's settings, then one block per notebook: total, run status, SHA-256 and seed, a
    line per question, then findings."""
    lines = [_settings_line(settings)]
    if settings.get("warning"):
        lines.append(f"WARNING: {settings['warning']}")
    if not settings.get("complete", True):
        lines.append("WARNING: the batch was cut short: only the notebooks below were graded")
    for r in results:
        sha = r.sha256[:12] if r.sha256 else "-"
        lines.append(f"{safe_text(r.path)}: {r.total}/{r.max_score}  [{r.run_status}: {safe_text(r.run_message)}]  "
                     f"sha256 {sha}  seed {r.seed if r.seed is not None else '-'}")
        for q in r.questions:
            line = safe_text(format_line(q.id, q.max_score, Outcome(q.status, q.score, q.message)))
            tag = "" if q.status in ("passed", "failed", "not attempted") else f"[{q.status}] "
            lines.append(f"  {line[:2]}{tag}{line[2:]}")
        for finding in r.findings:
            lines.append(f"  ! {finding.kind}: {safe_text(finding.message)}")
        if r.sandbox:
            lines.append(f"  ! warning: {r.sandbox}")
    return "\n".join(lines)


def _escaped(value: Any) -> Any:
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, dict):
        return {safe_text(k): _escaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    return value


def full_json(results: Sequence[NotebookResult], settings: dict) -> dict:
    """Everything, as one JSON document: ``{"grader": settings, "notebooks": [...]}`` (texts escaped)."""
    return {"grader": _escaped(settings), "notebooks": [_escaped(r.to_dict()) for r in results]}


def gradebook_csv(results: Sequence[NotebookResult]) -> str:
    """One row per notebook: notebook, sha256, seed, run status, a column per question, total, max,
    tampering and review findings, and the sandbox warning."""
    question_ids: list[str] = []
    for r in results:
        for q in r.questions:
            if q.id not in question_ids:
                question_ids.append(q.id)
    question_ids.sort(key=lambda qid: tuple(int(part) for part in qid.split(".")))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["notebook", "sha256", "seed", "run_status", *question_ids, "total", "max_score", "tampering",
                     "review", "sandbox"])
    for r in results:
        scores = {q.id: q.score for q in r.questions}
        findings = {kind: " | ".join(f.message for f in r.findings if f.kind == kind) for kind in ("tampering", "review")}
        writer.writerow([csv_cell(v) for v in (r.path, r.sha256 or "", "" if r.seed is None else r.seed, r.run_status,
                                            *(scores.get(qid, "") for qid in question_ids), r.total, r.max_score,
                                            findings["tampering"], findings["review"], r.sandbox)])
    return buffer.getvalue()


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole: a new file (mode 0600) in the same folder, then a rename over ``path``."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        raise


class Gradebook:
    """The CSV and JSON reports of a batch, rewritten as each notebook's row becomes final.

    Args:
        csv_path, json_path: where to write them (either may be ``None``).
        settings: the grader's settings, written into the JSON (``complete`` is kept up to date).
        count: how many notebooks the batch holds (rows keep that order).
    """

    def __init__(self, csv_path: Path | None, json_path: Path | None, settings: dict, count: int) -> None:
        self.csv_path, self.json_path = csv_path, json_path
        self.settings = {**settings, "complete": False}
        self.rows: list[NotebookResult | None] = [None] * count

    def add(self, index: int, result: NotebookResult) -> None:
        """Record row ``index`` and rewrite the files."""
        self.rows[index] = result
        self._write()

    def close(self, complete: bool) -> None:
        """Write the files a last time, saying whether every notebook was graded."""
        self.settings["complete"] = complete
        self._write()

    @property
    def results(self) -> list[NotebookResult]:
        return [r for r in self.rows if r is not None]

    def _write(self) -> None:
        if self.csv_path is not None:
            write_atomically(self.csv_path, gradebook_csv(self.results))
        if self.json_path is not None:
            write_atomically(self.json_path, json.dumps(full_json(self.results, self.settings), indent=2) + "\n")
