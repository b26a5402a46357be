"""Signs that a notebook tried to fake its grade, read from its text (the kernel's own checks are in
:mod:`minigrad.grading.kernel`).

* ``scan_sources``: the notebook's code, read without running it: rebinding ``check``, assigning
  into ``minigrad`` modules, replacing entries of ``sys.modules``, importing the grader's
  reference code; and, for the instructor to read, ways to reach the kernel's raw memory
  (``ctypes``, ``mmap``, numpy's array interface), with which a notebook could forge the kernel's
  reports. Line magics such as ``%time`` are read as the code they run.
* ``claims``: "✓ 2.3 (3/3)" lines in the outputs (plain text, HTML and markdown, after Unicode
  normalisation and with terminal colour codes removed), to compare with what the grader found.
"""

from __future__ import annotations

import ast
import html
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

__all__ = ["Finding", "scan_sources", "claims", "cell_output_text", "stored_output_text", "MAX_CODE_CHARACTERS"]

MAX_CODE_CHARACTERS = 2_000_000
"""Most code a notebook may hold, all cells together; a larger one is not read (nor graded)."""
_MAX_CELL_CHARACTERS = 200_000  # a longer cell is not parsed (its ✓ lines still count)
_MARKS = "✓✔☑√🗸✅"
_CLAIM = re.compile(rf"^[ \t>*_`#-]*([{_MARKS}][ \t]*(\d+\.\d+)[ \t]*\([ \t]*\d+[ \t]*/[ \t]*\d+[ \t]*\).*)$",
                    re.MULTILINE)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_BLOCK_TAG = re.compile(r"<\s*(?:br|/?p|/?div|/?li|/?tr|/?h\d|/?pre|/?table)\b[^>]{0,2000}>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]{0,2000}>")
# Line magics whose argument is Python code, and cell magics whose body is; other magics and
# shell lines are dropped.
_CODE_LINE_MAGIC = re.compile(r"^(\s*)%{1,2}(?:time|timeit|prun|capture|debug)\b(?:\s+-\S+(?:\s+\S+)?)*\s?(.*)$")
_OTHER_MAGIC = re.compile(r"^\s*(?:[%!].*|\w+\s*=\s*!.*)$")
# Modules and attributes that read or write memory at an address: enough to forge the kernel's
# signed reports (see the grading page's "What it does not protect against").
_RAW_MEMORY_MODULES = frozenset({"ctypes", "_ctypes", "mmap", "cffi"})
_RAW_MEMORY_ATTRIBUTES = frozenset({"__array_interface__", "__array_struct__", "ctypeslib", "ctypes",
                                    "from_address", "string_at", "wstring_at"})


@dataclass
class Finding:
    """Something the grader noticed. ``kind`` is ``tampering`` (an attempt to fake; no credit), ``review``
    (the score stands until the instructor has read the code) or ``note``."""

    kind: str
    message: str


# ------------------------------------------------------------------------------ the source
def _python_of(source: str) -> str:
    """A cell's code with IPython's syntax removed: ``%time x = 1`` becomes ``x = 1``."""
    lines = source.splitlines()
    if lines and re.match(r"^\s*%%(time|timeit|prun|capture)\b", lines[0]):
        lines = lines[1:]
    elif lines and lines[0].lstrip().startswith("%%"):
        return ""
    out = []
    for line in lines:
        magic = _CODE_LINE_MAGIC.match(line)
        if magic:
            out.append(magic.group(1) + magic.group(2))
        elif _OTHER_MAGIC.match(line):
            out.append("")
        else:
            out.append(line)
    return "\n".join(out)


def scan_sources(sources: list[str]) -> list[Finding]:
    """Read every code cell (without running it) for attempts to redefine or patch the grading code."""
    findings: list[Finding] = []
    minigrad_names: set[str] = {"minigrad"}
    grading_names: set[str] = set()
    for number, source in enumerate(sources, start=1):
        if len(source) > _MAX_CELL_CHARACTERS:
            findings.append(Finding("note", f"code cell {number} is too long to read for tampering"))
            continue
        try:
            tree = ast.parse(_python_of(source))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        for node in ast.walk(tree):
            message = _inspect(node, minigrad_names, grading_names)
            kind = "note" if message.startswith(("sets ", "imports ")) else "tampering"
            if not message:
                message, kind = _raw_memory(node), "review"
            if message:
                finding = Finding(kind, f"code cell {number} {message}")
                if finding not in findings:
                    findings.append(finding)
    return findings[:50]


def _root(node: ast.AST) -> tuple[str, str]:
    """(root name, dotted text) of an attribute chain like ``a.b.c``."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    root = node.id if isinstance(node, ast.Name) else ""
    return root, ".".join([root, *reversed(parts)])


def _inspect(node: ast.AST, minigrad_names: set[str], grading_names: set[str]) -> str:
    """A message when ``node`` rebinds ``check``, writes into minigrad or imports reference code; ``""`` otherwise."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        module = (node.module or "") if isinstance(node, ast.ImportFrom) else ""
        for alias in node.names:
            full = f"{module}.{alias.name}" if module else alias.name
            bound = alias.asname or alias.name.split(".")[0]
            if full.startswith("minigrad"):
                minigrad_names.add(bound)
                if "grading" in full and (alias.asname or module):
                    grading_names.add(bound)
            if bound == "check" and not (full == "minigrad.grading.check" and alias.asname in (None, "check")):
                return f"binds `check` to {full}, not minigrad.grading.check"
            if re.match(r"minigrad\.grading\.(ch\d\d|common)\b", full):
                return f"imports {full}, the grader's reference code (calling it from an answer gets no credit)"
        return ""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == "check":
        return "defines its own `check`"
    if isinstance(node, ast.Name) and node.id == "check" and isinstance(node.ctx, ast.Store):
        return "assigns to `check`"
    if isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)):
        root, text = _root(node)
        if root in grading_names or ".grading" in text:
            return f"patches {text}"
        if root in minigrad_names:
            return f"sets {text}"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("setattr", "delattr") \
            and node.args:
        root, text = _root(node.args[0])
        if root in minigrad_names or root in grading_names:
            return f"patches {text} with {node.func.id}()"
    if isinstance(node, ast.Subscript) and isinstance(node.ctx, (ast.Store, ast.Del)):
        if _root(node.value)[1] == "sys.modules":
            return "replaces a module in sys.modules"
    return ""


def _raw_memory(node: ast.AST) -> str:
    """A message when ``node`` imports or names a way to read memory at an address; ``""`` otherwise."""
    why = ("; with it a notebook can read its kernel's memory and forge the grader's reports: "
           "read its code before trusting the score")
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
        for module in modules:
            if module.split(".")[0] in _RAW_MEMORY_MODULES:
                return f"imports {module.split('.')[0]}{why}"
    if isinstance(node, ast.Attribute) and node.attr in _RAW_MEMORY_ATTRIBUTES:
        return f"uses {_root(node)[1]}{why}"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__import__" \
            and node.args and isinstance(node.args[0], ast.Constant) and str(node.args[0].value).split(".")[0] \
            in _RAW_MEMORY_MODULES:
        return f"imports {node.args[0].value}{why}"
    return ""


# ------------------------------------------------------------------------------ the outputs
def cell_output_text(cell: Any) -> str:
    """The text a code cell's outputs show, each output ending a line.

    Streams, plain text, HTML (tags removed, entities decoded) and markdown all count. Ending
    every output with a newline keeps a claim line at the start of one output from running into
    the end of the output before it.
    """
    parts = []
    for output in cell.get("outputs", []) if isinstance(cell, dict) else []:
        if not isinstance(output, dict):
            continue
        if output.get("output_type") == "stream":
            parts.append(_text(output.get("text", "")))
        elif isinstance(output.get("data"), dict):
            data = output["data"]
            parts.append(_text(data.get("text/plain", "")))
            for mime in ("text/html", "text/markdown"):
                if mime in data:
                    parts.append("\n" + html.unescape(_TAG.sub("", _BLOCK_TAG.sub("\n", _text(data[mime])))))
        parts.append("\n")
    return "".join(parts)


def _text(value: Any) -> str:
    """nbformat text (a string or a list of lines) as one string."""
    if isinstance(value, list):
        return "".join(str(line) for line in value)
    return str(value)


def stored_output_text(cells: list) -> str:
    """The text a notebook's stored outputs show, code cell after code cell (see :func:`cell_output_text`)."""
    return "".join(cell_output_text(cell) for cell in cells
                   if isinstance(cell, dict) and cell.get("cell_type") == "code")


def claims(text: str) -> dict[str, str]:
    """Question id to the first "✓ id (n/n) …" line in ``text`` (lines shortened to 80 characters).

    The text is NFKC-normalised and stripped of terminal escape codes and non-breaking or
    zero-width spaces first, so that a line that *looks* like a claim is read as one.
    """
    text = unicodedata.normalize("NFKC", _ANSI.sub("", text))
    text = re.sub(r"[\u200b-\u200d\u2060\ufeff]", "", text)
    found: dict[str, str] = {}
    for match in _CLAIM.finditer(text):
        found.setdefault(match.group(2), match.group(1).strip()[:80])
    return found
