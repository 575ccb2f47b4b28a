"""What the tables rule reads (workflow/rules/tables.smk): the expected metrics files and omega_f tables.

Stdlib only: imported when Snakemake parses the workflow.
"""

from __future__ import annotations

from pathlib import Path


class Listed(list):
    """A list of paths that prints as its count. The HTML report shows a job's params on every item's page, and
    the tables rule's expected files number ~1,600 at paper scale; the shell still gets every path (``:q`` quotes
    each element) and Snakemake's params check still compares the whole list (it uses ``repr``)."""

    def __str__(self) -> str:
        return f"<{len(self)} expected metrics files>"


def expected_metrics(*target_lists) -> Listed:
    """The metrics.json files among the training stage's targets, in order, without repeats."""
    return Listed(dict.fromkeys(str(p) for targets in target_lists for p in targets if str(p).endswith("metrics.json")))


def expected_omega_f(metrics: list[str], data_dir: str = "results/data") -> list[str]:
    """The data stage's ``{data_dir}/pde/{eq}/{law}/nu{nu}/omega_f.csv`` of every PDE dataset among ``metrics``."""
    out = []
    for p in metrics:
        parts = Path(p).parts
        for i in range(len(parts) - 4):
            if parts[i : i + 2] == ("train", "pde"):
                out.append(str(Path(data_dir, "pde", *parts[i + 2 : i + 5], "omega_f.csv")))
                break
    return sorted(set(out))


def rule_inputs(metrics: list[str], allow_missing: bool, data_dir: str = "results/data") -> list[str]:
    """The tables rule's inputs: every expected file; with ``allow_missing`` only those that exist now."""
    files = metrics + expected_omega_f(metrics, data_dir)
    if allow_missing:
        return [p for p in files if Path(p).exists()]
    return files
