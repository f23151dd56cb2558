"""The report stage: read the cells' outputs and write the tables, figures and the side-by-side
comparison with the paper."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from taskconflict import html as pages
from taskconflict.figures import FIGURES, cosine_heatmaps
from taskconflict.floors import column_floors
from taskconflict.grid import Cell
from taskconflict.io import atomic_path
from taskconflict.provenance import Provenance
from taskconflict.registry import benchmark_title
from taskconflict.tables import (
    AVG,
    FLOOR_MARK,
    TABLES,
    banner,
    build_table,
    column_display,
    heading,
    signed,
    write_table,
)


def read_metrics(path: str | Path) -> tuple[Cell, dict]:
    """A run's metrics.json, with the cell it names."""
    metrics = json.loads(Path(path).read_text(encoding="utf-8"))
    return Cell.from_id(metrics["cell"]), metrics


def _metrics(files: Sequence[str | Path]) -> list[tuple[Cell, dict]]:
    return [read_metrics(path) for path in files]


RUN_FILES: dict[str, Callable[[Path], object]] = {
    "conflict.parquet": pd.read_parquet,
    "train_log.parquet": pd.read_parquet,
    "metrics.json": lambda path: json.loads(path.read_text()),
}
"""How each run file a figure may draw is read."""


def write_table_files(number: int, benchmark: str, model: str,
                      metrics_files: Sequence[str | Path], stem: str | Path,
                      provenance: Provenance | None = None,
                      test_files: Sequence[str | Path] = ()) -> None:
    """Table `number` of `benchmark` as CSV, Markdown, LaTeX and HTML (for the report), its
    floors read from the benchmark's `test_files` (data/<benchmark>/<task>/<split>.parquet;
    none: accuracy floors unknown) and its captions told by `provenance` (narrowed to the
    table's benchmark)."""
    if number not in TABLES:
        raise ValueError(f"no Table {number}; tables: {', '.join(map(str, TABLES))}")
    spec = TABLES[number]
    if provenance is not None and benchmark in provenance.benchmarks:
        provenance = provenance.for_benchmarks((benchmark,))
    frame = build_table(spec, _metrics(metrics_files), benchmark, model,
                        floors=column_floors(test_files))
    write_table(frame, Path(stem), spec, provenance)


def figure_runs(number: int, run_files: Sequence[str | Path]) -> list[tuple]:
    """Figure `number`'s runs from its cells' files (any order): one `(cell, <file>, ...)`
    tuple per run folder, its files read in the order `FIGURES[number].files` names them.
    A file the figure does not draw, or a run without one it does, is an error."""
    if number not in FIGURES:
        raise ValueError(f"no Figure {number}; figures: {', '.join(map(str, FIGURES))}")
    spec = FIGURES[number]
    by_run: dict[str, tuple[Cell, dict[str, object]]] = {}
    for path in map(Path, run_files):
        if path.name not in spec.files:
            raise ValueError(f"Figure {number} draws the runs' {', '.join(spec.files)}, "
                             f"not {path}")
        cell = Cell.from_run_file(path)
        by_run.setdefault(cell.id, (cell, {}))[1][path.name] = RUN_FILES[path.name](path)
    runs = []
    for cell, files in by_run.values():
        missing = [name for name in spec.files if name not in files]
        if missing:
            raise ValueError(f"Figure {number} needs the {', '.join(missing)} of {cell.id} too")
        runs.append((cell, *(files[name] for name in spec.files)))
    return runs


def write_figure(number: int, run_files: Sequence[str | Path], png: str | Path,
                 pdf: str | Path, provenance: Provenance | None = None) -> None:
    """Figure `number` (`figures.FIGURES`) as PNG and PDF, from its runs' files, with the
    provenance's subtitle under its title (what its curves were computed from)."""
    FIGURES[number].draw(figure_runs(number, run_files), Path(png), Path(pdf),
                         provenance=provenance)


def write_cosines(conflict_file: str | Path, png: str | Path,
                  provenance: Provenance | None = None) -> None:
    """The cosine heatmaps of one run (its conflict.parquet), with the provenance subtitle."""
    cosine_heatmaps(Cell.from_run_file(conflict_file), pd.read_parquet(conflict_file), Path(png),
                    provenance=provenance)


COMPARISON_COLUMNS = ["table", "row", "task", "ours", "paper", "difference", "at_floor"]


def comparison(table_csvs: Sequence[str | Path]) -> pd.DataFrame:
    """Every cell of every table that the paper also reports: ours, the paper's, and the
    difference (ours - paper), in points; at_floor from the table (False where it has none)."""
    frames = []
    for path in table_csvs:
        frame = pd.read_csv(path)
        if "at_floor" not in frame:
            frame = frame.assign(at_floor=False)
        frames.append(frame.assign(table=Path(path).stem))  # e.g. table1_glue
    if not frames:
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    frame = pd.concat(frames, ignore_index=True)
    frame = frame[np.isfinite(frame["paper"])]
    out = frame.rename(columns={"mean": "ours"})[["table", "row", "task", "ours", "paper"]]
    out = out.assign(difference=out["ours"] - out["paper"],
                     at_floor=frame["at_floor"].astype(bool))
    return out.reset_index(drop=True)


def table_heading(stem: str) -> str:
    """"Table 1 — GLUE: <its title>" for table1_glue (the stem itself if it names none)."""
    match = re.fullmatch(r"table(\d+)_(\w+)", stem)
    if not match:
        return stem
    number, benchmark = match.groups()
    spec = TABLES.get(int(number))
    if spec is None:
        return f"Table {number} — {benchmark_title(benchmark)}"
    return heading(spec, benchmark_title(benchmark))


def write_comparison(table_csvs: Sequence[str | Path], out_md: str | Path,
                     provenance: Provenance | None = None,
                     out_html: str | Path | None = None) -> None:
    """Per table, our numbers and the paper's side by side: a Markdown page and, for the
    report (which shows HTML in an iframe and only offers Markdown as a download), the same
    as a standalone styled page. On a non-comparable run a banner at the top says the
    paper's numbers are for layout only."""
    frame = comparison(table_csvs)
    paper = provenance.paper_label() if provenance is not None else "paper"
    columns = ["row", "task", "ours", paper, "difference (points)"]
    title = "This run vs. the paper"
    intro = ("Scores ×100; difference = ours − paper, in points. Averages are recomputed from "
             f"the cells on both sides. {FLOOR_MARK} = our score is at its floor (within a few "
             "points of a trivial predictor's score on the test split; see the table's legend).")
    warning = banner(provenance)
    lines = [f"# {title}", ""]
    body = [f"<h2>{pages.esc(title)}</h2>"]
    if warning:
        lines += [f"> **{warning}**", ""]
        body.append(f"<p class=\"banner\">{pages.esc(warning)}</p>")
    if provenance is not None:
        lines += [provenance.sentence(), ""]
        body.append(f"<p class=\"provenance\">{pages.esc(provenance.sentence())}</p>")
    lines += [intro, ""]
    body.append(f"<p class=\"muted\">{pages.esc(intro)}</p>")
    for table, rows in frame.groupby("table", sort=False):
        table_title = table_heading(str(table))
        shown = [[line.row, "Avg" if line.task == AVG else column_display(line.task),
                  signed(line.ours, ".1f") + (f" {FLOOR_MARK}" if line.at_floor else ""),
                  signed(line.paper, ".2f"), signed(line.difference, "+.1f")]
                 for line in rows.itertuples()]
        lines += [f"## {table_title}", "", "| " + " | ".join(columns) + " |",
                  "|---|---|---:|---:|---:|"]
        lines += [f"| {' | '.join(cells)} |" for cells in shown]
        lines.append("")
        body += [f"<h3>{pages.esc(table_title)}</h3>",
                 pages.table(columns, shown, numeric=(2, 3, 4))]
    with atomic_path(Path(out_md)) as tmp:
        tmp.write_text("\n".join(lines), encoding="utf-8")
    if out_html is not None:
        with atomic_path(Path(out_html)) as tmp:
            tmp.write_text(pages.page(title, "\n".join(body)), encoding="utf-8")
