"""The Snakemake flags of the current run, for recovery hints that act on the same config and profile.

A hint such as "add --keep-going" or "build the tables with allow_missing" is only right when it repeats the
run's ``--configfile``, ``--profile`` and working directory: without them Snakemake falls back to
``config.yaml`` and would run, or overwrite, the default config's jobs.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from pathlib import Path

# Flags copied from the command line with their value (both `--flag VALUE` and `--flag=VALUE`).
KEPT = ("--profile", "--workflow-profile", "--directory", "-d", "--cores", "-c", "--jobs", "-j")


def rerun_flags(argv: Sequence[str], configfiles: Sequence[str | Path] = (), cwd: str | Path | None = None) -> str:
    """`` --configfile F... --profile P ...`` of this run (each value shell-quoted; "" when there are none).

    ``configfiles``: Snakemake's ``workflow.overwrite_configfiles`` (absolute paths of ``--configfile``, also
    those a profile sets); written relative to ``cwd`` when inside it.
    """
    cwd = Path(cwd or os.getcwd())
    flags: list[str] = []
    args = list(argv)
    for i, arg in enumerate(args):
        name, eq, value = arg.partition("=")
        if name in KEPT:
            value = value if eq else (args[i + 1] if i + 1 < len(args) else "")
            counted = name in ("--cores", "-c", "--jobs", "-j")
            if value and not value.startswith("-") and (not counted or value.isdigit() or value == "all"):
                flags += [name, value]
    files = []
    for f in configfiles:
        path = Path(f)
        try:
            path = path.resolve().relative_to(cwd.resolve())
        except ValueError:
            pass
        files.append(str(path))
    if files:
        flags += ["--configfile", *files]
    return "".join(" " + shlex.quote(f) for f in flags)
