"""Check the printed book (`make pdf`): every chapter is in it, with its math typeset.

Reads the PDF's text with pypdf and fails, with a line per problem, when

- it has fewer pages than a whole book needs (a print of an error page is a page or two);
- a page of the table of contents (``_toc.yml``) is missing: its title must appear in the text
  and in the PDF's outline (the bookmarks a reader navigates by);
- raw TeX shows through: ``$...$``, ``\\frac``-style commands or ``^{(t)}`` in the prose (text
  set in a monospace font is code, where such strings are legitimate) mean that MathJax did not
  typeset a formula before printing.

Usage: python site/check_pdf.py _build/pdf/rnn-course.pdf
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from pathlib import Path

import yaml
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parent.parent
MIN_PAGES = 100
RAW_TEX = re.compile(r"\$[^$\s][^$\n]{0,80}\$|\\(?:frac|mathbf|nabla|partial|operatorname|sum|odot|top)\b|\^\{\(t\)\}")


def page_titles() -> list[str]:
    """The title of every page in the table of contents, from each notebook's or page's first heading."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    titles = []
    for name in files:
        path = next(p for p in (ROOT / f"{name}.ipynb", ROOT / f"{name}.md") if p.exists())
        if path.suffix == ".ipynb":
            text = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"]
                             if c["cell_type"] == "markdown")
        else:
            text = path.read_text()
        titles.append(re.search(r"^# (.+)$", text, re.MULTILINE).group(1).strip())
    return titles


def outline_titles(reader: PdfReader) -> list[str]:
    titles, stack = [], [reader.outline]
    while stack:
        for item in stack.pop():
            if isinstance(item, list):
                stack.append(item)
            else:
                titles.append(item.title)
    return titles


def normalise(text: str) -> str:
    """Text compared without whitespace (line breaks inside a title drop or add spaces) and with
    ligatures such as "ﬁ" spelled out."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text).replace("\u00ad", "")).lower()


def page_text(page) -> tuple[str, str]:
    """All the text of a page, and its prose: the text not set in a monospace font (code)."""
    everything: list[str] = []
    prose: list[str] = []

    def keep(text, matrix, text_matrix, font, size):
        everything.append(text)
        if font is None or "mono" not in str(font.get("/BaseFont", "")).lower():
            prose.append(text)

    page.extract_text(visitor_text=keep)
    return "".join(everything), "".join(prose)


def raw_tex(pages: list[tuple[str, str]]) -> list[str]:
    """A problem for every page whose prose shows raw TeX."""
    found = []
    for number, (_, prose) in enumerate(pages, start=1):
        match = RAW_TEX.search(prose)
        if match:
            found.append(f"page {number}: raw TeX {match.group(0)!r}: a formula was not typeset")
    return found


def missing_pages(pages: list[tuple[str, str]], bookmarks: list[str], titles: list[str]) -> list[str]:
    """A problem for every title that is not in the text, or has no bookmark."""
    text = normalise(" ".join(everything for everything, _ in pages))
    marks = [normalise(b) for b in bookmarks]
    found = []
    for title in titles:
        wanted = normalise(re.sub(r"[`*]", "", title))
        if wanted not in text:
            found.append(f"the page '{title}' is not in the text")
        if not any(wanted in mark for mark in marks):
            found.append(f"the page '{title}' has no bookmark in the outline")
    return found


def problems(pdf: Path, min_pages: int = MIN_PAGES) -> list[str]:
    reader = PdfReader(pdf)
    found = []
    if len(reader.pages) < min_pages:
        found.append(f"only {len(reader.pages)} pages (a whole book has at least {min_pages})")
    pages = [page_text(page) for page in reader.pages]
    return found + missing_pages(pages, outline_titles(reader), page_titles()) + raw_tex(pages)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    pdf = Path(argv[0])
    found = problems(pdf)
    for problem in found:
        print(f"FAIL {problem}")
    if not found:
        print(f"ok   {pdf}: {len(PdfReader(pdf).pages)} pages, every page of the table of contents "
              "in the text and the outline, no raw TeX")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
