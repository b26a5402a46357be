"""Every script in scripts/ still runs: a short version of each heavy run, into a temporary folder.

The sweeps and long trainings that do not fit a notebook's time budget live in ``scripts/``; each
writes small result files (JSON, or weights as ``.npz``) that the chapters load (`make models`
runs them all in full). Each script takes ``--quick`` (a run of seconds with the same outputs'
format) and ``--out FOLDER``; this test runs every script that way and checks that it wrote every
file it commits, with the same names and kinds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted((ROOT / "scripts").glob("*.py"))
RESULTS = ROOT / "book" / "results"


def committed_outputs(script: Path) -> list[Path]:
    """The committed files a script writes: book/results/<script name>.* and <script name>/..."""
    return sorted(p for p in RESULTS.glob(f"{script.stem}*") if p.is_file()) if RESULTS.exists() else []


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_runs_quickly_and_writes_its_results(script, tmp_path):
    result = subprocess.run([sys.executable, str(script), "--quick", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written, f"{script.name} --quick wrote nothing"
    committed = committed_outputs(script)
    assert committed, f"{script.name}: no committed results in book/results/ (run `make models`)"
    assert written == [p.name for p in committed], (written, [p.name for p in committed])
    for path in tmp_path.iterdir():
        if path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".npz":
            with np.load(path) as quick, np.load(RESULTS / path.name) as full:
                assert sorted(quick.files) == sorted(full.files)
