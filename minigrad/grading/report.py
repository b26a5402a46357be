"""The grader's outputs: a readable summary, the full JSON, a CSV gradebook, Gradescope's results.json."""

from __future__ import annotations

import csv
import io
from typing import Any, Sequence

from minigrad.grading.grader import NotebookResult
from minigrad.grading.registry import format_line, Outcome

__all__ = ["summary", "full_json", "gradebook_csv", "gradescope_json"]


def summary(results: Sequence[NotebookResult]) -> str:
    """One block per notebook: total, run status, SHA-256, one line per question, then findings."""
    lines = []
    for r in results:
        sha = r.sha256[:12] if r.sha256 else "-"
        lines.append(f"{r.path}: {r.total}/{r.max_score}  [{r.run_status}: {r.run_message}]  sha256 {sha}")
        for q in r.questions:
            line = format_line(q.id, q.max_score, Outcome(q.status, q.score, q.message))
            tag = "" if q.status in ("passed", "failed", "not attempted") else f"[{q.status}] "
            lines.append(f"  {line[:2]}{tag}{line[2:]}")
        for finding in r.findings:
            lines.append(f"  ! {finding.kind}: {finding.message}")
    return "\n".join(lines)


def full_json(results: Sequence[NotebookResult], settings: dict) -> dict:
    """Everything, as one JSON document: ``{"grader": settings, "notebooks": [...]}``."""
    return {"grader": settings, "notebooks": [r.to_dict() for r in results]}


def gradebook_csv(results: Sequence[NotebookResult]) -> str:
    """One row per notebook: notebook, sha256, run status, a column per question, total, max, findings."""
    question_ids: list[str] = []
    for r in results:
        for q in r.questions:
            if q.id not in question_ids:
                question_ids.append(q.id)
    question_ids.sort(key=lambda qid: tuple(int(part) for part in qid.split(".")))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["notebook", "sha256", "run_status", *question_ids, "total", "max_score", "tampering"])
    for r in results:
        scores = {q.id: q.score for q in r.questions}
        tampering = " | ".join(f.message for f in r.findings if f.kind == "tampering")
        writer.writerow([r.path, r.sha256 or "", r.run_status, *(scores.get(qid, "") for qid in question_ids),
                         r.total, r.max_score, tampering])
    return buffer.getvalue()


def gradescope_json(result: NotebookResult) -> dict[str, Any]:
    """Gradescope's ``results.json`` for one submission (one test per question)."""
    notes = [f"{f.kind}: {f.message}" for f in result.findings]
    return {
        "score": result.total,
        "execution_time": round(result.timing.get("total", 0.0)),
        "output": "\n".join([f"Run: {result.run_status} ({result.run_message}); "
                             f"notebook SHA-256 {result.sha256 or '-'}", *notes]),
        "tests": [
            {
                "name": f"{q.id} {q.title}",
                "number": q.id,
                "score": q.score,
                "max_score": q.max_score,
                "status": "passed" if q.status == "passed" else "failed",
                "output": q.message if q.status in ("passed", "failed") else f"{q.status}: {q.message}",
                "visibility": "visible",
            }
            for q in result.questions
        ],
    }
