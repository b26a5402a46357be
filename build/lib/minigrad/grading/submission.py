"""Reading a submitted notebook: safely in the grader, then parsed and analysed in a child process.

:func:`read_submission` opens the file without blocking, accepts only a regular file and reads at
most a fixed number of bytes, so a FIFO, a device or a huge file cannot stall or flood the grader.
:func:`analyse` (run in a limited child, see :mod:`minigrad.grading.children`) parses the JSON,
converts old notebook formats, finds which chapter's exercises it holds, and reads its code and
stored outputs for signs of tampering.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from minigrad.grading.questions import CHAPTERS, QUESTIONS
from minigrad.grading.tamper import MAX_CODE_CHARACTERS, claims, scan_sources, stored_output_text

__all__ = ["MAX_NOTEBOOK_BYTES", "Unreadable", "read_submission", "analyse"]

MAX_NOTEBOOK_BYTES = 50_000_000
"""Largest submission the grader reads (stored outputs included)."""
_CHAPTER_IN_NAME = re.compile(r"^(\d{2})_")
_CHECK_CALL = re.compile(r"""check\(\s*["'](\d+\.\d+)["']""")


class Unreadable(Exception):
    """The submission cannot be read: ``status`` is ``missing`` or ``unreadable``, the message says why."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


def read_submission(path: Path, limit: int = MAX_NOTEBOOK_BYTES) -> bytes:
    """The bytes of a submitted file, if it is a regular file of at most ``limit`` bytes.

    Raises:
        Unreadable: ``missing`` when it cannot be opened, ``unreadable`` when it is not a regular
            file (a directory, FIFO or device) or is larger than ``limit``.
    """
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as error:
        raise Unreadable("missing", f"cannot read the file: {error.strerror or error}") from None
    try:
        mode = os.fstat(handle).st_mode
        if not stat.S_ISREG(mode):
            what = "a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "a device or socket"
            raise Unreadable("unreadable", f"not a regular file ({what})")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(handle, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise Unreadable("unreadable", f"larger than {limit} bytes")
        return b"".join(chunks)
    except OSError as error:
        raise Unreadable("unreadable", f"cannot read the file: {error.strerror or error}") from None
    finally:
        os.close(handle)


def _chapter(metadata: Any, name: str, sources: list[str]) -> str | None:
    """Which chapter's exercises a notebook holds: its metadata, else its file name, else its check() calls."""
    grading = metadata.get("grading") if isinstance(metadata, dict) else None
    if isinstance(grading, dict) and str(grading.get("chapter", "")).isdigit():
        chapter = f"{int(grading['chapter']):02d}"
        if chapter in CHAPTERS:
            return chapter
    match = _CHAPTER_IN_NAME.match(name)
    if match and match.group(1) in CHAPTERS:
        return match.group(1)
    ids = {qid for source in sources for qid in _CHECK_CALL.findall(source)}
    chapters = {QUESTIONS[qid].chapter for qid in ids if qid in QUESTIONS}
    return chapters.pop() if len(chapters) == 1 else None


def analyse(path: str, name: str, chapter: str | None = None) -> dict:
    """Parse and read a submission (in a child process: its input is the student's).

    Args:
        path: the grader's private copy of the file.
        name: the submitted file's name (it may give the chapter, ``02_…``).
        chapter: the chapter to grade it as (``--chapter``), whatever the notebook says.

    Returns:
        ``{"status": "ok", "chapter", "sources", "findings", "stored_claims"}``, or
        ``{"status", "message"}`` with the status ``unreadable``, ``not a notebook`` or
        ``unknown exercises`` (``chapter`` is then the chapter a forced or named file belongs to).
    """
    with open(path, "rb") as handle:
        raw = handle.read()
    guess = chapter or (_CHAPTER_IN_NAME.match(name).group(1) if _CHAPTER_IN_NAME.match(name) else None)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        return {"status": "unreadable", "message": f"not valid JSON ({str(error)[:80]})", "chapter": guess}
    if not isinstance(data, dict):
        return {"status": "not a notebook", "message": "not a Jupyter notebook (not a JSON object)", "chapter": guess}
    try:
        import nbformat

        # reads() joins the lines of each source and converts an nbformat 3 notebook (cells in worksheets).
        notebook = nbformat.reads(raw.decode("utf-8"), as_version=4)
        if not isinstance(notebook.get("cells"), list):
            raise ValueError("no list of cells")
        for cell in notebook.cells:
            if cell.get("cell_type") not in ("code", "markdown", "raw") or not isinstance(cell.get("source"), str):
                raise ValueError("a cell without a type or a source")
    except (Exception, RecursionError) as error:  # nbformat raises many kinds of errors on odd input
        return {"status": "not a notebook", "message": f"not a Jupyter notebook ({str(error)[:80]})", "chapter": guess}
    sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    if sum(len(source) for source in sources) > MAX_CODE_CHARACTERS:
        return {"status": "unreadable", "message": f"more than {MAX_CODE_CHARACTERS} characters of code",
                "chapter": guess}
    found = chapter or _chapter(notebook.get("metadata"), name, sources)
    if found is None:
        return {"status": "unknown exercises", "chapter": None,
                "message": "cannot tell which chapter's exercises this is (no grading metadata, no NN_ file "
                           "name, no check() calls)"}
    return {"status": "ok", "chapter": found, "sources": sources,
            "findings": [[f.kind, f.message] for f in scan_sources(sources)],
            "stored_claims": claims(stored_output_text(notebook.cells))}
