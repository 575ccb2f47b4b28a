"""Writing tables as CSV (for machines) and Markdown (for people), atomically, with uniform cell formats.

Cell conventions, the same in every table:
* a summary over seeds is ``mean ± std (n=k)`` (mean to 4, std to 2 significant digits); ``(n=k/K !)`` when
  only k of the K configured seeds are usable (a partial mean, flagged); ``missing (0/K)`` when none is (or the
  runs' own status, e.g. ``diverged (0/K)``); a single seed has no std: ``mean (n=1)``.
* a difference carries its test's mark: ``*`` significant, ``(ns)`` not significant, ``(n/t)`` not testable.
CSV columns for a summary ``m``: ``m_mean, m_std, m_n, m_n_expected, m_flag`` (flag: '', partial, missing);
for a test ``d``: ``d, d_p, d_ci_low, d_ci_high, d_significant`` (true/false/empty = not testable).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from gapbench.tables.stats import Summary, TestResult


def fmt(x, digits: int = 4) -> str:
    """Numbers with ``digits`` significant digits; None -> ''; other values as text."""
    if x is None:
        return ""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return f"{x:.{digits}g}"
    return str(x)


def fmt_summary(s: Summary, status: str = "missing") -> str:
    """``status`` names a cell without usable seeds (e.g. 'diverged' when the runs said so)."""
    if s.n == 0:
        return f"{status} (0/{s.n_expected})"
    n = f"n={s.n}" if s.n == s.n_expected else f"n={s.n}/{s.n_expected} !"
    if s.std is None:
        return f"{fmt(s.mean)} ({n})"
    return f"{fmt(s.mean)} ± {fmt(s.std, 2)} ({n})"


def fmt_test(t: TestResult | None) -> str:
    if t is None or t.estimate is None:
        return ""
    return f"{t.estimate:+.3g} {t.mark()}"


def summary_cols(prefix: str, s: Summary) -> dict:
    return {f"{prefix}_mean": s.mean, f"{prefix}_std": s.std, f"{prefix}_n": s.n,
            f"{prefix}_n_expected": s.n_expected, f"{prefix}_flag": s.flag}


def test_cols(prefix: str, t: TestResult | None) -> dict:
    if t is None:
        return {prefix: None, f"{prefix}_p": None, f"{prefix}_ci_low": None, f"{prefix}_ci_high": None,
                f"{prefix}_significant": None}
    return {prefix: t.estimate, f"{prefix}_p": t.p_value, f"{prefix}_ci_low": t.ci_low,
            f"{prefix}_ci_high": t.ci_high, f"{prefix}_significant": t.significant}


def csv_text(rows: list[dict], columns: list[str] | None = None) -> str:
    """CSV of ``rows``; columns: ``columns`` or the union of the rows' keys in first-seen order."""
    if columns is None:
        columns = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: _csv_value(r.get(k)) for k in columns})
    return buf.getvalue()


def _csv_value(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, dict):
        return ";".join(f"{k}={_csv_value(x)}" for k, x in v.items())
    return str(v)


def md_table(headers: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured Markdown table ('|' in cells escaped)."""
    def esc(c) -> str:
        return str(c).replace("|", "\\|")

    lines = ["| " + " | ".join(esc(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) atomically (:func:`gapbench.outputs.atomic_write`)."""
    from gapbench.outputs import atomic_write_bytes

    atomic_write_bytes(path, text.encode())


def missing_section(runs) -> str:
    """Markdown list of the runs that are missing or unusable, with the reason."""
    if not runs:
        return ""
    lines = [f"\n**Missing or unusable runs ({len(runs)})** - their cells are marked above:\n"]
    lines += [f"- `{r.path}`: {r.reason}" for r in sorted(runs, key=lambda r: str(r.path))]
    return "\n".join(lines) + "\n"
