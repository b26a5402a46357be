"""Lecture slides: one reveal.js deck per chapter, built from curated slide sources (`make slides`).

A deck's source is ``book/slides/<chapter>.md``, kept next to the chapter ``book/<chapter>.ipynb``.
It is Markdown (CommonMark with tables), one slide after another, separated by a line holding only
``---``, with:

- math between ``$...$`` (inline) or ``$$...$$`` (display), typeset by MathJax;
- ``![caption](glue:<key>)``: the figure the chapter glued under ``<key>``, taken from the
  chapter's stored outputs (SVG or PNG), so that slides show the book's own diagrams and plots;
- ``{glue:text}`<key>:<format>``` and ``{glue:}`<key>```: a number or a text the chapter glued
  (the same roles as in the book), so that the results on a slide are the chapter's measurements;
- a paragraph starting with ``Note:``: speaker notes (press ``s`` in the deck).

A key that the chapter does not glue is an error, so a deck cannot drift from its chapter. The
decks load reveal.js and MathJax from copies next to them (both from npm): nothing comes from a CDN.

Usage: python site/slides.py OUTPUT_FOLDER   (builds every deck, and an index page)
"""

from __future__ import annotations

import ast
import base64
import html
import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "book" / "slides"
REVEAL = ROOT / "node_modules" / "reveal.js" / "dist"
MATHJAX = ROOT / "node_modules" / "mathjax" / "es5"
MATHJAX_PARTS = ("tex-chtml.js", "input", "output", "a11y", "ui", "adaptors")
SLIDE_BREAK = re.compile(r"^---\s*$", re.MULTILINE)
GLUE_FIGURE = re.compile(r"!\[([^\]]*)\]\(glue:([\w.-]+)\)")
GLUE_ROLE = re.compile(r"\{glue(?::text|:)?\}`([\w.-]+)(?::([^`]*))?`")
FIGURE_TYPES = ("image/svg+xml", "image/png")


class SlideError(ValueError):
    """A slide source refers to something its chapter does not provide."""


@dataclass
class Glued:
    """What a chapter glued: texts (``text/plain``) and figures (mime type, data) by key."""

    texts: dict[str, str]
    figures: dict[str, tuple[str, str]]


def glued_outputs(notebook: Path) -> Glued:
    """Everything ``myst_nb.glue`` stored in the executed notebook's outputs."""
    texts: dict[str, str] = {}
    figures: dict[str, tuple[str, str]] = {}
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        for output in cell.get("outputs", []):
            scrapbook = output.get("metadata", {}).get("scrapbook")
            if not scrapbook:
                continue
            prefix, data = scrapbook.get("mime_prefix", ""), output.get("data", {})
            for kind in FIGURE_TYPES:
                if prefix + kind in data:
                    value = data[prefix + kind]
                    figures[scrapbook["name"]] = (kind, "".join(value) if isinstance(value, list) else value)
                    break
            if prefix + "text/plain" in data:
                value = data[prefix + "text/plain"]
                texts[scrapbook["name"]] = "".join(value) if isinstance(value, list) else value
    return Glued(texts, figures)


def glued_text(glued: Glued, key: str, fmt: str | None, where: str) -> str:
    """The text a ``{glue:}`` role shows: a glued string as it is, a number in ``fmt``."""
    if key not in glued.texts:
        raise SlideError(f"{where}: the chapter glues nothing under '{key}'")
    text = glued.texts[key]
    if fmt:
        try:
            return format(float(text), fmt)
        except ValueError:
            raise SlideError(f"{where}: '{key}' is {text!r}, not a number for format '{fmt}'") from None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return value if isinstance(value, str) else text


def figure_html(glued: Glued, key: str, caption: str, where: str) -> str:
    if key not in glued.figures:
        raise SlideError(f"{where}: the chapter glues no figure under '{key}'")
    kind, data = glued.figures[key]
    encoded = base64.b64encode(data.encode("utf-8")).decode("ascii") if kind == "image/svg+xml" else data.strip()
    alt = html.escape(caption, quote=True)
    return (f'<figure><img src="data:{kind};base64,{encoded}" alt="{alt}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _math(content: str, options: dict) -> str:
    text = html.escape(content)
    return f"\\[{text}\\]" if options.get("display_mode") else f"\\({text}\\)"


def markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).use(dollarmath_plugin, renderer=_math).enable("table")


def slide_html(source: str, glued: Glued, where: str, parser: MarkdownIt) -> str:
    """One slide's HTML: glue references resolved, Markdown rendered, notes split off."""
    figures: list[str] = []

    def figure(match: re.Match) -> str:
        figures.append(figure_html(glued, match.group(2), match.group(1), where))
        return f"\n\nFIGURE{len(figures) - 1}\n\n"

    source = GLUE_FIGURE.sub(figure, source)
    source = GLUE_ROLE.sub(lambda m: glued_text(glued, m.group(1), m.group(2), where), source)
    body, _, notes = source.partition("\nNote:")
    rendered = parser.render(body)
    for index, block in enumerate(figures):
        rendered = rendered.replace(f"<p>FIGURE{index}</p>", block)
    if notes.strip():
        rendered += f'<aside class="notes">{parser.render(notes)}</aside>'
    return f"<section>\n{rendered}</section>"


def deck_title(source: str, name: str) -> str:
    heading = re.search(r"^#\s+(.+)$", source, re.MULTILINE)
    if heading is None:
        raise SlideError(f"{name}: the first slide needs a '# title'")
    return heading.group(1).strip()


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} (slides)</title>
<link rel="stylesheet" href="assets/reveal/reset.css">
<link rel="stylesheet" href="assets/reveal/reveal.css">
<link rel="stylesheet" href="assets/reveal/theme/white.css">
<link rel="stylesheet" href="assets/slides.css">
<script>
window.MathJax = {{
  tex: {{packages: {{"[-]": ["noundefined"]}}}},
  startup: {{pageReady: () => MathJax.startup.defaultPageReady().then(startDeck)}}
}};
function startDeck() {{
  return Reveal.initialize({{hash: true, slideNumber: "c/t", plugins: [RevealNotes], width: 1280, height: 800}});
}}
</script>
<script src="assets/reveal/reveal.js"></script>
<script src="assets/reveal/plugin/notes.js"></script>
<script defer src="assets/mathjax/tex-chtml.js"></script>
</head>
<body>
<div class="reveal"><div class="slides">
{slides}
</div></div>
</body>
</html>
"""

INDEX = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Lecture slides</title>
<link rel="stylesheet" href="assets/slides.css"></head>
<body class="deck-index"><h1>Recurrent Neural Networks, from Scratch: lecture slides</h1>
<p>One deck per chapter. Keys: arrows to move, <kbd>s</kbd> for speaker notes, <kbd>f</kbd> for full screen.
<a href="../book/intro.html">Back to the book</a>.</p>
<ul>
{items}
</ul></body></html>
"""

STYLE = """/* Slides of rnn-course: reveal.js's white theme, with the book's figure and table sizes. */
.reveal figure { margin: 0.2em auto; }
.reveal h1, .reveal h2, .reveal h3 { text-transform: none; }
.reveal figure img { max-height: 320px; max-width: 100%; background: #fff; }  /* a slide is 800 px high */
.reveal figcaption { font-size: 0.55em; color: #555; }
.reveal table { font-size: 0.7em; }
.reveal ul, .reveal ol { font-size: 0.85em; }
.reveal mjx-container[display="true"] { font-size: 90%; }
body.deck-index { font-family: sans-serif; max-width: 48rem; margin: 2rem auto; line-height: 1.5; }
"""


def build_deck(source_path: Path, out: Path, parser: MarkdownIt) -> str:
    """Write ``out/<chapter>.html`` from its source and the chapter's outputs; return its title."""
    notebook = ROOT / "book" / f"{source_path.stem}.ipynb"
    if not notebook.is_file():
        raise SlideError(f"{source_path.name}: no chapter book/{notebook.name} beside it")
    glued = glued_outputs(notebook)
    source = source_path.read_text(encoding="utf-8")
    title = deck_title(source, source_path.name)
    slides = [slide_html(part, glued, f"{source_path.name}, slide {number}", parser)
              for number, part in enumerate(SLIDE_BREAK.split(source), start=1) if part.strip()]
    (out / f"{source_path.stem}.html").write_text(
        PAGE.format(title=html.escape(title), slides="\n".join(slides)), encoding="utf-8")
    return title


def copy_assets(out: Path) -> None:
    reveal = out / "assets" / "reveal"
    for part in ("reset.css", "reveal.css", "reveal.js", "theme/white.css", "plugin/notes.js"):
        (reveal / part).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REVEAL / part, reveal / part)
    mathjax = out / "assets" / "mathjax"
    for part in MATHJAX_PARTS:
        if (MATHJAX / part).is_dir():
            shutil.copytree(MATHJAX / part, mathjax / part, dirs_exist_ok=True)
        else:
            mathjax.mkdir(parents=True, exist_ok=True)
            shutil.copy2(MATHJAX / part, mathjax / part)
    (out / "assets" / "slides.css").write_text(STYLE, encoding="utf-8")


def build(out: Path) -> list[tuple[str, str]]:
    """Build every deck, the index and their assets into ``out``; return (file, title) per deck."""
    decks = build_decks(out)
    copy_assets(out)
    return decks


def build_decks(out: Path) -> list[tuple[str, str]]:
    """Write every deck and the index page into ``out`` (without reveal.js and MathJax)."""
    sources = sorted(SOURCES.glob("*.md"))
    if not sources:
        raise SlideError(f"no slide sources in {SOURCES}")
    out.mkdir(parents=True, exist_ok=True)
    parser = markdown()
    decks = [(f"{path.stem}.html", build_deck(path, out, parser)) for path in sources]
    items = "\n".join(f'<li><a href="{name}">{html.escape(title)}</a></li>' for name, title in decks)
    (out / "index.html").write_text(INDEX.format(items=items), encoding="utf-8")
    return decks


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        decks = build(Path(argv[0]))
    except SlideError as error:
        print(f"slides: {error}", file=sys.stderr)
        return 1
    print(f"{len(decks)} decks in {argv[0]}: {', '.join(name for name, _ in decks)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
