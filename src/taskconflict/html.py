"""Standalone styled HTML pages for the report's tables.

The Snakemake report shows each HTML output in its own iframe, where no stylesheet of the
report reaches: every file must be a complete document carrying its CSS inline. One small
stylesheet serves all of them so the tables, the comparison and the analyses look alike.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

CSS = """\
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
       margin: 0.8rem; line-height: 1.35; }
h1, h2, h3 { font-size: 1.1rem; margin: 0.3rem 0 0.4rem; }
h3 { font-size: 1rem; margin-top: 1.2rem; }
p, ul { max-width: 62rem; }
.provenance { color: #444; }
.banner { border: 1px solid #c99700; background: #fff6d5; padding: 0.4rem 0.6rem;
          max-width: 62rem; }
.muted { color: #777; }
.legend { color: #444; font-size: 0.85rem; padding-left: 1.2rem; }
.scroll { overflow-x: auto; max-width: 100%; }
table.tc { border-collapse: collapse; font-size: 0.85rem; margin: 0.4rem 0; }
table.tc th, table.tc td { border: 1px solid #c8c8c8; padding: 0.25rem 0.45rem;
                           vertical-align: top; }
table.tc thead th { background: #f0f0f0; text-align: center; vertical-align: bottom;
                    white-space: nowrap; position: sticky; top: 0; z-index: 2; }
table.tc tbody th { text-align: left; font-weight: 600; white-space: nowrap;
                    background: #f8f8f8; position: sticky; left: 0; z-index: 1; }
table.tc td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
table.tc td .line { display: block; white-space: nowrap; }
table.tc td .paper { color: #777; font-size: 0.85em; }
table.tc td.at-floor { background: #fff1e0; }
.flag { color: #a34d00; font-weight: 600; white-space: nowrap; }
"""
"""Borders, centred headers, right-aligned tabular numbers that never wrap, a sticky row-name
column, a muted paper line and a flag colour for at-floor cells."""


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def number(value: float, fmt: str) -> str:
    """A number of a page's table, "–" where there is none (NaN)."""
    return format(value, fmt) if math.isfinite(value) else "–"


def page(title: str, body: str) -> str:
    """A complete HTML document (doctype, charset, title, inline CSS) around `body` markup."""
    return ("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{esc(title)}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n"
            f"{body.rstrip()}\n</body>\n</html>\n")


@dataclass(frozen=True)
class Td:
    """A data cell given as ready markup (its parts escaped by the caller), with classes."""

    markup: str
    classes: str = ""


def table(header: Sequence[str], rows: Iterable[Sequence[str | Td]],
          numeric: Iterable[int] = ()) -> str:
    """A table of class "tc": `header` and plain-text cells are escaped here, `Td` cells are
    markup; the first cell of a row is its name (a sticky row header); columns `numeric`
    (indices) are right-aligned and never wrap."""
    numeric = set(numeric)
    out = ["<div class=\"scroll\">", "<table class=\"tc\">",
           "<thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr></thead>",
           "<tbody>"]
    for cells in rows:
        name, *rest = cells
        line = [f"<th scope=\"row\">{name.markup if isinstance(name, Td) else esc(name)}</th>"]
        for i, cell in enumerate(rest, start=1):
            if isinstance(cell, Td):
                classes, markup = cell.classes, cell.markup
            else:
                classes, markup = "", esc(cell)
            if i in numeric:
                classes = f"num {classes}".strip()
            attr = f" class=\"{classes}\"" if classes else ""
            line.append(f"<td{attr}>{markup}</td>")
        out.append("<tr>" + "".join(line) + "</tr>")
    out += ["</tbody>", "</table>", "</div>"]
    return "\n".join(out) + "\n"
