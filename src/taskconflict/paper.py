"""The paper's published numbers, for the side-by-side "paper vs. this run" columns.

The printed averages have known errors (see reference/README.md), so an average is always
recomputed from the row's task cells; the printed `avg` rows are never returned.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import pandas as pd

PAPER_CSV = "reference/paper_results.csv"
AVG = "avg"
DEFAULT_MODEL = "t5-v1_1-small"


@cache
def _load() -> pd.DataFrame:
    with files("taskconflict").joinpath(PAPER_CSV).open("r", encoding="utf-8") as f:
        frame = pd.read_csv(f, dtype={"task": str, "variant": str})
    return frame


def load_paper_results() -> pd.DataFrame:
    """Every cell of Tables 1-4 (columns table, benchmark, model, architecture, variant, task,
    score), printed `avg` rows included. A copy: callers may modify it."""
    return _load().copy()


def paper_row(
    table: int, benchmark: str, architecture: str, variant: str, model: str = DEFAULT_MODEL
) -> dict[str, float]:
    """task -> score of one printed row, without its printed average (empty if no such row)."""
    f = _load()
    rows = f[
        (f["table"] == table)
        & (f["benchmark"] == benchmark)
        & (f["model"] == model)
        & (f["architecture"] == architecture)
        & (f["variant"] == variant)
        & (f["task"] != AVG)
    ]
    return dict(zip(rows["task"], rows["score"].astype(float), strict=True))


def paper_score(
    table: int,
    benchmark: str,
    architecture: str,
    variant: str,
    task: str,
    model: str = DEFAULT_MODEL,
) -> float | None:
    """The paper's score for one cell, or None if the paper has none.

    Task names are the CSV's (for GLUE the registry's names plus "mnli_mismatched").
    task="avg" is the mean of all the row's task cells, recomputed, never the printed average.
    """
    row = paper_row(table, benchmark, architecture, variant, model)
    if task == AVG:
        return sum(row.values()) / len(row) if row else None
    return row.get(task)
