"""minigrad.display: numpy scalars shown, and glued, as plain Python numbers in a notebook."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from minigrad.display import show_numpy_scalars_plainly


def test_outside_ipython_nothing_is_registered():
    code = "import minigrad, sys; from minigrad.display import show_numpy_scalars_plainly as s; " \
           "print(s(), 'IPython' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]  # nothing registered, and IPython never imported


def test_in_a_kernel_numpy_scalars_show_as_python_numbers():
    interactive = pytest.importorskip("IPython.core.interactiveshell")
    shell = interactive.InteractiveShell.instance()
    try:
        assert show_numpy_scalars_plainly() is True
        formatter = shell.display_formatter.formatters["text/plain"]
        assert formatter(np.float64(0.25)) == "0.25" and formatter(np.int64(3)) == "3"
        assert formatter(np.bool_(True)) == "True" and formatter(np.float32(0.5)) == "0.5"
        assert float(formatter(np.float64(1) / 3)) == 1 / 3  # every digit kept: a format spec applies later
    finally:
        interactive.InteractiveShell.clear_instance()
