"""How numpy scalars show in a notebook: as the Python numbers they hold.

numpy 2 writes a scalar as ``np.float64(0.25)``. In a notebook that text is what a cell ending in
a scalar shows, and what ``myst_nb.glue`` stores for the book to paste: a role such as
``{glue:text}`key:.2f``` cannot format it (myst-nb reads the stored text back as a Python literal,
and ``np.float64(0.25)`` is not one), so the site build stops on a warning. When ``minigrad`` is
imported in a running IPython kernel, :func:`show_numpy_scalars_plainly` registers a plain-text
formatter that shows ``0.25`` instead, for every numeric numpy scalar type (and booleans). Outside IPython it does
nothing, and it never imports IPython itself.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

__all__ = ["show_numpy_scalars_plainly"]


def _plain(value: np.generic, printer: Any, cycle: bool) -> None:
    printer.text(repr(value.item()))


def show_numpy_scalars_plainly() -> bool:
    """Show numpy scalars as Python numbers in the running IPython kernel; returns whether there was one."""
    ipython_module = sys.modules.get("IPython")
    shell = ipython_module.get_ipython() if ipython_module is not None else None
    if shell is None:
        return False
    formatter = shell.display_formatter.formatters["text/plain"]
    for scalar_type in set(np.sctypeDict.values()):  # each concrete type: its own __repr__ would come first
        if issubclass(scalar_type, (np.number, np.bool_)):
            formatter.for_type(scalar_type, _plain)
    return True
