"""HTML pages of the tables and claims, for the Snakemake report (a browser shows them inside the report; it shows
neither Markdown nor CSV there).

:func:`markdown_page` renders the Markdown this package writes (headings ``#``..``###``, paragraphs, ``|`` tables
with a header row, ``-``/``*`` lists, inline `` `code` ``, ``**bold**``, ``*italic*`` and ``<br>`` inside cells);
:func:`csv_page` renders a CSV file as one table. Both return a self-contained page (inline style, no scripts), every
text escaped.
"""

from __future__ import annotations

import csv
import html
import io
import re

STYLE = ("body{font-family:sans-serif;font-size:14px;margin:1em;max-width:80em}"
         "table{border-collapse:collapse;margin:0.5em 0 1em}"
         "th,td{border:1px solid #bbb;padding:2px 6px;text-align:left;vertical-align:top}"
         "th{background:#eee}code{background:#f4f4f4}")
_INLINE = ((re.compile(r"`([^`]+)`"), r"<code>\1</code>"), (re.compile(r"\*\*([^*]+)\*\*"), r"<b>\1</b>"),
           (re.compile(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])"), r"<i>\1</i>"))


def inline(text: str) -> str:
    """Escape ``text`` and render its inline Markdown (code, bold, italic; ``<br>`` kept as a line break)."""
    parts = [html.escape(part, quote=False) for part in text.split("<br>")]
    out = "<br>".join(parts)
    for pattern, repl in _INLINE:
        out = pattern.sub(repl, out)
    return out


def _cells(line: str) -> list[str]:
    """The cells of a Markdown table row (``\\|`` is a literal bar)."""
    body = line.strip()[1:-1] if line.strip().endswith("|") else line.strip()[1:]
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", body)]


def _table(rows: list[list[str]], header: bool = True, escape=inline) -> str:
    head, body = (rows[0], rows[1:]) if header else (None, rows)
    out = ["<table>"]
    if head is not None:
        out.append("<tr>" + "".join(f"<th>{escape(c)}</th>" for c in head) + "</tr>")
    out += ["<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in body]
    return "\n".join(out + ["</table>"])


def page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")


def markdown_page(text: str, title: str) -> str:
    """A page of the Markdown ``text``."""
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif m := re.match(r"^(#{1,6})\s+(.*)$", line):
            level = min(len(m[1]), 3)
            out.append(f"<h{level}>{inline(m[2])}</h{level}>")
            i += 1
        elif line.lstrip().startswith("|"):
            rows = []
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                if not re.match(r"^\s*\|(\s*:?-+:?\s*\|)+\s*$", lines[i]):  # the separator row
                    rows.append(_cells(lines[i]))
                i += 1
            out.append(_table(rows))
        elif re.match(r"^\s*[-*]\s+", line):
            items = []
            while i < len(lines) and re.match(r"^\s*[-*]\s+", lines[i]):
                items.append(re.sub(r"^\s*[-*]\s+", "", lines[i]))
                i += 1
            out.append("<ul>" + "".join(f"<li>{inline(t)}</li>" for t in items) + "</ul>")
        else:
            para = []
            while (i < len(lines) and lines[i].strip() and not lines[i].lstrip().startswith(("|", "#"))
                   and not re.match(r"^\s*[-*]\s+", lines[i])):
                para.append(lines[i].strip())
                i += 1
            out.append(f"<p>{inline(' '.join(para))}</p>")
    return page(title, "\n".join(out))


def csv_page(text: str, title: str, note: str = "") -> str:
    """A page of the CSV ``text`` as one table (cells shown as written)."""
    rows = list(csv.reader(io.StringIO(text)))
    body = f"<h1>{html.escape(title)}</h1>\n" + (f"<p>{inline(note)}</p>\n" if note else "")
    body += _table(rows, escape=html.escape) if rows else "<p>(no rows)</p>"
    return page(title, body)
