"""Signs that a notebook tried to fake its grade: what the grader looks for besides the answers.

* ``scan_sources``: the notebook's code, read without running it: rebinding ``check``,
  assigning into ``minigrad`` modules, replacing entries of ``sys.modules``.
* ``compare_modules``: the kernel's fingerprints of the trusted ``minigrad`` modules (taken after
  the student's cells ran) against this process's: a replaced function or class member shows up.
* ``claims``: "✓ 2.3 (3/3)" lines in the output, to compare with what the grader found.
* ``snapshot_directory`` / ``changed_files``: files written next to the notebook's private copy;
  ``snapshot_package`` / ``package_changes``: the grader's own source files.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from minigrad.grading.wire import describe_module

__all__ = [
    "Finding", "scan_sources", "claims", "cell_output_text", "stored_output_text", "fingerprint", "compare_modules",
    "snapshot_directory", "changed_files", "snapshot_package", "package_changes",
]

_CLAIM = re.compile(r"^[ \t]*(✓[ \t]+(\d+\.\d+)[ \t]+\(\d+/\d+\).*)$", re.MULTILINE)
_MAGIC = re.compile(r"^\s*[%!].*$", re.MULTILINE)
# The grader's own files a notebook could overwrite to change later runs.
_GUARDED = ("grading/*.py", "symbolic.py", "scalar.py")


@dataclass
class Finding:
    """Something the grader noticed. ``kind`` is ``tampering`` (an attempt to fake) or ``note``."""

    kind: str
    message: str


# ------------------------------------------------------------------------------ the source
def scan_sources(notebook: Any) -> list[Finding]:
    """Read every code cell (without running it) for attempts to redefine or patch the grading code."""
    findings: list[Finding] = []
    minigrad_names: set[str] = {"minigrad"}
    grading_names: set[str] = set()
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    for number, cell in enumerate(code_cells, start=1):
        try:
            tree = ast.parse(_MAGIC.sub("", cell.source))
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            message = _inspect(node, minigrad_names, grading_names)
            if message:
                kind = "note" if message.startswith("sets ") else "tampering"
                findings.append(Finding(kind, f"cell {number} {message}"))
    return findings


def _root(node: ast.AST) -> tuple[str, str]:
    """(root name, dotted text) of an attribute chain like ``a.b.c``."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    root = node.id if isinstance(node, ast.Name) else ""
    return root, ".".join([root, *reversed(parts)])


def _inspect(node: ast.AST, minigrad_names: set[str], grading_names: set[str]) -> str:
    """A message when ``node`` rebinds ``check`` or writes into minigrad; ``""`` otherwise."""
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


# ------------------------------------------------------------------------------ the outputs
def cell_output_text(cell: Any) -> str:
    """The text a code cell's outputs show (streams and plain-text displays), each output ending a line.

    Ending every output with a newline keeps a claim line at the start of one output from running
    into the end of the output before it.
    """
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(str(output.get("text", "")))
        elif isinstance(output.get("data"), dict):
            parts.append(str(output["data"].get("text/plain", "")))
        parts.append("\n")
    return "".join(parts)


def stored_output_text(notebook: Any) -> str:
    """The text a notebook's stored outputs show, cell after cell (see :func:`cell_output_text`)."""
    return "".join(cell_output_text(cell) for cell in notebook.cells if cell.cell_type == "code")


def claims(text: str) -> dict[str, str]:
    """Question id to the first "✓ id (n/n) …" line in ``text`` (lines shortened to 80 characters)."""
    found: dict[str, str] = {}
    for match in _CLAIM.finditer(text):
        found.setdefault(match.group(2), match.group(1).strip()[:80])
    return found


# ------------------------------------------------------------------------------ the kernel's modules
def fingerprint(module: Any) -> Any:
    """This process's fingerprint of a module, in the same JSON form the kernel sends."""
    return json.loads(json.dumps(describe_module(module)))


def _diff(mine: Any, theirs: Any, path: str, out: list[tuple[str, str]]) -> None:
    if isinstance(mine, dict) and isinstance(theirs, dict):
        for key in sorted(set(mine) | set(theirs)):
            where = f"{path}.{key}"
            if key not in theirs:
                out.append(("tampering", f"deleted {where}"))
            elif key not in mine:
                out.append(("note", f"added {where}"))
            else:
                _diff(mine[key], theirs[key], where, out)
    elif mine != theirs:
        out.append(("tampering", f"replaced {path}"))


def compare_modules(kernel_modules: Any, mine: Callable[[str], Any]) -> list[tuple[str, str]]:
    """Compare the kernel's module fingerprints with this process's.

    Args:
        kernel_modules: module name to ``{"file", "members"}``, as the kernel reported it.
        mine: module name to this process's fingerprint (``None`` when it has no such module).

    Returns:
        ``(kind, message)`` pairs: ``tampering`` for a replaced or deleted member, a module loaded
        from another file or unknown to the grader; ``note`` for an added member.
    """
    if not isinstance(kernel_modules, dict):
        return [("tampering", "the kernel's module fingerprints are unreadable")]
    problems: list[tuple[str, str]] = []
    for name, theirs in sorted(kernel_modules.items()):
        reference = mine(name)
        if reference is None:
            problems.append(("tampering", f"the kernel has a module {name} that the grader does not know"))
            continue
        if not isinstance(theirs, dict) or theirs.get("file") != reference["file"]:
            problems.append(("tampering", f"{name} was loaded from {str(theirs.get('file'))[:80]}, "
                                          f"not the installed package" if isinstance(theirs, dict)
                                          else f"{name}'s fingerprint is unreadable"))
            continue
        _diff(reference["members"], theirs.get("members"), name, problems)
    return problems


# ------------------------------------------------------------------------------ files
def _digest(path: Path) -> str:
    size = path.stat().st_size
    if size > 50_000_000:
        return f"size {size} mtime {path.stat().st_mtime_ns}"
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot_directory(root: Path) -> dict[str, str]:
    """Relative path to content digest, for every file under ``root``."""
    snapshot = {}
    for path in root.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink():
                snapshot[path.relative_to(root).as_posix()] = _digest(path)
            elif path.is_symlink():
                snapshot[path.relative_to(root).as_posix()] = "symlink"
        except OSError:
            continue
    return snapshot


def changed_files(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Files created, changed or deleted between two snapshots, sorted."""
    return sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))


def snapshot_package(package_dir: Path) -> dict[str, str]:
    """Digests of the grader's own source files that a notebook could overwrite."""
    return {path.relative_to(package_dir).as_posix(): _digest(path)
            for pattern in _GUARDED for path in sorted(package_dir.glob(pattern))}


def package_changes(package_dir: Path, snapshot: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """The guarded files created, changed or deleted since ``snapshot``, and a fresh snapshot.

    The grader reports a change and does not undo it: the files may also have been edited on
    purpose, and the grader's own process keeps running the code it loaded at the start.
    """
    current = snapshot_package(package_dir)
    return changed_files(snapshot, current), current
