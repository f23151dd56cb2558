"""Metric floors on tiny hand-made test files, and the at-floor rule."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from taskconflict.floors import (
    FLOOR_MARGIN,
    at_floor,
    column_floors,
    default_floor,
    majority_share,
    split_floor,
)
from taskconflict.registry import TASKS


def write(root: Path, benchmark: str, task: str, split: str, frame: pd.DataFrame) -> Path:
    path = root / "data" / benchmark / task / f"{split}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    return path


def test_floors_of_hand_made_splits(tmp_path: Path) -> None:
    files = [
        write(tmp_path, "glue", "rte", "test", pd.DataFrame({"label": [0, 0, 0, 1]})),
        write(tmp_path, "glue", "mnli", "test", pd.DataFrame({"label": [0, 1, 2, 2, 2]})),
        write(tmp_path, "glue", "mnli", "test_mismatched",
              pd.DataFrame({"label": [1, 1, 0, 2, 1, 1, 0, 2]})),
        write(tmp_path, "glue", "cola", "test", pd.DataFrame({"label": [1, 1, 1, 0]})),
        write(tmp_path, "glue", "stsb", "test", pd.DataFrame({"label": [0.5, 4.0]})),
        write(tmp_path, "decanlp", "sst", "test",
              pd.DataFrame({"answer": ["positive", "negative"], "label": [1, 0]})),
        write(tmp_path, "decanlp", "squad", "test", pd.DataFrame({"answer": ["a", "b"]})),
        write(tmp_path, "decanlp", "iwslt", "test", pd.DataFrame({"answer": ["x"]})),
    ]
    assert column_floors(files) == {
        "rte": 75.0,  # 3 of 4 labels are 0
        "mnli": 60.0,  # 3 of 5 are 2
        "mnli_mismatched": 50.0,  # 4 of 8 are 1
        "cola": 0.0,  # MCC: chance correlation, whatever the labels
        "stsb": 0.0,  # Spearman
        "sst": 50.0,
        "squad": 0.0,  # nF1 of a text answer
        "iwslt": 0.0,  # BLEU
    }


def test_missing_labels_are_left_out_of_the_majority() -> None:
    assert majority_share([1, None, 1, 0, float("nan")]) == pytest.approx(200 / 3)
    with pytest.raises(ValueError, match="no labels"):
        majority_share([])


def test_a_classification_file_without_labels_is_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, "glue", "sst2", "test", pd.DataFrame({"sentence": ["a", "b"]}))
    with pytest.raises(ValueError, match=r"sst2/test\.parquet: no 'label' column .*sst2"):
        column_floors([path])
    empty = write(tmp_path, "glue", "qnli", "test", pd.DataFrame({"label": pd.Series(
        [], dtype="int64")}))
    with pytest.raises(ValueError, match=r"qnli/test\.parquet: no labels"):
        column_floors([empty])


def test_files_that_name_no_test_split_are_errors(tmp_path: Path) -> None:
    labels = pd.DataFrame({"label": [0, 1]})
    with pytest.raises(ValueError, match="not a task"):
        column_floors([write(tmp_path, "glue", "nope", "test", labels)])
    with pytest.raises(ValueError, match="not a test split"):
        column_floors([write(tmp_path, "glue", "rte", "validation", labels)])
    with pytest.raises(ValueError, match="belongs to glue"):
        column_floors([write(tmp_path, "decanlp", "rte", "test", labels)])
    rte = write(tmp_path, "glue", "rte", "test", labels)
    with pytest.raises(ValueError, match="two test files for column rte"):
        column_floors([rte, rte])


def test_default_floors_and_a_classifier_f1_has_none(tmp_path: Path) -> None:
    assert default_floor("mcc") == 0.0 and default_floor("rouge") == 0.0
    assert math.isnan(default_floor("accuracy"))
    with pytest.raises(ValueError, match="no floor known"):
        default_floor("perplexity")
    path = write(tmp_path, "glue", "mrpc", "test", pd.DataFrame({"label": [1, 1, 0]}))
    f1_first = replace(TASKS["mrpc"], metric_fns=TASKS["mrpc"].metric_fns[::-1])
    with pytest.raises(ValueError, match="no floor known for f1"):
        split_floor(f1_first, path)
    assert split_floor(TASKS["mrpc"], path) == pytest.approx(200 / 3)


def test_at_floor() -> None:
    assert FLOOR_MARGIN == 5.0
    assert at_floor(-64.5, 0.0)  # negative MCC
    assert at_floor(0.0, 0.0)
    assert at_floor(2.2, 0.0)
    assert at_floor(75.0, 75.0)  # the majority-class accuracy itself
    assert at_floor(80.0, 75.0)  # the margin's edge counts
    assert not at_floor(80.1, 75.0)
    assert not at_floor(60.0, 0.0)
    assert not at_floor(math.nan, 0.0)  # no result
    assert not at_floor(10.0, math.nan)  # unknown floor
    assert at_floor(6.0, 0.0, margin=10.0)
