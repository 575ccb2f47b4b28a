"""The Snakemake flags of the current run, for recovery hints that act on the same workflow, config and profile.

A hint such as "add --keep-going" or "build the tables with allow_missing" is only right when it repeats the
run's ``--snakefile``, ``--directory``, ``--configfile``, ``--config`` overrides and ``--profile``: without them
Snakemake falls back to ``./Snakefile`` and ``config.yaml`` and would run, or overwrite, another config's jobs.
Paths are written as the user's shell sees them: relative to the directory Snakemake was started in (with
``--directory`` the shell's ``$PWD``, which Snakemake's chdir does not change), absolute when outside it.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from pathlib import Path

# Flags copied from the command line with their value (both `--flag VALUE` and `--flag=VALUE`).
KEPT = ("--profile", "--workflow-profile", "--directory", "-d", "--snakefile", "-s", "--cores", "-c", "--jobs",
        "-j")
PATHS = ("--profile", "--workflow-profile", "--directory", "-d", "--snakefile", "-s")  # values that are paths
CONFIG = ("--config", "-C")  # KEY=VALUE overrides, any number after the flag


def started_in(argv: Sequence[str] = ()) -> Path:
    """The directory Snakemake was started in: the working directory, or with ``--directory``/``-d`` in ``argv``
    (which chdirs the process) the shell's ``$PWD``, which the chdir leaves as it was."""
    moved = any(a.partition("=")[0] in ("--directory", "-d") for a in argv)
    pwd = os.environ.get("PWD")
    return Path(pwd) if moved and pwd and Path(pwd).is_dir() else Path(os.getcwd())


def _as_seen(path: str | Path, cwd: Path, base: Path) -> str:
    """``path`` (relative to ``base`` unless absolute) written relative to ``cwd`` when inside it, else absolute."""
    full = (base / path).resolve()
    try:
        return str(full.relative_to(cwd.resolve()))
    except ValueError:
        return str(full)


def config_overrides(argv: Sequence[str]) -> list[str]:
    """The ``KEY=VALUE`` items of every ``--config``/``-C`` of ``argv``, in order."""
    items: list[str] = []
    args = list(argv)
    i = 0
    while i < len(args):
        name, eq, value = args[i].partition("=")
        if name in CONFIG:
            if eq:
                items.append(value)
            j = i + 1
            while j < len(args) and not args[j].startswith("-") and "=" in args[j]:
                items.append(args[j])
                j += 1
            i = j
            continue
        i += 1
    return items


def rerun_flags(argv: Sequence[str], configfiles: Sequence[str | Path] = (), cwd: str | Path | None = None,
                extra_config: Sequence[str] = (), workdir: str | Path | None = None) -> str:
    """`` --snakefile S --configfile F... --config K=V... --profile P ...`` of this run (each value shell-quoted;
    "" when there are none).

    ``configfiles``: Snakemake's ``workflow.overwrite_configfiles`` (absolute paths of ``--configfile``, also those
    a profile sets). ``cwd``: where the user's shell is (default :func:`started_in`); ``workdir``: the directory the
    command line's relative paths are relative to (default ``cwd``). ``extra_config``: ``KEY=VALUE`` items
    appended to the run's own ``--config`` (one ``--config`` flag: a second would replace the first).
    """
    cwd = Path(cwd) if cwd is not None else started_in(argv)
    base = Path(workdir) if workdir is not None else cwd
    flags: list[str] = []
    args = list(argv)
    for i, arg in enumerate(args):
        name, eq, value = arg.partition("=")
        if name in KEPT:
            value = value if eq else (args[i + 1] if i + 1 < len(args) else "")
            counted = name in ("--cores", "-c", "--jobs", "-j")
            if value and not value.startswith("-") and (not counted or value.isdigit() or value == "all"):
                if name in PATHS and (name not in ("--profile", "--workflow-profile") or (base / value).exists()):
                    value = _as_seen(value, cwd, base)
                flags += [name, value]
    if configfiles:
        flags += ["--configfile", *(_as_seen(f, cwd, base) for f in configfiles)]
    overrides = [*config_overrides(args), *extra_config]
    if overrides:
        flags += ["--config", *overrides]
    return "".join(" " + shlex.quote(f) for f in flags)


# Written by the workflow's `onerror` (relative to Snakemake's working directory), removed by `onsuccess`.
FAILED_RUN = Path("results/logs/failed_run.txt")
# Always written by the tables rule: its time is the tables' time.
TABLES_STAMP = Path("results/tables/missing.csv")


def record_failure(hint: str, root: str | Path = ".") -> None:
    """Note that a run failed, with the recovery ``hint`` (read by :func:`report_refusal`)."""
    from gapbench.outputs import atomic_write_bytes

    atomic_write_bytes(Path(root) / FAILED_RUN, hint.encode())


def clear_failure(root: str | Path = ".") -> None:
    (Path(root) / FAILED_RUN).unlink(missing_ok=True)


def report_refusal(argv: Sequence[str], root: str | Path = ".") -> str | None:
    """For ``snakemake --report``: why the tables must not be packaged (a run failed after they were built, so
    they may hold an earlier config's results), or None when they may."""
    if not any(a == "--report" or a.startswith("--report=") for a in argv):
        return None
    failed, stamp = Path(root) / FAILED_RUN, Path(root) / TABLES_STAMP
    if not failed.is_file():
        return None
    if stamp.is_file() and stamp.stat().st_mtime > failed.stat().st_mtime:
        return None
    return (f"gapbench: refusing --report: the last run failed after the tables in results/tables were built, so "
            f"they may hold an earlier config's results ({FAILED_RUN}). Finish the run or build the tables from what "
            f"exists, then ask for the report again: {' '.join(failed.read_text().split())}")
