"""Metric floors: the score (x100) a trivial predictor gets on a test split.

A transfer of "-100%" against a single-task baseline of 0.0 MCC, or "+50%" against a baseline
that only predicts the majority class, says nothing about transfer: the baseline learnt
nothing. The tables therefore compare each score with its floor, the score of a predictor that
ignores its input:

- accuracy (classification): always predict the test split's most frequent gold label, so the
  floor is that label's share of the split;
- MCC, Spearman and Pearson correlations: 0, the correlation of a prediction that is
  independent of the gold answer (a constant one has no correlation at all);
- text metrics (EM, nF1, corpus F1, logical-form EM, ROUGE, BLEU, F1 on text): 0, what an
  empty or constant answer gets on any split that is not dominated by one answer.

Floors are read from the data, not listed per task: the registry says which metric and kind
each task has, the test file says its labels.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import pyarrow.parquet as pq

from taskconflict.registry import CLASSIFICATION, TASKS, Task

FLOOR_MARGIN = 5.0
"""Points a score must clear above its floor to count as clearly above it.

Why 5: it is about two standard errors of an accuracy near 50% (50/sqrt(n) points) and one
standard error of a chance correlation (100/sqrt(n) points) on the 400-example test splits of
the offline presets, so a score within 5 points of its floor cannot be told apart from the
trivial predictor there; on the real benchmarks' larger splits it is a generous margin, which
is the safe side for a flag that only withholds a percentage. It also bounds the relative
change: against a baseline more than 5 points above a floor of 0, a 1-point difference is
less than 20%, not thousands of percent."""

ZERO_FLOOR = frozenset({"mcc", "spearman", "pearson", "em", "nf1", "corpus_f1", "lfem", "rouge",
                        "bleu", "f1"})
"""Metrics a predictor independent of its input scores 0 on (chance correlation, or a text
answer that matches no gold answer)."""
LABEL_FLOOR = frozenset({"accuracy"})
"""Metrics whose floor depends on the split's gold labels (the majority class's share)."""
CLASS_ZERO_FLOOR = frozenset({"mcc"})
"""The zero-floor metrics that also hold on class labels (F1 does not: always predicting the
positive class scores 2p/(1+p))."""
LABEL_COLUMN = "label"


def column_name(task: str, split: str) -> str:
    """A table column: the task for its "test" split, "<task>_<split without test_>" for an
    extra one (MNLI's test_mismatched is "mnli_mismatched")."""
    return task if split == "test" else f"{task}_{split.removeprefix('test_')}"


def default_floor(metric: str) -> float:
    """The floor when no test labels are known: 0 where it does not depend on the data, NaN
    (unknown) for a label-dependent metric."""
    if metric in ZERO_FLOOR:
        return 0.0
    if metric in LABEL_FLOOR:
        return math.nan
    raise ValueError(f"no floor known for metric {metric!r}")


def majority_share(labels: Iterable) -> float:
    """The most frequent label's share of `labels`, x100 (missing labels are left out)."""
    counts: dict = {}
    for label in labels:
        if label is None or (isinstance(label, float) and math.isnan(label)):
            continue
        counts[label] = counts.get(label, 0) + 1
    total = sum(counts.values())
    if not total:
        raise ValueError("no labels to take a majority of")
    return max(counts.values()) / total * 100


def split_floor(task: Task, path: str | Path) -> float:
    """The floor of `task`'s headline metric on the test split stored at `path`."""
    metric = task.metric
    if task.kind == CLASSIFICATION and metric not in LABEL_FLOOR | CLASS_ZERO_FLOOR:
        # F1 of a classifier is not 0 for the trivial predictor (always the positive class)
        raise ValueError(f"{task.name}: no floor known for {metric} on class labels")
    if metric not in LABEL_FLOOR:
        return default_floor(metric)
    if task.kind != CLASSIFICATION:
        raise ValueError(f"{task.name}: {metric} floor needs class labels, but its kind is "
                         f"{task.kind}")
    path = Path(path)
    names = pq.ParquetFile(path).schema_arrow.names
    if LABEL_COLUMN not in names:
        raise ValueError(f"{path}: no {LABEL_COLUMN!r} column for the {metric} floor of "
                         f"classification task {task.name} (columns: {', '.join(names)})")
    labels = pq.read_table(path, columns=[LABEL_COLUMN]).column(LABEL_COLUMN).to_pylist()
    try:
        return majority_share(labels)
    except ValueError:
        raise ValueError(f"{path}: no labels for the {metric} floor of {task.name}") from None


def file_column(path: str | Path) -> tuple[Task, str]:
    """Task and column of a test file data/<benchmark>/<task>/<split>.parquet."""
    path = Path(path)
    name, split = path.parent.name, path.stem
    if name not in TASKS:
        raise ValueError(f"{path}: {name!r} is not a task (expected "
                         "data/<benchmark>/<task>/<split>.parquet)")
    task = TASKS[name]
    if split not in task.test_splits:
        raise ValueError(f"{path}: {split!r} is not a test split of {name} "
                         f"({', '.join(task.test_splits)})")
    if path.parent.parent.name != task.benchmark:
        raise ValueError(f"{path}: {name} belongs to {task.benchmark}, not "
                         f"{path.parent.parent.name}")
    return task, column_name(name, split)


def column_floors(test_files: Iterable[str | Path]) -> dict[str, float]:
    """Table column -> floor (x100) of its headline metric, from the test files
    results/<preset>/data/<benchmark>/<task>/<split>.parquet (columns spelt as the tables do:
    "mnli_mismatched" for mnli's test_mismatched)."""
    floors: dict[str, float] = {}
    for path in test_files:
        task, column = file_column(path)
        if column in floors:
            raise ValueError(f"two test files for column {column} (last: {path})")
        floors[column] = split_floor(task, path)
    return floors


def at_floor(score: float, floor: float, margin: float = FLOOR_MARGIN) -> bool:
    """Whether `score` is no more than `margin` points above `floor` (so a negative MCC, 0.0
    and the majority-class accuracy all are); False when either is unknown (NaN)."""
    if not (math.isfinite(score) and math.isfinite(floor)):
        return False
    return score <= floor + margin
