"""Emit each ``<script>`` of a page once.

``sphinx-thebe`` (loaded by Jupyter Book on every page) adds its inline configuration script,
``const THEBE_JS_URL = ...``, with ``app.add_js_file`` from the ``env-before-read-docs`` event.
Jupyter Book's build fires that event more than once, and the copies differ only in how they
spell "no file" (``None`` and ``""``), so Sphinx keeps both. The second ``const`` declaration
then throws ``SyntaxError: Identifier 'THEBE_JS_URL' has already been declared`` in the reader's
console on every page (``make site-check`` fails on console errors). This extension drops a
script that repeats one already on the page: a file script by its file name, an inline one by its
body. The first copy wins, so the order of the scripts is unchanged.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def _script_key(script: Any) -> tuple[str, str]:
    filename = getattr(script, "filename", None)
    if filename:
        return ("file", str(filename))
    return ("inline", getattr(script, "attributes", {}).get("body", ""))


def _drop_repeated_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, str]] = set()
    unique = []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", _drop_repeated_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
