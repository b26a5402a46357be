"""references.bib: it parses, every key is unique, and every citation in the book names an entry.

Several branches add entries at once; a merge that drops a closing brace or keeps an entry twice
stops the site build (sphinxcontrib-bibtex refuses the file). This finds it in seconds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from pybtex.database import parse_file

ROOT = Path(__file__).resolve().parent.parent
CITATION = re.compile(r"\{cite(?::\w+)?\}`([^`]+)`")


def _book_text() -> str:
    parts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "book").glob("*.md"))]
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        parts += ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    return "\n".join(parts)


def test_the_bibliography_parses_with_unique_keys():
    text = (ROOT / "references.bib").read_text(encoding="utf-8")
    keys = re.findall(r"^@\w+\{([^,\s]+),", text, flags=re.M)
    assert len(keys) == len(set(keys)), sorted({k for k in keys if keys.count(k) > 1})
    assert set(parse_file(str(ROOT / "references.bib")).entries) == set(keys)


def test_every_citation_names_an_entry():
    entries = set(parse_file(str(ROOT / "references.bib")).entries)
    cited = {key.strip() for group in CITATION.findall(_book_text()) for key in group.split(",")}
    assert cited and not cited - entries, sorted(cited - entries)
