"""The task registry: the one place that describes every task.

Everything else (data generation and loading, prompt rendering, metrics, tables, the config
check) reads these entries instead of re-listing tasks.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

CLASSIFICATION = "classification"
REGRESSION = "regression"
SPAN = "span"
SEQUENCE = "sequence"
TASK_KINDS = (CLASSIFICATION, REGRESSION, SPAN, SEQUENCE)


@dataclass(frozen=True)
class Task:
    """One task of a benchmark, as the paper uses it."""

    name: str
    benchmark: str
    display: str
    kind: str
    fields: tuple[str, ...]
    """Text columns of the normalised data, in the order the data stores them."""
    metric: str
    """Headline metric (the one Table 1 reports), scaled x100."""
    extra_metrics: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    """Label words of the T5 paper; position = integer label in the data."""
    prompt: str = ""
    """Default (T5-style) prompt template; its placeholders are `fields`."""
    test_splits: tuple[str, ...] = ("test",)
    target_format: str = ""
    """How a regression target is written as text (STS-B: one decimal, 0.2 steps)."""

    @property
    def prompt_fields(self) -> tuple[str, ...]:
        """Fields in the order the default prompt presents them (MNLI: hypothesis first)."""
        return tuple(f for _, f, _, _ in string.Formatter().parse(self.prompt) if f)

    @property
    def metrics(self) -> tuple[str, ...]:
        return (self.metric, *self.extra_metrics)

    @property
    def splits(self) -> tuple[str, ...]:
        return ("train", "validation", *self.test_splits)


GLUE_TASKS: tuple[Task, ...] = (
    Task(
        name="cola",
        benchmark="glue",
        display="CoLA",
        kind=CLASSIFICATION,
        fields=("sentence",),
        metric="mcc",
        labels=("unacceptable", "acceptable"),
        prompt="cola sentence: {sentence}",
    ),
    Task(
        name="sst2",
        benchmark="glue",
        display="SST-2",
        kind=CLASSIFICATION,
        fields=("sentence",),
        metric="accuracy",
        labels=("negative", "positive"),
        prompt="sst2 sentence: {sentence}",
    ),
    Task(
        name="mrpc",
        benchmark="glue",
        display="MRPC",
        kind=CLASSIFICATION,
        fields=("sentence1", "sentence2"),
        metric="accuracy",
        extra_metrics=("f1",),
        labels=("not_equivalent", "equivalent"),
        prompt="mrpc sentence1: {sentence1} sentence2: {sentence2}",
    ),
    Task(
        name="stsb",
        benchmark="glue",
        display="STS-B",
        kind=REGRESSION,
        fields=("sentence1", "sentence2"),
        metric="spearman",
        extra_metrics=("pearson",),
        prompt="stsb sentence1: {sentence1} sentence2: {sentence2}",
        target_format="{:.1f}",
    ),
    Task(
        name="qqp",
        benchmark="glue",
        display="QQP",
        kind=CLASSIFICATION,
        fields=("question1", "question2"),
        metric="accuracy",
        extra_metrics=("f1",),
        labels=("not_duplicate", "duplicate"),
        prompt="qqp question1: {question1} question2: {question2}",
    ),
    Task(
        name="mnli",
        benchmark="glue",
        display="MNLI",
        kind=CLASSIFICATION,
        fields=("premise", "hypothesis"),
        metric="accuracy",
        labels=("entailment", "neutral", "contradiction"),
        prompt="mnli hypothesis: {hypothesis} premise: {premise}",
        test_splits=("test", "test_mismatched"),
    ),
    Task(
        name="qnli",
        benchmark="glue",
        display="QNLI",
        kind=CLASSIFICATION,
        fields=("question", "sentence"),
        metric="accuracy",
        labels=("entailment", "not_entailment"),
        prompt="qnli question: {question} sentence: {sentence}",
    ),
    Task(
        name="rte",
        benchmark="glue",
        display="RTE",
        kind=CLASSIFICATION,
        fields=("sentence1", "sentence2"),
        metric="accuracy",
        labels=("entailment", "not_entailment"),
        prompt="rte sentence1: {sentence1} sentence2: {sentence2}",
    ),
)

TASKS: dict[str, Task] = {t.name: t for t in GLUE_TASKS}
BENCHMARKS: dict[str, tuple[str, ...]] = {
    "glue": tuple(t.name for t in GLUE_TASKS),
}


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}") from None


def registry_text() -> list[str]:
    """Every string the registry can put into a model's input or output.

    The tokenizer is trained on these too, so prompts and label words never become <unk>.
    """
    lines = []
    for task in TASKS.values():
        lines.append(string.Formatter().vformat(task.prompt, (), _Blank()))
        lines.extend(word.replace("_", " _ ") for word in task.labels)
        lines.extend(task.labels)
    lines.append(" ".join(f"{x / 10:.1f}" for x in range(0, 51, 2)))
    return lines


def label_words() -> list[str]:
    """Every label word of every task, once."""
    return sorted({word for task in TASKS.values() for word in task.labels})


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""
