"""`python -m gapbench ...` = the `gapbench` command (what the Snakemake rules run, with src/ on PYTHONPATH)."""

import sys

from gapbench.cli import main

sys.exit(main())
