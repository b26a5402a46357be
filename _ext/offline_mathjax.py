"""Serve MathJax 3 from the site itself, so that every page typesets its math offline.

MathJax is installed from npm (``package.json``) into ``node_modules/mathjax``, a folder outside
``_static/``: Jupyter Book adds every ``.js`` file under the book's ``_static/`` as a script tag on
every page, which would load dozens of MathJax components by hand. This extension points Sphinx's
``mathjax_path`` at MathJax's loader in a copy inside the built site, tells the loader which
components to fetch, and makes that copy when the build finishes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError

MATHJAX_SCRIPT = "startup.js"
# What a page loads: MathJax's loader, which then fetches its core, TeX input (with the extensions
# it autoloads), CommonHTML output with its fonts, and the hidden MathML that screen readers read.
# The combined `tex-chtml.js` would also bring the right-click menu, 0.4 MB on every page.
COMPONENTS = ["input/tex", "output/chtml", "a11y/assistive-mml"]
MATHJAX_PARTS = (MATHJAX_SCRIPT, "core.js", "input", "output", "a11y", "adaptors")
SITE_FOLDER = "mathjax"  # under _static/ in the built site


def _mathjax_source(app: Sphinx) -> Path:
    return Path(app.confdir) / "node_modules" / "mathjax" / "es5"


def _point_sphinx_at_local_copy(app: Sphinx, config: Config) -> None:
    source = _mathjax_source(app)
    if not (source / MATHJAX_SCRIPT).is_file():
        raise ExtensionError(
            f"MathJax not found at {source}: run `npm ci` (the Makefile's `make book` does this)."
        )
    # A relative mathjax_path is resolved against _static/ of the built site.
    config.mathjax_path = f"{SITE_FOLDER}/{MATHJAX_SCRIPT}"
    config.mathjax3_config = {**(config.mathjax3_config or {}), "loader": {"load": COMPONENTS}}


def _copy_into_site(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    source = _mathjax_source(app)
    target = Path(app.outdir) / "_static" / SITE_FOLDER
    for part in MATHJAX_PARTS:
        origin = source / part
        if origin.is_dir():
            shutil.copytree(origin, target / part, dirs_exist_ok=True)
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target / part)


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _point_sphinx_at_local_copy)
    app.connect("build-finished", _copy_into_site)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
