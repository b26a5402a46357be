"""Make every page of the site lighter without changing what a reader sees.

The theme (pydata-sphinx-theme, under sphinx-book-theme) makes each page load three things it
does not need here:

- ``_static/scripts/fontawesome.js`` (1.4 MB): Font Awesome's JavaScript, which turns each ``<i
  class="fa-...">`` icon into an inline SVG and lets a site add custom icons. The theme's style
  sheet already contains Font Awesome's own CSS and web fonts, which draw the same icons from the
  ``<i>`` elements, and we add no custom icons: the script is left out of the pages.
- the Font Awesome web fonts (about 270 kB for the two a page loads), with some 2,000 icons each.
  Copies cut down to the icons the site uses (every ``fa-<name>`` that appears in a page or a theme
  script, and every icon the theme's style sheet draws by code point, for admonitions for example)
  are declared after the theme's fonts in ``_static/fa-subset/fonts.css``, so the browser loads
  them instead.
- Sphinx's search index (``searchindex.js``, about 100 kB and growing with the book) and its search
  scripts, on every page, for the theme's "search as you type", which this site leaves off: the
  search box sends the reader to ``search.html``, which still loads them.

- the theme's and extensions' scripts in ``<head>`` (``doctools``, ``copybutton``, ``togglebutton``
  and the like), loaded one after another before the page can show anything, although each only
  acts once the page is read: they are marked ``defer``, so they still run in the same order, before
  ``DOMContentLoaded``, but after the first paint (:func:`defer_scripts`; not on ``search.html``,
  whose index script calls the search code as soon as it loads).
- the plots' full-colour PNGs (``_images/*.png``, high-resolution for sharp screens): a plot has
  flat fills, lines and antialiased edges in a few thousand colours, which a 256-colour palette
  (median cut, no dithering) holds with every pixel within a few levels of the original, at about
  a quarter of the size. An image is replaced only when the palette copy is smaller and faithful
  (:func:`palette_png`); an image with transparency is left alone.

All of it happens when the build finishes, in the built pages and in new files: the files Sphinx
copies from the theme are never modified, so a second build overwrites nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

FONT_FOLDER = Path("_static") / "vendor" / "fontawesome" / "webfonts"
SUBSET_FOLDER = Path("_static") / "fa-subset"
SUBSET_CSS = "fa-subset/fonts.css"
THEME_CSS = Path("_static") / "styles" / "pydata-sphinx-theme.css"
THEME_SCRIPTS = (Path("_static") / "scripts" / "pydata-sphinx-theme.js",
                 Path("_static") / "scripts" / "sphinx-book-theme.js")
ICON_NAME = re.compile(r"\bfa-([a-z0-9-]+)")
# One rule of Font Awesome's CSS, e.g. `.fa-bars:before,.fa-navicon:before{content:"\f0c9"}`.
ICON_RULE = re.compile(r"((?:\.fa-[a-z0-9-]+:{1,2}before,?)+)\{content:\"\\([0-9a-f]{4,5})\"")
# Code points the theme's CSS uses outside `.fa-*` rules (admonition icons and the like).
PRIVATE_CODE_POINT = re.compile(r"\"\\(f[0-9a-f]{3})\"")
# The theme's @font-face rules, e.g. `@font-face{font-display:block;font-family:Font Awesome\ 6
# Free;font-style:normal;font-weight:900;src:url(../vendor/fontawesome/webfonts/fa-solid-900.woff2) ...}`.
FONT_FACE = re.compile(r"@font-face\{([^}]*?)src:url\(\.\./vendor/fontawesome/webfonts/([\w-]+)\.woff2\)[^}]*\}")
ICON_SCRIPT_TAG = re.compile(r'\s*<script defer src="[^"]*_static/scripts/fontawesome\.js[^"]*"></script>')
BLOCKING_SCRIPT_TAG = re.compile(r'<script((?: data-[\w-]+="[^"]*")*) src="([^"]*_static/[^"]*)"></script>')
SEARCH_SCRIPT_TAGS = re.compile(
    r'\s*<script src="[^"]*(?:_static/searchtools\.js|_static/language_data\.js|searchindex\.js)"></script>')


def _pages(outdir: Path) -> list[Path]:
    return sorted(p for p in outdir.rglob("*.html") if "_static" not in p.parts)


def icon_code_points(outdir: Path) -> set[int]:
    """The Font Awesome code points the site can show: icons named in its pages and theme scripts,
    and icons the theme's CSS draws by code point."""
    css = (outdir / THEME_CSS).read_text(encoding="utf-8")
    by_name: dict[str, int] = {}
    for selectors, code in ICON_RULE.findall(css):
        for name in re.findall(r"\.fa-([a-z0-9-]+):", selectors):
            by_name[name] = int(code, 16)
    names: set[str] = set()
    for path in [*_pages(outdir), *(outdir / s for s in THEME_SCRIPTS)]:
        if path.is_file():
            names.update(ICON_NAME.findall(path.read_text(encoding="utf-8", errors="replace")))
    outside_icon_rules = ICON_RULE.sub("", css)
    points = {by_name[n] for n in names if n in by_name}
    points.update(int(code, 16) for code in PRIVATE_CODE_POINT.findall(outside_icon_rules))
    return points


def write_subset_fonts(outdir: Path, code_points: set[int]) -> int:
    """Write cut-down copies of the theme's Font Awesome fonts and the CSS that declares them.

    Returns the bytes a page saves when it loads every font (the sizes of the originals minus the
    copies').
    """
    from fontTools import subset

    css = (outdir / THEME_CSS).read_text(encoding="utf-8")
    target = outdir / SUBSET_FOLDER
    target.mkdir(parents=True, exist_ok=True)
    rules, saved = [], 0
    for descriptors, name in FONT_FACE.findall(css):
        original = outdir / FONT_FOLDER / f"{name}.woff2"
        options = subset.Options()
        options.flavor = "woff2"
        font = subset.load_font(str(original), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=code_points)
        subsetter.subset(font)
        subset.save_font(font, str(target / f"{name}.woff2"), options)
        saved += original.stat().st_size - (target / f"{name}.woff2").stat().st_size
        rules.append(f'@font-face{{{descriptors}src:url({name}.woff2) format("woff2")}}')
    if not rules:
        raise RuntimeError(f"lighter_pages: no Font Awesome @font-face rule found in {THEME_CSS}")
    (target / "fonts.css").write_text("/* Font Awesome's fonts, cut down to the icons this site shows "
                                      "(_ext/lighter_pages.py). */\n" + "\n".join(rules) + "\n")
    return saved


def defer_scripts(html: str) -> str:
    """``html`` with every script that blocks rendering from ``_static/`` marked ``defer`` (same order)."""
    return BLOCKING_SCRIPT_TAG.sub(r'<script defer\1 src="\2"></script>', html)


def palette_png(path: Path, tolerance: int = 12) -> int:
    """Rewrite an opaque RGB(A) PNG with a 256-colour palette if that is smaller and faithful.

    Faithful: at most one pixel in a thousand differs from the original by more than
    ``tolerance`` levels (of 255) in any channel. Returns the bytes saved (0 if left alone).
    """
    import io

    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        if image.mode not in ("RGB", "RGBA"):
            return 0
        pixels = np.asarray(image.convert("RGBA"))
    if pixels[..., 3].min() < 255:
        return 0
    original = pixels[..., :3]
    palette = Image.fromarray(original).quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    error = np.abs(np.asarray(palette.convert("RGB"), dtype=np.int16) - original).max(axis=-1)
    if np.mean(error > tolerance) > 1e-3:
        return 0
    buffer = io.BytesIO()
    palette.save(buffer, "PNG", optimize=True)
    saved = path.stat().st_size - buffer.tell()
    if saved <= 0:
        return 0
    path.write_bytes(buffer.getvalue())
    return saved


def _lighten(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.name != "html":
        return
    if app.config.html_theme_options.get("search_as_you_type"):
        raise RuntimeError("lighter_pages: search_as_you_type is on, so every page needs the search index")
    outdir = Path(app.outdir)
    saved = (outdir / "_static" / "scripts" / "fontawesome.js").stat().st_size
    saved += write_subset_fonts(outdir, icon_code_points(outdir))
    for page in _pages(outdir):
        html = page.read_text(encoding="utf-8")
        lighter = ICON_SCRIPT_TAG.sub("", html)
        if page.name != "search.html":  # the search page's index script runs at once: leave its order
            lighter = defer_scripts(SEARCH_SCRIPT_TAGS.sub("", lighter))
        if lighter != html:
            page.write_text(lighter, encoding="utf-8")
    images = sum(palette_png(png) for png in sorted((outdir / "_images").glob("*.png")))
    logger.info(f"lighter_pages: {saved / 1024:.0f} KiB less for every page, no search index outside "
                f"search.html, {images / 1024:.0f} KiB less in plots")


def setup(app: Sphinx) -> dict:
    app.add_css_file(SUBSET_CSS)
    app.connect("build-finished", _lighten)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
