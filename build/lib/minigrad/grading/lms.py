"""Grades for a learning-management system: a CSV that Canvas's gradebook import accepts.

Canvas's "Download Submissions" names each file ``<name>_<user id>_<submission id>_<file>``, with
``_LATE`` after the name when it came in late (``doejane_LATE_48213_913377_rnn.ipynb``). The user
id is what Canvas matches an imported row by, so :func:`canvas_csv` reads it from the file name and
writes the columns of Canvas's own gradebook export: ``Student``, ``ID``, ``SIS User ID``, ``SIS
Login ID``, ``Section`` and one assignment column, after a ``Points Possible`` row. Name the
column as Canvas does, ``<title> (<assignment id>)``, to fill an existing assignment; any other
name makes a new one on import. Notebooks whose names do not carry a Canvas user id are left out
and listed, so that none is dropped silently.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from minigrad.grading.grader import NotebookResult

__all__ = ["CanvasFile", "canvas_file", "canvas_csv"]

CANVAS_NAME = re.compile(r"^(?P<student>[^_]+?)(?P<late>_late)?_(?P<user>\d+)_(?:(?P<submission>\d+)_)?(?P<file>.+)$",
                         re.IGNORECASE)
HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


@dataclass(frozen=True)
class CanvasFile:
    """What a downloaded submission's file name says: the student (as Canvas spells the name in
    file names), the Canvas user id and whether it was late."""

    student: str
    user_id: str
    late: bool


def canvas_file(path: str | Path) -> CanvasFile | None:
    """The Canvas fields of a submission's file name, or ``None`` if it is not a Canvas download's."""
    match = CANVAS_NAME.match(Path(path).name)
    if match is None:
        return None
    return CanvasFile(match["student"], match["user"], match["late"] is not None)


def canvas_csv(results: Sequence["NotebookResult"], assignment: str) -> tuple[str, list[str]]:
    """Canvas's gradebook import for ``results``: (the CSV text, the notebooks left out and why).

    A student with several notebooks keeps the last one graded (Canvas's download holds only the
    latest submission, so this happens only when files were added by hand) and the others are
    listed as left out.
    """
    from minigrad.grading.report import csv_cell, safe_text

    rows: dict[str, tuple[CanvasFile, "NotebookResult"]] = {}
    left_out: list[str] = []
    for result in results:
        found = canvas_file(result.path)
        if found is None:
            left_out.append(f"{safe_text(result.path)}: the name carries no Canvas user id")
            continue
        if found.user_id in rows:
            left_out.append(f"{safe_text(rows[found.user_id][1].path)}: replaced by a later notebook of user "
                            f"{found.user_id}")
        rows[found.user_id] = (found, result)
    max_score = max((r.max_score for r in results), default=0)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*HEADER, csv_cell(assignment)])
    writer.writerow(["Points Possible", "", "", "", "", max_score])
    for found, result in rows.values():
        writer.writerow([csv_cell(found.student), found.user_id, "", "", "", result.total])
    return buffer.getvalue(), left_out
