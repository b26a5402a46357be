"""The lecture slides (site/slides.py): every deck builds from its chapter's stored outputs.

A deck quotes its chapter's glued figures and numbers by key, so a chapter that renames or drops a
key breaks its deck: building every deck here (no browser needed) catches that in `make test`.
`make site-check` then opens the decks in Chromium.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "site"))

import slides  # noqa: E402


def notebook_with_glue(tmp_path: Path) -> Path:
    outputs = [
        {"output_type": "display_data", "metadata": {"scrapbook": {"name": "ch-loss", "mime_prefix": "application/papermill.record/"}},
         "data": {"application/papermill.record/text/plain": "0.123456"}},
        {"output_type": "display_data", "metadata": {"scrapbook": {"name": "ch-spread", "mime_prefix": "application/papermill.record/"}},
         "data": {"application/papermill.record/text/plain": "'0.12 ± 0.01 (0.11 to 0.13 over 5 seeds)'"}},
        {"output_type": "display_data", "metadata": {"scrapbook": {"name": "fig-ch", "mime_prefix": ""}},
         "data": {"image/svg+xml": "<svg xmlns='http://www.w3.org/2000/svg'/>", "text/plain": "<Figure>"}},
    ]
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": [{"cell_type": "code", "source": "", "outputs": outputs}]}))
    return path


def test_glue_references_become_the_chapters_values(tmp_path):
    glued = slides.glued_outputs(notebook_with_glue(tmp_path))
    parser = slides.markdown()
    html = slides.slide_html("## Result\n\nLoss {glue:text}`ch-loss:.2f`, spread {glue:}`ch-spread`.\n\n"
                             "![The curve](glue:fig-ch)\n\nNote: say it slowly", glued, "test", parser)
    assert "Loss 0.12," in html and "spread 0.12 ± 0.01 (0.11 to 0.13 over 5 seeds)." in html
    assert '<img src="data:image/svg+xml;base64,' in html and 'alt="The curve"' in html
    assert '<aside class="notes"><p>say it slowly</p>' in html


def test_math_is_left_to_mathjax():
    html = slides.markdown().render("a $x_1 < y_2$ b\n\n$$\\nabla_h L$$\n")
    assert "\\(x_1 &lt; y_2\\)" in html and "\\[\\nabla_h L\\]" in html


@pytest.mark.parametrize("source, message", [
    ("{glue:text}`missing:.2f`", "glues nothing under 'missing'"),
    ("![x](glue:missing)", "no figure under 'missing'"),
    ("{glue:text}`ch-spread:.2f`", "not a number"),
])
def test_a_deck_cannot_quote_what_its_chapter_does_not_glue(tmp_path, source, message):
    glued = slides.glued_outputs(notebook_with_glue(tmp_path))
    with pytest.raises(slides.SlideError, match=message):
        slides.slide_html(source, glued, "test", slides.markdown())


def test_every_deck_builds(tmp_path):
    """Every deck's references resolve (its assets come from npm: make site-check loads them)."""
    decks = slides.build_decks(tmp_path)
    chapters = {p.stem for p in (ROOT / "book").glob("[0-9][0-9]_*.ipynb")}
    assert decks and {Path(name).stem for name, _ in decks} <= chapters
    index = (tmp_path / "index.html").read_text()
    for name, title in decks:
        page = (tmp_path / name).read_text()
        assert "<section>" in page and "https://" not in page.split("<div class=\"reveal\">")[0]
        assert f'href="{name}"' in index
