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
    """How a regression target is written as text (STS-B: one decimal, '{:.1f}' as the paper's
    code writes it; the render stage's `stsb_target: t5` first rounds to 0.2 steps)."""
    unanswerable: bool = False
    """Span task whose gold answer may be the literal `UNANSWERABLE` (QA-ZRE)."""
    question_format: str = ""
    """DecaNLP: the task's own question (lowercase, punctuation split off as in the generated
    world), with the example's raw inputs as placeholders (MNLI: `{hypothesis}`); empty where
    the question is the example's own text (SQuAD, QA-SRL, QA-ZRE, Winograd)."""
    context_format: str = ""
    """DecaNLP: how the context wraps the raw inputs (MNLI: the quoted premise; WikiSQL: the
    headers, the SQL key words and the English question); empty where it is the raw text."""
    vocabulary: str = ""
    """Words the task's answers use beyond its inputs (WikiSQL's SQL), for the tokenizer."""
    paper_name: str = ""
    """The task's name in the paper's results (reference/paper_results.csv), if not `name`."""
    hub: str = ""
    """The hub dataset with the task's real data (parquet), and its config folder; empty
    where the hub has only a loading script (those tasks need decaNLP's local files)."""
    hub_config: str = ""

    @property
    def prompt_fields(self) -> tuple[str, ...]:
        """Fields in the order the default prompt presents them (MNLI: hypothesis first)."""
        return tuple(f for _, f, _, _ in string.Formatter().parse(self.prompt) if f)

    @property
    def paper_key(self) -> str:
        """The task's name in the paper's results."""
        return self.paper_name or self.name

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
        hub="nyu-mll/glue",
        hub_config="cola",
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
        hub="nyu-mll/glue",
        hub_config="sst2",
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
        hub="nyu-mll/glue",
        hub_config="mrpc",
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
        hub="nyu-mll/glue",
        hub_config="stsb",
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
        hub="nyu-mll/glue",
        hub_config="qqp",
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
        hub="nyu-mll/glue",
        hub_config="mnli",
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
        hub="nyu-mll/glue",
        hub_config="qnli",
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
        hub="nyu-mll/glue",
        hub_config="rte",
        display="RTE",
        kind=CLASSIFICATION,
        fields=("sentence1", "sentence2"),
        metric="accuracy",
        labels=("entailment", "not_entailment"),
        prompt="rte sentence1: {sentence1} sentence2: {sentence2}",
    ),
)

UNANSWERABLE = "unanswerable"
"""QA-ZRE's gold answer when the context states no answer (decaNLP's literal string)."""
UNANSWERABLE_START = -1
"""`answer_start` of a question whose answer is `unanswerable` (QA-ZRE)."""
NOT_A_SPAN = -2
"""`answer_start` of a gold answer that is no span of its context (QA-ZRE's joined answers,
an answer only the question names): a text target only, never a span head's."""

# DecaNLP (McCann et al., 2018): every example is (context, question, answer) and the question
# says which task it is, so the default prompt is the same for all nine tasks.
DECANLP_PROMPT = "question: {question} context: {context}"
DECANLP_FIELDS = ("context", "question")
SQL_KEY_WORDS = ("select", "from", "where", "count", "max", "min", "sum", "avg", "and",
                 "=", ">", "<")  # fmt: skip
"""WikiSQL's key words, in the order decaNLP lists them in the context."""
SQL_VOCABULARY = "select count ( max min sum avg ) from table where and = > < 0 1 2 3 4 5 6 7 8 9"
"""Every word and character of a generated SQL answer that its inputs need not contain."""

DECANLP_TASKS: tuple[Task, ...] = (
    Task(
        name="sst",
        benchmark="decanlp",
        hub="SetFit/sst2",
        display="SST",
        kind=CLASSIFICATION,
        fields=DECANLP_FIELDS,
        metric="accuracy",
        labels=("negative", "positive"),
        prompt=DECANLP_PROMPT,
        question_format="is this review negative or positive ?",
    ),
    Task(
        name="mnli_deca",
        benchmark="decanlp",
        hub="nyu-mll/multi_nli",
        display="MNLI",
        kind=CLASSIFICATION,
        fields=DECANLP_FIELDS,
        metric="accuracy",
        labels=("entailment", "neutral", "contradiction"),
        prompt=DECANLP_PROMPT,
        question_format='hypothesis: " {hypothesis} " -- entailment , neutral , or contradiction ?',
        context_format='premise: " {premise} "',
        paper_name="mnli",
    ),
    Task(
        name="iwslt",
        benchmark="decanlp",
        display="IWSLT",
        kind=SEQUENCE,
        fields=DECANLP_FIELDS,
        metric="bleu",
        prompt=DECANLP_PROMPT,
        question_format="translate from english to german",
    ),
    Task(
        name="cnn_dm",
        benchmark="decanlp",
        hub="abisee/cnn_dailymail",
        hub_config="3.0.0",
        display="CNN/DM",
        kind=SEQUENCE,
        fields=DECANLP_FIELDS,
        metric="rouge",
        prompt=DECANLP_PROMPT,
        question_format="what is the summary ?",
        paper_name="cnn_dailymail",
    ),
    Task(
        name="wikisql",
        benchmark="decanlp",
        display="WikiSQL",
        kind=SEQUENCE,
        fields=DECANLP_FIELDS,
        metric="lfem",
        prompt=DECANLP_PROMPT,
        question_format="what is the translation from english to sql ?",
        context_format=(
            "the table has columns {headers} and key words " + " , ".join(SQL_KEY_WORDS)
            + " -- {question}"
        ),
        vocabulary=SQL_VOCABULARY,
    ),
    Task(
        name="squad",
        benchmark="decanlp",
        hub="rajpurkar/squad",
        hub_config="plain_text",
        display="SQuAD",
        kind=SPAN,
        fields=DECANLP_FIELDS,
        metric="nf1",
        prompt=DECANLP_PROMPT,
    ),
    Task(
        name="srl",
        benchmark="decanlp",
        display="QA-SRL",
        kind=SPAN,
        fields=DECANLP_FIELDS,
        metric="nf1",
        prompt=DECANLP_PROMPT,
        paper_name="qa_srl",
    ),
    Task(
        name="zre",
        benchmark="decanlp",
        hub="community-datasets/qa_zre",
        display="QA-ZRE",
        kind=SPAN,
        fields=DECANLP_FIELDS,
        metric="corpus_f1",
        prompt=DECANLP_PROMPT,
        unanswerable=True,
        paper_name="qa_zre",
    ),
    Task(
        name="winograd",
        benchmark="decanlp",
        display="Wino",
        kind=SPAN,
        fields=DECANLP_FIELDS,
        metric="em",
        prompt=DECANLP_PROMPT,
        paper_name="wino",
    ),
)

TASKS: dict[str, Task] = {t.name: t for t in (*GLUE_TASKS, *DECANLP_TASKS)}
BENCHMARKS: dict[str, tuple[str, ...]] = {
    "glue": tuple(t.name for t in GLUE_TASKS),
    "decanlp": tuple(t.name for t in DECANLP_TASKS),
}
if len(TASKS) != len(GLUE_TASKS) + len(DECANLP_TASKS):
    raise ValueError("task names must be unique across benchmarks")


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
        for text in (task.question_format, task.context_format, task.vocabulary):
            if text:
                lines.append(string.Formatter().vformat(text, (), _Blank()))
    lines.append(UNANSWERABLE)
    lines.append(" ".join(f"{x / 10:.1f}" for x in range(0, 51)))  # STS-B targets, 0.1 steps
    return lines


def label_words() -> list[str]:
    """Every label word of every task, once."""
    return sorted({word for task in TASKS.values() for word in task.labels})


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""
