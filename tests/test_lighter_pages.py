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


def _plot_png(path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    figure, axes = plt.subplots(figsize=(4, 3), dpi=150)
    x = np.linspace(0, 6, 200)
    for shift in range(4):
        axes.plot(x, np.sin(x + shift), label=f"run {shift}")
    axes.fill_between(x, -0.2, 0.2, alpha=0.3)
    axes.legend()
    figure.savefig(path)
    plt.close(figure)


def test_a_plot_gets_a_faithful_palette_and_shrinks(tmp_path):
    import numpy as np
    from PIL import Image

    path = tmp_path / "plot.png"
    _plot_png(path)
    before, original = path.stat().st_size, np.asarray(Image.open(path).convert("RGB"), dtype=int)
    saved = lighter_pages.palette_png(path)
    assert saved > 0 and path.stat().st_size == before - saved and saved > before / 3
    with Image.open(path) as image:
        assert image.mode == "P" and image.size == (600, 450)
        error = np.abs(np.asarray(image.convert("RGB"), dtype=int) - original).max(axis=-1)
    assert np.mean(error > 12) <= 1e-3


def test_images_a_palette_would_spoil_are_left_alone(tmp_path):
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    noise = tmp_path / "noise.png"  # a photograph-like image: thousands of unrelated colours
    Image.fromarray(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)).save(noise)
    clear = tmp_path / "clear.png"  # transparency the page shows through
    pixels = np.zeros((20, 20, 4), dtype=np.uint8)
    pixels[..., 3] = 128
    Image.fromarray(pixels).save(clear)
    for path in (noise, clear):
        before = path.read_bytes()
        assert lighter_pages.palette_png(path) == 0 and path.read_bytes() == before


def test_scripts_that_block_the_first_paint_are_deferred_in_order():
    head = ('<script src="../_static/documentation_options.js?v=1"></script>'
            '<script>let toggleHintShow = "show";</script>'
            '<script data-sd-tabs-storage-prefix="tab-" src="../_static/design-tabs.js"></script>'
            '<script async="async" src="../_static/sphinx-thebe.js"></script>'
            '<script defer src="../_static/mathjax/startup.js"></script>'
            '<script src="https://example.org/x.js"></script>')
    deferred = lighter_pages.defer_scripts(head)
    assert deferred == ('<script defer src="../_static/documentation_options.js?v=1"></script>'
                        '<script>let toggleHintShow = "show";</script>'
                        '<script defer data-sd-tabs-storage-prefix="tab-" src="../_static/design-tabs.js"></script>'
                        '<script async="async" src="../_static/sphinx-thebe.js"></script>'
                        '<script defer src="../_static/mathjax/startup.js"></script>'
                        '<script src="https://example.org/x.js"></script>')
