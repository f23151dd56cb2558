"""Text-to-text rendering: a task's example as a `source` prompt and a `target` answer.

Prompt styles: `default` (the T5 paper's task prefixes, e.g. `mnli hypothesis: ... premise:
...`) and `null` (the bare input: the fields in the same order, no task name, no field
names, so the model must infer the task from the input).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from taskconflict import registry
from taskconflict.io import write_parquet

PROMPT_STYLES = ("null", "default")


def render_source(task: registry.Task, row: dict[str, str], style: str) -> str:
    if style == "default":
        return task.prompt.format(**row)
    if style == "null":
        return " ".join(row[field] for field in task.prompt_fields)
    raise ValueError(f"unknown prompt style {style!r}; known: {', '.join(PROMPT_STYLES)}")


def render_target(task: registry.Task, label: float) -> str:
    """The answer as text: the label word, or STS-B's score rounded to 0.2 with one decimal."""
    if task.kind == registry.REGRESSION:
        return task.target_format.format(round(float(label) * 5) / 5)
    return task.labels[int(label)]


def render(task: registry.Task, frame: pd.DataFrame, style: str) -> pd.DataFrame:
    """The frame with `source` and `target` columns added. The target of a span or sequence
    task is its answer text; of the others, the label as text."""
    rows = frame[list(task.fields)].to_dict("records")
    out = frame.copy()
    out["source"] = pd.array([render_source(task, row, style) for row in rows], dtype="string")
    if task.kind in (registry.SPAN, registry.SEQUENCE):
        targets = list(frame["answer"])
    else:
        targets = [render_target(task, y) for y in frame["label"]]
    out["target"] = pd.array(targets, dtype="string")
    return out


def render_task(task_name: str, style: str, data_dir: str | Path, out_dir: str | Path) -> None:
    """The render stage: every split of one task in one prompt style."""
    task = registry.get_task(task_name)
    for split in task.splits:
        frame = pd.read_parquet(Path(data_dir) / f"{split}.parquet")
        write_parquet(render(task, frame, style), Path(out_dir) / f"{split}.parquet")
