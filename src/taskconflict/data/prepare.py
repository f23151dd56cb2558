"""The data stage: one task's normalised splits, written as parquet (the data contract).

`results/<preset>/data/<benchmark>/<task>/<split>.parquet` with columns `idx`, the task's
text fields (registry) and `label` (int class index, or float score for regression); span
and sequence tasks have a text `answer` instead (span tasks also `answer_start`, the
answer's character offset in the context, -1 when unanswerable, -2 when the gold answer is no
span of the context). DecaNLP tasks also have `answers`, every distinct gold answer (a list,
`answer` first), which evaluation scores against (`decanlp_generated.columns`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from taskconflict import registry
from taskconflict.config import TaskDataConfig
from taskconflict.io import write_parquet
from taskconflict.registry import NOT_A_SPAN


def load_splits(cfg: TaskDataConfig, source_dir: str | Path | None = None
                ) -> dict[str, pd.DataFrame]:
    """The splits of one task from its configured source, by the loader its registry entry
    names for it (`Task.generated`, `Task.local`, `Task.from_hub`). Real data is read from a
    local directory: the benchmark's own files (source local) or the workflow's copy of the
    hub dataset (source hub; `source_dir`, written by the cache stage)."""
    task = registry.get_task(cfg.task)
    if cfg.source == "generated":
        if task.generated is None:
            raise ValueError(f"{cfg.task}: has no generated data")
        return registry.resolve(task.generated.build)(cfg)
    if cfg.source not in ("hub", "local"):
        raise ValueError(f"{cfg.task}: unknown data source {cfg.source!r}")
    source = task.from_hub if cfg.source == "hub" else task.local
    if source is None:
        raise ValueError(f"{cfg.task}: has no {cfg.source} source (its registry entry names "
                         f"no loader for it)")
    directory = source_dir if cfg.source == "hub" else cfg.location
    if not directory:
        raise ValueError(f"{cfg.task}: source {cfg.source} needs a directory to read from")
    return registry.resolve(source.load)(task, Path(directory), cfg.seed,
                                         cfg.validation_fraction)


def check_splits(task: registry.Task, splits: dict[str, pd.DataFrame]) -> None:
    """Fail with the task, split and row when a split breaks the data contract."""
    missing = set(task.splits) - set(splits)
    if missing:
        raise ValueError(f"{task.name}: missing splits {sorted(missing)}")
    text_answers = task.kind in (registry.SPAN, registry.SEQUENCE)
    answer_columns = ("answer", "answer_start") if task.kind == registry.SPAN else (
        ("answer",) if text_answers else ("label",))
    for name, frame in splits.items():
        for column in ("idx", *task.fields, *answer_columns):
            if column not in frame.columns:
                raise ValueError(f"{task.name}/{name}: missing column {column!r}")
        for column in task.fields:
            bad = frame.index[frame[column].isna() | (frame[column].str.strip() == "")]
            if len(bad):
                raise ValueError(f"{task.name}/{name} row {bad[0]}: empty {column!r}")
        if task.kind == registry.SPAN:
            bad = frame.index[frame["answer_start"] < NOT_A_SPAN]
            if len(bad):
                raise ValueError(f"{task.name}/{name} row {bad[0]}: answer_start "
                                 f"{frame['answer_start'][bad[0]]} below {NOT_A_SPAN}")
        if "answers" in frame.columns:
            bad = [i for i, answers, answer in zip(frame.index, frame["answers"], frame["answer"],
                                                   strict=True)
                   if len(answers) == 0 or answers[0] != answer]  # fmt: skip
            if bad:
                raise ValueError(f"{task.name}/{name} row {bad[0]}: answers "
                                 f"{list(frame['answers'][bad[0]])} do not start with its answer")
        if task.kind == registry.CLASSIFICATION:
            bad = frame.index[~frame["label"].between(0, len(task.label_words) - 1)]
            if len(bad):
                raise ValueError(
                    f"{task.name}/{name} row {bad[0]}: label {frame['label'][bad[0]]} "
                    f"outside 0..{len(task.label_words) - 1}"
                )


def prepare_task(cfg: TaskDataConfig, out_dir: str | Path,
                 source_dir: str | Path | None = None) -> None:
    task = registry.get_task(cfg.task)
    splits = load_splits(cfg, source_dir)
    check_splits(task, splits)
    for name, frame in splits.items():
        write_parquet(frame, Path(out_dir) / f"{name}.parquet")
