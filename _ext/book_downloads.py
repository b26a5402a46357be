"""Link the printed book and each chapter's lecture slides from the pages of the site.

`make pdf` writes the whole book as one PDF into the built site (``rnn-course.pdf`` at its root)
and `make slides` writes one reveal.js deck per chapter (``slides/<chapter>.html``), for every
chapter that has a slide source ``book/slides/<chapter>.md``. This extension puts a line of links
under the title of every page: the PDF, and on a chapter page its slides. The files are made
after the HTML build, so `make site-check` (which checks every local link) builds them first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

PDF = "rnn-course.pdf"
SLIDES_FOLDER = "slides"
SLIDE_SOURCES = Path("book") / "slides"


def slide_deck(confdir: str, pagename: str) -> str | None:
    """The deck of a page, ``slides/<name>.html``, when the page has a slide source."""
    name = Path(pagename).name
    if (Path(confdir) / SLIDE_SOURCES / f"{name}.md").is_file():
        return f"{SLIDES_FOLDER}/{name}.html"
    return None


def _add_links(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    if app.builder.name != "html" or doctree is None or "</h1>" not in context.get("body", ""):
        return
    pathto = context["pathto"]
    links = [f'<a href="{pathto(PDF, 1)}">The whole book as a PDF</a>']
    deck = slide_deck(app.confdir, pagename)
    if deck is not None:
        links.insert(0, f'<a href="{pathto(deck, 1)}">Slides for this chapter</a>')
    line = f'<p class="book-downloads">{" · ".join(links)}</p>'
    head, tail = context["body"].split("</h1>", 1)
    context["body"] = f"{head}</h1>\n{line}{tail}"


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", _add_links)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
