"""The notebook test contract (README, "Results check themselves"), checked on the committed notebooks.

`make test` runs every notebook with nbval in lax mode: every cell must run, and only cells tagged
``nbval-check-output`` are compared with their stored outputs. These tests keep that contract
honest: compared cells hold only text (never a figure, which differs with the machine's fonts and
rounding), claim cells are hidden from the page and really assert something, and every exercise
check line is compared.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))
NOTEBOOKS = CHAPTERS + sorted((ROOT / "solutions").glob("*.ipynb")) + sorted((ROOT / "exercises").glob("*.ipynb"))
COMPARED = "nbval-check-output"
TEXT_TYPES = {"text/plain", "text/markdown", "text/latex"}


def cells(path: Path, cell_type: str = "code") -> list[tuple[int, dict]]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return [(i, c) for i, c in enumerate(notebook["cells"]) if c["cell_type"] == cell_type]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def is_compared(cell: dict) -> bool:
    return COMPARED in tags(cell) or "# NBVAL_CHECK_OUTPUT" in source(cell)


def test_there_are_notebooks():
    assert len(CHAPTERS) >= 13 and len(NOTEBOOKS) >= 39


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_compared_cells_hold_only_text(path):
    for index, cell in cells(path):
        if not is_compared(cell):
            continue
        assert cell.get("outputs"), f"cell {index} is compared but has no stored output"
        for output in cell["outputs"]:
            kinds = set(output.get("data", {}))
            assert output["output_type"] != "error", f"cell {index} stores an error"
            assert kinds <= TEXT_TYPES, (f"cell {index} is compared but shows {sorted(kinds - TEXT_TYPES)}: "
                                         "figures and glued values are not the same on every machine")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_cell_opts_out_of_running(path):
    for index, cell in cells(path):
        text = source(cell)
        assert "NBVAL_SKIP" not in text and "nbval-skip" not in tags(cell), f"cell {index} is skipped"
        assert "NBVAL_IGNORE_OUTPUT" not in text, (
            f"cell {index}: `# NBVAL_IGNORE_OUTPUT` is the default in lax mode; remove the marker")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_claim_cells_are_hidden_and_assert(path):
    for index, cell in cells(path):
        if "claims" not in tags(cell):
            continue
        assert "remove-cell" in tags(cell), f"claim cell {index} must be tagged remove-cell"
        asserts = [n for n in ast.walk(ast.parse(source(cell))) if isinstance(n, ast.Assert)]
        assert asserts, f"claim cell {index} asserts nothing"


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.parent.name != "book"], ids=lambda p: p.name)
def test_every_check_line_is_compared(path):
    for index, cell in cells(path):
        if any(line.startswith("check(") for line in source(cell).splitlines()):
            assert is_compared(cell), f"cell {index} calls check() but is not compared: run `make exercises`"


NUMBERED_CHAPTERS = [p for p in CHAPTERS if p.name[:2].isdigit()]
DIAGRAM_FIGURE = re.compile(r"```\{glue:figure\}\s+(diagram-[\w.-]+)[ \t]*\n((?::[^\n]*\n)*)")
MIN_CLAIMS = 3


def glued_keys(path: Path) -> set[str]:
    return {output["metadata"]["scrapbook"]["name"] for _, cell in cells(path) for output in cell.get("outputs", [])
            if "scrapbook" in output.get("metadata", {})}


@pytest.mark.parametrize("path", NUMBERED_CHAPTERS, ids=lambda p: p.name)
def test_every_chapter_asserts_its_claims(path):
    asserts = sum(isinstance(node, ast.Assert) for _, cell in cells(path) if "claims" in tags(cell)
                  for node in ast.walk(ast.parse(source(cell))))
    assert asserts >= MIN_CLAIMS, f"{asserts} claim asserts; a chapter checks at least {MIN_CLAIMS} of its claims"


@pytest.mark.parametrize("path", NUMBERED_CHAPTERS, ids=lambda p: p.name)
def test_every_chapter_draws_its_networks(path):
    figures = [(m.group(1), m.group(2)) for _, cell in cells(path, "markdown")
               for m in DIAGRAM_FIGURE.finditer(source(cell)) if ":figclass: diagram" in m.group(2)]
    assert figures, "no architecture diagram ({glue:figure} diagram-... with :figclass: diagram)"
    glued = glued_keys(path)
    for key, options in figures:
        assert key in glued, f"{key} is shown but not glued"
        assert ":name:" in options and ":alt:" in options, f"{key} needs a :name: and :alt: text"
