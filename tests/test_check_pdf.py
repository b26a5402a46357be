"""The check of the printed book (site/check_pdf.py) finds what it must, on small PDFs made here."""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from pypdf import PdfReader  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "site"))

import check_pdf  # noqa: E402


def pdf_with(tmp_path: Path, lines: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (text, prose) of a one-page PDF with each line in its font family."""
    fig = plt.figure(figsize=(6, 4))
    for row, (family, text) in enumerate(lines):
        fig.text(0.05, 0.9 - 0.1 * row, text, family=family, parse_math=False)
    path = tmp_path / "page.pdf"
    fig.savefig(path)
    plt.close(fig)
    return [check_pdf.page_text(page) for page in PdfReader(path).pages]


def test_raw_tex_in_prose_is_found(tmp_path):
    pages = pdf_with(tmp_path, [("DejaVu Sans", "the state $h^{(t)}$ of the network")])
    (problem,) = check_pdf.raw_tex(pages)
    assert problem.startswith("page 1: raw TeX '$h^{(t)}$'")


def test_tex_in_code_is_not_a_problem(tmp_path):
    pages = pdf_with(tmp_path, [("DejaVu Sans", "typeset prose"),
                                ("DejaVu Sans Mono", r'ax.set_title("$\theta$")')])
    assert check_pdf.raw_tex(pages) == []


def test_every_title_must_be_in_the_text_and_the_outline(tmp_path):
    pages = pdf_with(tmp_path, [("DejaVu Sans", "4. Backpropagation through"), ("DejaVu Sans", "time and more")])
    assert check_pdf.missing_pages(pages, ["4. Backpropagation through time"], ["Backpropagation through time"]) == []
    problems = check_pdf.missing_pages(pages, [], ["Backpropagation through time", "Gated recurrent units"])
    assert problems == ["the page 'Backpropagation through time' has no bookmark in the outline",
                        "the page 'Gated recurrent units' is not in the text",
                        "the page 'Gated recurrent units' has no bookmark in the outline"]


def test_titles_come_from_the_table_of_contents():
    titles = check_pdf.page_titles()
    assert titles[0] == "Recurrent Neural Networks, from Scratch"
    assert "Backpropagation through time" in titles and len(titles) >= 17
