"""The report stage: read the cells' outputs and write the tables and figures."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from taskconflict.figures import figure2
from taskconflict.grid import Cell
from taskconflict.tables import table1, write_table


def cell_of_run_file(path: str | Path) -> Cell:
    """The cell whose run folder holds `path` (results/<preset>/runs/<cell id>/<file>)."""
    parts = Path(path).parts
    start = len(parts) - 1 - parts[::-1].index("runs")
    return Cell.from_id("/".join(parts[start + 1 : -1]))


def write_table1(benchmark: str, metrics_files: Sequence[str | Path], stem: str | Path) -> None:
    runs = []
    for path in metrics_files:
        metrics = json.loads(Path(path).read_text())
        runs.append((Cell.from_id(metrics["cell"]), metrics))
    write_table(table1(runs, benchmark), Path(stem))


def write_figure2(conflict_files: Sequence[str | Path], png: str | Path, pdf: str | Path) -> None:
    runs = [(cell_of_run_file(path), pd.read_parquet(path)) for path in conflict_files]
    figure2(runs, Path(png), Path(pdf))
