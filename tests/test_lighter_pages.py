"""The site's lighter pages (_ext/lighter_pages.py): which icons a site shows, and fonts cut to them."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pydata_sphinx_theme
from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))

import lighter_pages  # noqa: E402

THEME_STATIC = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static"
CSS = ('.fa-bars:before,.fa-navicon:before{content:"\\f0c9"}.fa-github:before{content:"\\f09b"}'
       '.fa-rocket:before{content:"\\f135"}.admonition-title:after{content:"\\f0eb"}'
       '@font-face{font-display:block;font-family:Font Awesome\\ 6 Free;font-style:normal;font-weight:900;'
       'src:url(../vendor/fontawesome/webfonts/fa-solid-900.woff2) format("woff2"),'
       'url(../vendor/fontawesome/webfonts/fa-solid-900.ttf) format("truetype")}')


def site(tmp_path: Path) -> Path:
    (tmp_path / "_static" / "styles").mkdir(parents=True)
    (tmp_path / lighter_pages.THEME_CSS).write_text(CSS)
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "page.html").write_text('<i class="fa-solid fa-bars"></i><i class="fa-brands fa-github"></i>')
    fonts = tmp_path / lighter_pages.FONT_FOLDER
    fonts.mkdir(parents=True)
    shutil.copy2(THEME_STATIC / "vendor" / "fontawesome" / "webfonts" / "fa-solid-900.woff2", fonts)
    return tmp_path


def test_code_points_are_the_icons_a_page_names_and_the_css_draws(tmp_path):
    points = lighter_pages.icon_code_points(site(tmp_path))
    assert points == {0xF0C9, 0xF09B, 0xF0EB}  # bars, github, the admonition's icon; not the rocket


def test_subset_fonts_keep_those_icons_and_are_declared_after_the_theme(tmp_path):
    outdir = site(tmp_path)
    saved = lighter_pages.write_subset_fonts(outdir, {0xF0C9, 0xF0EB})
    subset = outdir / lighter_pages.SUBSET_FOLDER / "fa-solid-900.woff2"
    original = outdir / lighter_pages.FONT_FOLDER / "fa-solid-900.woff2"
    assert saved == original.stat().st_size - subset.stat().st_size > 100_000
    assert set(TTFont(subset).getBestCmap()) == {0xF0C9, 0xF0EB}
    css = (outdir / lighter_pages.SUBSET_FOLDER / "fonts.css").read_text()
    assert "font-family:Font Awesome\\ 6 Free;font-style:normal;font-weight:900;" in css
    assert 'src:url(fa-solid-900.woff2) format("woff2")' in css


def test_pages_lose_the_icon_script_and_the_search_index_but_search_keeps_it():
    page = ('<script defer src="../_static/scripts/fontawesome.js?digest=55c2"></script>\n'
            '    <script src="../_static/searchtools.js"></script>\n'
            '    <script src="../searchindex.js"></script>\n<p>text</p>')
    lighter = lighter_pages.SEARCH_SCRIPT_TAGS.sub("", lighter_pages.ICON_SCRIPT_TAG.sub("", page))
    assert lighter == "\n<p>text</p>"
