"""Scoring generated answers: text back to labels, labels to the paper's metrics (x100).

A text-to-text model can answer with anything, so a generated text that is no label word (or
no number, for STS-B) is a "bad output". It is counted and scored as wrong, never dropped:
dropping it would reward a model for answering nonsense on its hardest examples.

Each task's registry entry names its parser (`parse_label`, `parse_score`, `parse_text`) and
its metrics (these for labels and scores, `text_metrics` for text answers).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

from taskconflict.registry import CLASSIFICATION, Task, resolve

BAD_REGRESSION_OUTPUT = -1.0
"""What an unparseable STS-B answer becomes: T5's own convention, outside the 0-5 range."""


def _undefined(predictions: np.ndarray, labels: np.ndarray) -> bool:
    """A correlation needs variation on both sides; a constant model has no correlation."""
    return len(labels) < 2 or np.ptp(predictions) == 0 or np.ptp(labels) == 0


def mcc(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Matthews correlation; 0.0 (not NaN) when either side is constant."""
    if _undefined(predictions, labels):
        return 0.0
    return 100 * float(matthews_corrcoef(labels, predictions))


def accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    return 100 * float(accuracy_score(labels, predictions))


def f1(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Binary F1 of the positive class (label 1), as GLUE reports it for MRPC and QQP."""
    return 100 * float(f1_score(labels, predictions, pos_label=1, zero_division=0.0))


def spearman(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Spearman rank correlation; 0.0 (not NaN) when either side is constant."""
    if _undefined(predictions, labels):
        return 0.0
    return 100 * float(spearmanr(predictions, labels).statistic)


def pearson(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Pearson correlation; 0.0 (not NaN) when either side is constant."""
    if _undefined(predictions, labels):
        return 0.0
    return 100 * float(pearsonr(predictions, labels).statistic)


def parse_prediction(task: Task, text: str, words: Sequence[str] = ()) -> int | float | None:
    """The label a generated text stands for, or None for a bad output, by the task's own
    parser (`Task.parse`). `words` are the example's answer words (diverse prompts, letter
    label spaces); default the registry's."""
    return resolve(task.parse)(task, text, words)


def parse_label(task: Task, text: str, words: Sequence[str] = ()) -> int | None:
    """Classification: the position of the answer among the label words."""
    answer = text.strip()
    words = list(words) or list(task.label_words)
    return words.index(answer) if answer in words else None


def parse_score(task: Task, text: str, words: Sequence[str] = ()) -> float | None:
    """Regression: the answer as a finite number."""
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_text(task: Task, text: str, words: Sequence[str] = ()) -> str | None:
    """Span and sequence tasks: the text itself; an empty one is a bad output."""
    return text if text.strip() else None


def _check_classes(task: Task, name: str, values: np.ndarray) -> None:
    n = len(task.label_words)
    bad = ~np.isin(values, np.arange(n))
    if bad.any():
        raise ValueError(f"task {task.name!r}: {name} {values[bad][0]:g} is no class in 0..{n - 1}")


def _impute_classes(
    task: Task, predictions: Sequence[int | float | None], labels: np.ndarray
) -> np.ndarray:
    """Bad outputs become a wrong class, (gold + 1) % n: the other class on binary tasks.

    So F1 and MCC count a bad output as a wrong answer, not as a missing one.
    """
    _check_classes(task, "label", labels)
    n = len(task.label_words)
    imputed = np.array(
        [(int(y) + 1) % n if p is None else p for p, y in zip(predictions, labels, strict=True)],
        dtype=float,
    )
    _check_classes(task, "prediction", imputed)
    return imputed.astype(int)


def score(
    task: Task,
    predictions: Sequence[int | float | None],
    labels: Sequence[int | float],
) -> dict[str, float]:
    """Every metric of the task, plus how many outputs were bad and how many were scored."""
    if len(predictions) != len(labels):
        raise ValueError(
            f"task {task.name!r}: {len(predictions)} predictions for {len(labels)} labels"
        )
    gold = np.asarray(labels, dtype=float)
    if task.kind == CLASSIFICATION:
        pred = _impute_classes(task, predictions, gold)
        gold = gold.astype(int)
    else:
        pred = np.array(
            [BAD_REGRESSION_OUTPUT if p is None else p for p in predictions], dtype=float
        )
    result = {metric.name: resolve(metric.function)(pred, gold) for metric in task.metric_fns}
    result["bad_outputs"] = sum(p is None for p in predictions)
    result["examples"] = len(labels)
    return result
