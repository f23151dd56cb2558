"""The report stage: read the cells' outputs and write the tables, figures and the side-by-side
comparison with the paper."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from taskconflict.figures import FIGURES, cosine_heatmaps
from taskconflict.grid import Cell
from taskconflict.io import atomic_path
from taskconflict.tables import AVG, TABLES, build_table, column_display, write_table


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
                      context: str = "") -> None:
    """Table `number` of `benchmark` as CSV, Markdown, LaTeX and HTML (for the report)."""
    if number not in TABLES:
        raise ValueError(f"no Table {number}; tables: {', '.join(map(str, TABLES))}")
    spec = TABLES[number]
    write_table(build_table(spec, _metrics(metrics_files), benchmark, model), Path(stem), spec,
                context)


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
                 pdf: str | Path) -> None:
    """Figure `number` (`figures.FIGURES`) as PNG and PDF, from its runs' files."""
    FIGURES[number].draw(figure_runs(number, run_files), Path(png), Path(pdf))


def write_cosines(conflict_file: str | Path, png: str | Path) -> None:
    cosine_heatmaps(Cell.from_run_file(conflict_file), pd.read_parquet(conflict_file), Path(png))


def comparison(table_csvs: Sequence[str | Path]) -> pd.DataFrame:
    """Every cell of every table that the paper also reports: ours, the paper's, and the
    difference (ours - paper), in points."""
    frames = []
    for path in table_csvs:
        frame = pd.read_csv(path)
        table = Path(path).stem  # e.g. table1_glue
        frames.append(frame.assign(table=table))
    if not frames:
        return pd.DataFrame(columns=["table", "row", "task", "ours", "paper", "difference"])
    frame = pd.concat(frames, ignore_index=True)
    frame = frame[np.isfinite(frame["paper"])]
    out = frame.rename(columns={"mean": "ours"})[["table", "row", "task", "ours", "paper"]]
    return out.assign(difference=out["ours"] - out["paper"]).reset_index(drop=True)


def write_comparison(table_csvs: Sequence[str | Path], out_md: str | Path,
                     context: str = "", out_html: str | Path | None = None) -> None:
    """Per table, our numbers and the paper's side by side: a Markdown page and, for the
    report (which shows HTML and only offers Markdown as a download), the same as HTML."""
    frame = comparison(table_csvs)
    intro = ("Scores ×100; difference = ours − paper, in points. Averages are recomputed from "
             "the cells on both sides.")
    lines = ["# This run vs. the paper", ""]
    if context:
        lines += [context, ""]
    lines += [intro, ""]
    html = ["<h3>This run vs. the paper</h3>", *([f"<p>{context}</p>"] if context else []),
            f"<p>{intro}</p>"]
    for table, rows in frame.groupby("table", sort=False):
        lines += [f"## {table}", "", "| row | task | ours | paper | difference |",
                  "|---|---|---:|---:|---:|"]
        shown = [(line.row, "Avg" if line.task == AVG else column_display(line.task),
                  "–" if not np.isfinite(line.ours) else f"{line.ours:.1f}",
                  f"{line.paper:.2f}",
                  "–" if not np.isfinite(line.difference) else f"{line.difference:+.1f}")
                 for line in rows.itertuples()]
        lines += [f"| {' | '.join(cells)} |" for cells in shown]
        lines.append("")
        html += [f"<h4>{table}</h4>", pd.DataFrame(
            shown, columns=["row", "task", "ours", "paper", "difference"]).to_html(
                index=False, border=0)]
    with atomic_path(Path(out_md)) as tmp:
        tmp.write_text("\n".join(lines), encoding="utf-8")
    if out_html is not None:
        with atomic_path(Path(out_html)) as tmp:
            tmp.write_text("\n".join(html) + "\n", encoding="utf-8")
