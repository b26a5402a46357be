"""``python -m minigrad.grading NOTEBOOK...``: the same as the ``minigrad-grade`` command."""

import sys

from minigrad.grading.cli import main

if __name__ == "__main__":  # the grader's child processes import this module again: they must not grade
    sys.exit(main())
