"""``python -m minigrad.grading NOTEBOOK...``: the same as the ``minigrad-grade`` command."""

import sys

from minigrad.grading.cli import main

sys.exit(main())
