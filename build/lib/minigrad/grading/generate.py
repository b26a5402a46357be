"""Make the student notebooks from the solved ones: ``python -m minigrad.grading.generate`` (``make exercises``).

``solutions/NN_<slug>.ipynb`` is the only source. In it, every answer sits between a
``### BEGIN SOLUTION`` line and a ``### END SOLUTION`` line, in a code cell or (for a written
answer) a markdown cell, after a markdown heading that names the exercise ("## Exercise 2.3: …").
The generated ``exercises/NN_<slug>.ipynb`` replaces each answer by

* ``raise NotImplementedError("Exercise 2.3")`` at the answer's indentation, in code. When that
  line is at the top level, the cell raises when run, so it gets the ``raises-exception`` tag
  (which nbval and Jupyter Book honour);
* a placeholder line, in markdown.

Every cell that calls ``check(...)`` gets the ``nbval-check-output`` tag in both notebooks: its
printed line ("✓ 4.1 (3/3) …" in the solution, "○ 4.1 (0/3) not attempted …" in the exercise) is the
same on every machine, so the notebook tests compare it exactly, while the rest of the outputs are
only executed (``make test`` runs nbval in lax mode).

Then both notebooks are executed in their own directories and written with their outputs.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path
from typing import Any, Sequence

import nbformat

__all__ = ["BEGIN", "END", "compare_check_outputs", "make_exercise", "execute", "main"]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
_HEADING = re.compile(r"^#+\s*Exercise\s+(\d+\.\d+)", re.MULTILINE)
_TAG = "raises-exception"
_COMPARED = "nbval-check-output"
_CHECK_CALL = re.compile(r"^check\(", re.MULTILINE)


def _replace_regions(source: str, exercise: str, markdown: bool, where: str) -> tuple[str, bool]:
    """Source with each solution region replaced; also whether a stub sits at the top level."""
    lines = source.split("\n")
    out: list[str] = []
    top_level = False
    inside = False
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ValueError(f"{where}, line {number}: {BEGIN} inside another solution")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            if markdown:
                out.append(f"*Write your answer here (Exercise {exercise}).*")
            else:
                out.append(f'{indent}raise NotImplementedError("Exercise {exercise}")')
                top_level = top_level or indent == ""
        elif stripped == END:
            if not inside:
                raise ValueError(f"{where}, line {number}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: {BEGIN} without {END}")
    return "\n".join(out), top_level


def compare_check_outputs(notebook: Any) -> Any:
    """Tag every cell that calls ``check(...)`` with ``nbval-check-output`` (in place; returns it)."""
    for cell in notebook.cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "code" and _CHECK_CALL.search(cell.source) and _COMPARED not in tags:
            cell.metadata["tags"] = [*tags, _COMPARED]
    return notebook


def make_exercise(solution: Any) -> Any:
    """The student version of a solved notebook (a new notebook; outputs cleared).

    Raises:
        ValueError: when a solution region is unbalanced or no "Exercise N.k" heading precedes it.
    """
    exercise = copy.deepcopy(solution)
    current = None
    for number, cell in enumerate(exercise.cells, start=1):
        if cell.cell_type == "markdown":
            headings = _HEADING.findall(cell.source)
            current = headings[-1] if headings else current
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        if BEGIN not in cell.source and END not in cell.source:
            continue
        if current is None:
            raise ValueError(f"cell {number}: a solution with no 'Exercise N.k' heading before it")
        cell.source, top_level = _replace_regions(cell.source, current, cell.cell_type == "markdown",
                                                  f"cell {number}")
        tags = [t for t in cell.metadata.get("tags", []) if t != _TAG]
        if top_level:
            tags.append(_TAG)
        if tags:
            cell.metadata["tags"] = tags
        else:
            cell.metadata.pop("tags", None)
    return exercise


def execute(notebook: Any, directory: Path, timeout: int = 60) -> Any:
    """Run every cell in a fresh kernel in ``directory`` and keep the outputs (raises on an error
    in a cell that is not tagged ``raises-exception``)."""
    from nbclient import NotebookClient

    NotebookClient(notebook, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(directory)}}).execute()
    return notebook


def _exercise_path(solution_path: Path, exercises_dir: Path) -> Path:
    return exercises_dir / solution_path.name


def main(argv: Sequence[str] | None = None) -> int:
    """Generate (and by default execute) the exercise notebook of each solution notebook."""
    parser = argparse.ArgumentParser(prog="python -m minigrad.grading.generate", description=__doc__.split("\n")[0])
    parser.add_argument("solutions", nargs="+", type=Path, help="solved notebooks (solutions/NN_<slug>.ipynb)")
    parser.add_argument("--exercises-dir", type=Path, default=Path("exercises"))
    parser.add_argument("--no-execute", action="store_true", help="write the notebooks without running them")
    parser.add_argument("--timeout", type=int, default=60, help="seconds per cell (default 60)")
    args = parser.parse_args(argv)
    for path in args.solutions:
        solution = compare_check_outputs(nbformat.read(path, as_version=4))
        exercise = make_exercise(solution)
        target = _exercise_path(path, args.exercises_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not args.no_execute:
            execute(solution, path.parent, args.timeout)
            nbformat.write(solution, path)
            execute(exercise, target.parent, args.timeout)
        nbformat.write(exercise, target)
        print(f"{path} -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
