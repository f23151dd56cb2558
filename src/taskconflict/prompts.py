"""Text-to-text rendering: a task's example as a `source` prompt and a `target` answer.

Prompt styles (Table 2):
- `default`: the T5 paper's task prefixes, e.g. `mnli hypothesis: ... premise: ...`;
- `null`: the bare input (the fields in the same order, no task name, no field names), so the
  model must infer the task from the input;
- `diverse`: natural-language templates written for this project
  (`templates/diverse_prompts.yaml`), each with its own answer words: one drawn per training
  example (seeded); every validation and test example of a task uses the task's one fixed
  template (flagged `eval: true`), as the paper's code does.

Output spaces (Figure 4, `label_spaces.py`) replace the answer words of classification tasks
by letters. Each rendered classification row carries its `label_words` (the words its answer
is one of), so evaluation parses an output against the words that row was trained with.

STS-B answers with its score as one decimal (`STSB_TARGETS`): `paper`, the raw score as the
paper's code writes it ('{:.1f}'), or `t5`, first rounded to the nearest 0.2 as T5 does.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import yaml

from taskconflict import factors, registry
from taskconflict.io import write_parquet
from taskconflict.label_spaces import answer_words

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

TEMPLATES_FILE = "templates/diverse_prompts.yaml"
TRAIN_SPLIT = "train"
"""The split whose rows draw a diverse template each; the others use the fixed one."""
STSB_TARGETS = ("paper", "t5")
"""How STS-B's score becomes its target: `paper` '{:.1f}' of the raw score (the paper's
code), `t5` rounded to the nearest 0.2 first (T5's preprocessing)."""
TEMPLATE_KEYS = ("template", "answers", "eval")


@dataclass(frozen=True)
class Template:
    """A diverse prompt: text with the task's fields as placeholders, and its answer words
    (one per class, in registry label order; none for a regression task). `eval` marks the
    task's fixed template, the one every validation and test row uses."""

    text: str
    answers: tuple[str, ...] = ()
    eval: bool = False


@cache
def diverse_templates() -> dict[str, tuple[Template, ...]]:
    """task -> its diverse templates, read from the package's data file and checked."""
    return load_templates(files("taskconflict").joinpath(TEMPLATES_FILE), TEMPLATES_FILE)


def load_templates(path: Path | Traversable,
                   name: str | None = None) -> dict[str, tuple[Template, ...]]:
    """task -> its diverse templates, read from a prompts file (a path or package resource)
    and checked; errors name the file (`name`, default the path) and the task."""
    name = name or str(path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError(f"{name}: expected a mapping of task -> list of templates")
    templates = {}
    for task_name, entries in raw.items():
        try:
            task = registry.get_task(task_name)
        except KeyError as error:
            raise ValueError(f"{name}: {error.args[0]}") from None
        if not isinstance(entries, list) or not entries:
            raise ValueError(f"{name}: {task_name}: expected a non-empty list of templates")
        templates[task_name] = tuple(_template(task, entry, f"{name}: {task_name}[{i}]")
                                     for i, entry in enumerate(entries))
        fixed = [i for i, t in enumerate(templates[task_name]) if t.eval]
        if len(fixed) != 1:
            raise ValueError(
                f"{name}: {task_name}: exactly one template needs `eval: true` (the one "
                f"validation and test rows use); found {len(fixed)}"
                + (f" (entries {fixed})" if fixed else ""))
    return templates


def _template(task: registry.Task, entry: dict, where: str) -> Template:
    if not isinstance(entry, dict) or "template" not in entry:
        raise ValueError(f"{where}: expected a mapping with a `template` key")
    unknown = sorted(set(entry) - set(TEMPLATE_KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown} (known: {list(TEMPLATE_KEYS)})")
    fixed = entry.get("eval", False)
    if not isinstance(fixed, bool):
        raise ValueError(f"{where}: `eval` must be true or false, not {fixed!r}")
    template = Template(entry["template"], tuple(entry.get("answers", ())), fixed)
    try:
        template.text.format(**dict.fromkeys(task.fields, ""))
    except KeyError as error:
        raise ValueError(f"{where}: unknown field {error} (fields: {task.fields})") from None
    missing = [f for f in task.fields if "{" + f + "}" not in template.text]
    if missing:
        raise ValueError(f"{where}: template does not use field(s) {missing}")
    classes = len(task.label_words)
    if len(template.answers) != classes or len(set(template.answers)) != classes:
        raise ValueError(f"{where}: needs {classes} distinct answer words, "
                         f"has {list(template.answers)}")
    return template


def templates_for(task: registry.Task) -> tuple[Template, ...]:
    templates = diverse_templates().get(task.name)
    if not templates:
        raise ValueError(f"task {task.name!r} has no diverse prompts in {TEMPLATES_FILE}")
    return templates


def eval_template(task: registry.Task) -> Template:
    """The task's fixed template: the one every validation and test row uses."""
    return next(t for t in templates_for(task) if t.eval)


def render_source(task: registry.Task, row: dict[str, str], style: str,
                  template: Template | None = None) -> str:
    if style == "default":
        return task.prompt.format(**row)
    if style == "null":
        return " ".join(row[field] for field in task.prompt_fields)
    if style == "diverse" and template is not None:
        return template.text.format(**row)
    raise ValueError(f"unknown prompt style {style!r}; known: {', '.join(factors.PROMPTS.names)}")


def _check_stsb_target(stsb_target: str) -> None:
    if stsb_target not in STSB_TARGETS:
        raise ValueError(f"unknown STS-B target format {stsb_target!r}; "
                         f"known: {', '.join(STSB_TARGETS)}")


def render_target(task: registry.Task, label: float, words: tuple[str, ...] = (),
                  stsb_target: str = "paper") -> str:
    """The answer as text: the label word (of `words`, default the registry's), or STS-B's
    score with one decimal (`stsb_target` t5: rounded to the nearest 0.2 first)."""
    if task.kind == registry.REGRESSION:
        _check_stsb_target(stsb_target)
        score = float(label)
        if stsb_target == "t5":
            score = round(score * 5) / 5
        return task.target_format.format(score)
    return (words or task.label_words)[int(label)]


def render(task: registry.Task, frame: pd.DataFrame, style: str, output_space: str = "default",
           seed: int = 0, split: str = TRAIN_SPLIT, stsb_target: str = "paper") -> pd.DataFrame:
    """The frame with `source` and `target` columns added (and `label_words` for
    classification). The target of a span or sequence task is its answer text; of the others,
    the label as text (STS-B's score as `stsb_target` says). Diverse templates: training rows
    draw one each, seeded by (task, split, seed); validation and test rows all use the task's
    fixed template (`eval_template`)."""
    factors.OUTPUT_SPACE.check(output_space)
    _check_stsb_target(stsb_target)
    rows = frame[list(task.fields)].to_dict("records")
    templates: list[Template | None] = [None] * len(rows)
    if style == "diverse" and split == TRAIN_SPLIT:
        rng = random.Random(f"{task.name}/{split}/{seed}/diverse")
        choices = templates_for(task)
        templates = [rng.choice(choices) for _ in rows]
    elif style == "diverse":
        templates = [eval_template(task)] * len(rows)
    out = frame.copy()
    out["source"] = pd.array([render_source(task, row, style, template)
                              for row, template in zip(rows, templates, strict=True)],
                             dtype="string")
    if task.kind in (registry.SPAN, registry.SEQUENCE):
        out["target"] = pd.array(list(frame["answer"]), dtype="string")
        return out
    if task.kind == registry.REGRESSION:
        out["target"] = pd.array([render_target(task, y, stsb_target=stsb_target)
                                  for y in frame["label"]], dtype="string")
        return out
    letters = answer_words(task.name, output_space, seed) if output_space != "default" else ()
    words = [letters or (t.answers if t is not None else task.label_words) for t in templates]
    out["target"] = pd.array([render_target(task, y, w) for y, w in
                              zip(frame["label"], words, strict=True)], dtype="string")
    out["label_words"] = pd.Series([list(w) for w in words], dtype="object", index=frame.index)
    return out


def render_task(task_name: str, style: str, output_space: str, seed: int, data_dir: str | Path,
                out_dir: str | Path, stsb_target: str = "paper") -> None:
    """The render stage: every split of one task in one prompt style and output space."""
    task = registry.get_task(task_name)
    for split in task.splits:
        frame = pd.read_parquet(Path(data_dir) / f"{split}.parquet")
        write_parquet(render(task, frame, style, output_space, seed, split, stsb_target),
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
