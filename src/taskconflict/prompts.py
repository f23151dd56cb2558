"""Text-to-text rendering: a task's example as a `source` prompt and a `target` answer.

Prompt styles (Table 2):
- `default`: the T5 paper's task prefixes, e.g. `mnli hypothesis: ... premise: ...`;
- `null`: the bare input (the fields in the same order, no task name, no field names), so the
  model must infer the task from the input;
- `diverse`: natural-language templates written for this project
  (`templates/diverse_prompts.yaml`), one drawn per example (seeded), each with its own answer
  words.

Output spaces (Figure 4, `label_spaces.py`) replace the answer words of classification tasks
by letters. Each rendered classification row carries its `label_words` (the words its answer
is one of), so evaluation parses an output against the words that row was trained with.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

import pandas as pd
import yaml

from taskconflict import registry
from taskconflict.io import write_parquet
from taskconflict.label_spaces import LABEL_STYLES, label_words

PROMPT_STYLES = ("null", "default", "diverse")
TEMPLATES_FILE = "templates/diverse_prompts.yaml"


@dataclass(frozen=True)
class Template:
    """A diverse prompt: text with the task's fields as placeholders, and its answer words
    (one per class, in registry label order; none for a regression task)."""

    text: str
    answers: tuple[str, ...] = ()


@cache
def diverse_templates() -> dict[str, tuple[Template, ...]]:
    """task -> its diverse templates, read from the package's data file and checked."""
    path = files("taskconflict").joinpath(TEMPLATES_FILE)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    templates = {}
    for task_name, entries in raw.items():
        task = registry.get_task(task_name)
        templates[task_name] = tuple(_template(task, entry, f"{TEMPLATES_FILE}: {task_name}[{i}]")
                                     for i, entry in enumerate(entries))
    return templates


def _template(task: registry.Task, entry: dict, where: str) -> Template:
    template = Template(entry["template"], tuple(entry.get("answers", ())))
    try:
        template.text.format(**dict.fromkeys(task.fields, ""))
    except KeyError as error:
        raise ValueError(f"{where}: unknown field {error} (fields: {task.fields})") from None
    missing = [f for f in task.fields if "{" + f + "}" not in template.text]
    if missing:
        raise ValueError(f"{where}: template does not use field(s) {missing}")
    classes = len(task.labels)
    if len(template.answers) != classes or len(set(template.answers)) != classes:
        raise ValueError(f"{where}: needs {classes} distinct answer words, "
                         f"has {list(template.answers)}")
    return template


def templates_for(task: registry.Task) -> tuple[Template, ...]:
    templates = diverse_templates().get(task.name)
    if not templates:
        raise ValueError(f"task {task.name!r} has no diverse prompts in {TEMPLATES_FILE}")
    return templates


def render_source(task: registry.Task, row: dict[str, str], style: str,
                  template: Template | None = None) -> str:
    if style == "default":
        return task.prompt.format(**row)
    if style == "null":
        return " ".join(row[field] for field in task.prompt_fields)
    if style == "diverse" and template is not None:
        return template.text.format(**row)
    raise ValueError(f"unknown prompt style {style!r}; known: {', '.join(PROMPT_STYLES)}")


def render_target(task: registry.Task, label: float, words: tuple[str, ...] = ()) -> str:
    """The answer as text: the label word (of `words`, default the registry's), or STS-B's
    score rounded to 0.2 with one decimal."""
    if task.kind == registry.REGRESSION:
        return task.target_format.format(round(float(label) * 5) / 5)
    return (words or task.labels)[int(label)]


def render(task: registry.Task, frame: pd.DataFrame, style: str, labels: str = "default",
           seed: int = 0, split: str = "train") -> pd.DataFrame:
    """The frame with `source` and `target` columns added (and `label_words` for
    classification). The target of a span or sequence task is its answer text; of the others,
    the label as text. Diverse templates are drawn per row from (task, split, seed)."""
    if labels not in LABEL_STYLES:
        raise ValueError(f"unknown label style {labels!r}; known: {', '.join(LABEL_STYLES)}")
    rows = frame[list(task.fields)].to_dict("records")
    templates: list[Template | None] = [None] * len(rows)
    if style == "diverse":
        rng = random.Random(f"{task.name}/{split}/{seed}/diverse")
        choices = templates_for(task)
        templates = [rng.choice(choices) for _ in rows]
    out = frame.copy()
    out["source"] = pd.array([render_source(task, row, style, template)
                              for row, template in zip(rows, templates, strict=True)],
                             dtype="string")
    if task.kind in (registry.SPAN, registry.SEQUENCE):
        out["target"] = pd.array(list(frame["answer"]), dtype="string")
        return out
    if task.kind == registry.REGRESSION:
        out["target"] = pd.array([render_target(task, y) for y in frame["label"]],
                                 dtype="string")
        return out
    letters = label_words(task.name, labels, seed) if labels != "default" else ()
    words = [letters or (t.answers if t is not None else task.labels) for t in templates]
    out["target"] = pd.array([render_target(task, y, w) for y, w in
                              zip(frame["label"], words, strict=True)], dtype="string")
    out["label_words"] = pd.Series([list(w) for w in words], dtype="object", index=frame.index)
    return out


def render_task(task_name: str, style: str, labels: str, seed: int, data_dir: str | Path,
                out_dir: str | Path) -> None:
    """The render stage: every split of one task in one prompt style and output space."""
    task = registry.get_task(task_name)
    for split in task.splits:
        frame = pd.read_parquet(Path(data_dir) / f"{split}.parquet")
        write_parquet(render(task, frame, style, labels, seed, split),
                      Path(out_dir) / f"{split}.parquet")


def prompt_text() -> list[str]:
    """Every template (blank fields) and answer word of the diverse prompts and every letter,
    for the tokenizer."""
    lines = []
    for task_name, templates in diverse_templates().items():
        fields = dict.fromkeys(registry.get_task(task_name).fields, "")
        for template in templates:
            lines += [template.text.format(**fields), " ".join(template.answers)]
    return lines
