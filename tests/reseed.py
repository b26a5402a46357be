"""Execute a notebook with other seeds, to show that its claims do not depend on the stored one.

Each chapter seeds its first ``numpy.random.default_rng(...)`` and asserts its claims in hidden
cells. A claim that holds only for the stored seed is not a result, so before a chapter lands its
author runs (this is `make reseed`)::

    python tests/reseed.py book/01_sequences.ipynb --seeds 2 3 4

which replaces the first ``default_rng(<integer>)`` call of the notebook by each seed in turn,
executes a copy in the notebook's folder (the original is never written) and reports, per seed,
whether every cell ran (every claim held) and how long it took. The exit status is 1 when any seed
failed.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

FIRST_SEED = re.compile(r"default_rng\(\s*(\d+)\s*\)")


def reseeded(notebook: nbformat.NotebookNode, seed: int) -> tuple[nbformat.NotebookNode, int]:
    """A copy of ``notebook`` whose first ``default_rng(<integer>)`` uses ``seed``; and the old seed."""
    copy = nbformat.from_dict(notebook)
    for cell in copy.cells:
        if cell.cell_type == "code":
            match = FIRST_SEED.search(cell.source)
            if match:
                cell.source = cell.source[:match.start(1)] + str(seed) + cell.source[match.end(1):]
                return copy, int(match.group(1))
    raise ValueError("no default_rng(<integer>) call in any code cell")


def run(path: Path, seed: int, timeout: int) -> tuple[bool, float, str]:
    """Execute ``path`` with ``seed``; return (ran without error, seconds, the error's last line)."""
    notebook, _ = reseeded(nbformat.read(path, as_version=4), seed)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as error:
        lines = [line for line in str(error).splitlines() if line.strip()]
        return False, time.perf_counter() - start, lines[-1] if lines else "error"
    return True, time.perf_counter() - start, ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--seeds", nargs="+", type=int, default=[2, 3, 4])
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    failed = False
    for path in args.notebooks:
        _, stored = reseeded(nbformat.read(path, as_version=4), 0)
        for seed in args.seeds:
            ok, seconds, error = run(path, seed, args.timeout)
            failed |= not ok
            verdict = "every claim holds" if ok else f"FAILED: {error}"
            print(f"{path} seed {seed} (stored {stored}): {verdict} [{seconds:.1f} s]", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
