"""The task registry: one record per task, the one place that describes it.

A task's `Task` entry holds its metadata (benchmark, kind, text fields, label words, prompt,
splits) and names everything that handles its data: how its offline data is drawn
(`Generated`), how its real data is read from the benchmark's own files (`Local`) and from the
cache stage's copy of its hub dataset (`Hub`), which metrics score it (`Metric`) and how a
generated answer is parsed (`parse`). Everything else (data generation and loading, the cache
stage's checks, prompt rendering, scoring, tables, the config check) reads these entries
instead of re-listing tasks, so adding a task means adding its entry here, with the functions
it names wherever they live.

Functions are named as `package.module:function` and imported on first use (`resolve`), so this
module imports nothing of the project and no loader or metric module has to be imported to read
the registry; a record may also hold the function itself (a test's toy task does).
"""

from __future__ import annotations

import importlib
import string
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

CLASSIFICATION = "classification"
REGRESSION = "regression"
SPAN = "span"
SEQUENCE = "sequence"
TASK_KINDS = (CLASSIFICATION, REGRESSION, SPAN, SEQUENCE)

Ref = str | Callable[..., Any]
"""A function: `package.module:function`, imported when first used, or the function itself."""


def resolve(ref: Ref) -> Callable[..., Any]:
    """The function a record names."""
    return ref if callable(ref) else _imported(ref)


@cache
def _imported(ref: str) -> Callable[..., Any]:
    module, _, name = ref.partition(":")
    if not module or not name:
        raise ValueError(f"{ref!r} names no function (expected package.module:function)")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"cannot import {ref!r}: {error}") from None


@dataclass(frozen=True)
class Generated:
    """Offline data drawn from the generated world (source `generated`)."""

    build: Ref
    """(cfg: TaskDataConfig) -> {split: frame}: the benchmark's split builder, which draws
    every row with `draw`."""
    draw: Ref
    """(rng, genres) -> one example, the task's own generator."""
    draw_test: Ref | None = None
    """The test rows' generator where `draw` adds noise to the label (STS-B's score jitter):
    the same inputs and random draws, the rule's label."""
    unseen_test_share: float = 0.0
    """Share of the test rows drawn from the genres fine-tuning never shows."""


@dataclass(frozen=True)
class TsvFormat:
    """Where one GLUE task's TSV files keep the fields we read (0-based columns)."""

    folder: str
    texts: tuple[int, ...]
    """Columns of the task's `fields`, in their order."""
    label: int
    """Column of the label; -1 is the last column (its position differs between files)."""
    width: int | None = None
    """Column count of a file without a header row; None: the header row fixes it."""
    words: bool = False
    """The label is a label word (registry order), not a number."""
    skip_malformed: bool = False
    """Skip rows with the wrong column count or a non-integer label instead of failing (QQP,
    whose questions contain stray line breaks)."""
    files: tuple[tuple[str, str], ...] = (("train", "train.tsv"), ("test", "dev.tsv"))
    """Our split -> its file in `folder` (test: the official dev split)."""


@dataclass(frozen=True)
class Local:
    """Real data read from the benchmark's own files (source `local`, the directory
    `data.local.<benchmark>`)."""

    load: Ref
    """(task, directory, seed, validation_fraction) -> {split: frame}."""
    files: Ref
    """(task, directory) -> {official split: (path, ...)}: every file `load` opens. The cache
    stage checks them all before any job runs."""
    remedy: str
    """How to provide the files (said when one or the directory is missing)."""
    read: Ref | None = None
    """(task, {official split: paths}) -> {official split: rows}, where the benchmark's
    `load` reads each task its own way (decaNLP)."""
    near_miss: Ref | None = None
    """(task, directory, missing path) -> where the directory holds something close to the
    missing file (a raw download, SQuAD 2.0), the rest of the sentence "no <path>" that says
    so and what to do (", but <raw file> is there: ..."), said instead of `remedy`; else ""."""
    tsv: TsvFormat | None = None
    """GLUE: the task's TSV columns."""


@dataclass(frozen=True)
class Hub:
    """Real data from a hub dataset (source `hub`): the cache stage saves
    `datasets.load_dataset(id, config, revision=...)` into the workflow's cache, `load` reads
    that copy."""

    id: str
    load: Ref
    """(task, directory, seed, validation_fraction) -> {split: frame}; `directory` is the
    cache stage's folder for the task."""
    config: str = ""
    """The dataset's config ("" for its default)."""
    splits: tuple[tuple[str, str], ...] = (("train", "train"), ("test", "validation"))
    """Our official split -> the hub's split it is read from."""
    columns: tuple[str, ...] = ()
    """The hub columns `load` reads."""
    convert: Ref | None = None
    """(task, hub row) -> one example row, or None to skip it (decaNLP)."""
    folds: int = 1
    """The hub concatenates this many equal folds of each split; only the first is read."""


@dataclass(frozen=True)
class Metric:
    """One score of a task, x100."""

    name: str
    """Its key in metrics.json and the tables."""
    function: Ref
    """(predictions, gold, **inputs) -> score: classes or scores for classification and
    regression, texts and each example's list of gold answers for text answers."""
    inputs: tuple[str, ...] = ()
    """Data columns the function also takes, by keyword (WikiSQL's `lfem`: `headers`)."""


@dataclass(frozen=True)
class Task:
    """One task of a benchmark, as the paper uses it, and everything that handles its data."""

    name: str
    benchmark: str
    display: str
    kind: str
    fields: tuple[str, ...]
    """Text columns of the normalised data, in the order the data stores them."""
    metric_fns: tuple[Metric, ...]
    """Its metrics, the headline one (the one Table 1 reports) first."""
    parse: Ref
    """(task, generated text, the example's answer words) -> the answer it stands for, or
    None for a bad output (a class index, a score, or the text)."""
    generated: Generated | None = None
    local: Local | None = None
    from_hub: Hub | None = None
    """None where the hub has only a loading script (those tasks need local files)."""
    label_words: tuple[str, ...] = ()
    """Label words of the T5 paper; position = integer label in the data."""
    prompt: str = ""
    """Default (T5-style) prompt template; its placeholders are `fields`."""
    test_splits: tuple[str, ...] = ("test",)
    extra_columns: tuple[str, ...] = ()
    """Data columns beyond the kind's (WikiSQL: each table's `headers`)."""
    target_format: str = ""
    """How a regression target is written as text (STS-B: one decimal, '{:.1f}' as the paper's
    code writes it; the render stage's `stsb_target: t5` first rounds to 0.2 steps)."""
    unanswerable: bool = False
    """Span task whose gold answer may be the literal `UNANSWERABLE` (QA-ZRE)."""
    not_span_note: str = ""
    """Why some of its real gold answers are no span of the context, for the loader's note."""
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

    @property
    def prompt_fields(self) -> tuple[str, ...]:
        """Fields in the order the default prompt presents them (MNLI: hypothesis first)."""
        return tuple(f for _, f, _, _ in string.Formatter().parse(self.prompt) if f)

    @property
    def paper_key(self) -> str:
        """The task's name in the paper's results."""
        return self.paper_name or self.name

    @property
    def metric(self) -> str:
        """The headline metric's name."""
        return self.metric_fns[0].name

    @property
    def extra_metrics(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.metric_fns[1:])

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.metric_fns)

    @property
    def hub(self) -> str:
        """The hub dataset with the task's real data ("" where the hub has none)."""
        return self.from_hub.id if self.from_hub else ""

    @property
    def hub_config(self) -> str:
        return self.from_hub.config if self.from_hub else ""

    @property
    def splits(self) -> tuple[str, ...]:
        return ("train", "validation", *self.test_splits)


# --- what the entries name ---------------------------------------------------------------------

_METRICS = "taskconflict.metrics:"
_TEXT_METRICS = "taskconflict.text_metrics:"
ACCURACY = Metric("accuracy", _METRICS + "accuracy")
MCC = Metric("mcc", _METRICS + "mcc")
F1 = Metric("f1", _METRICS + "f1")
SPEARMAN = Metric("spearman", _METRICS + "spearman")
PEARSON = Metric("pearson", _METRICS + "pearson")
EM = Metric("em", _TEXT_METRICS + "em")
NF1 = Metric("nf1", _TEXT_METRICS + "nf1")
CORPUS_F1 = Metric("corpus_f1", _TEXT_METRICS + "corpus_f1")
LFEM = Metric("lfem", _TEXT_METRICS + "lfem", inputs=("headers",))
ROUGE = Metric("rouge", _TEXT_METRICS + "rouge")
BLEU = Metric("bleu", _TEXT_METRICS + "bleu")
"""decaNLP's metrics (`text_metrics`): an example scores as the best of its gold answers."""

PARSE_LABEL = _METRICS + "parse_label"
PARSE_SCORE = _METRICS + "parse_score"
PARSE_TEXT = _METRICS + "parse_text"

_GLUE_GENERATED = "taskconflict.data.glue_generated:"
_GLUE_REAL = "taskconflict.data.glue_real:"
_DECANLP_GENERATED = "taskconflict.data.decanlp_generated:"
_DECANLP_REAL = "taskconflict.data.decanlp_real:"

GLUE_REMEDY = ("point data.local.glue at a GLUE directory laid out as GLUE-baselines' "
               "download_glue_data.py writes it (CoLA/train.tsv, CoLA/dev.tsv, ...)")
_MRPC_REMEDY = ("MRPC's msr_paraphrase_*.txt files are not enough: download_glue_data.py "
                "--path_to_mrpc makes train.tsv and dev.tsv from them; " + GLUE_REMEDY)
DECANLP_REMEDY = ("point data.local.decanlp at decaNLP's .data directory (after decaNLP's "
                  "download: sst/, squad/, ...)")


def _glue_generated(task: str) -> Generated:
    return Generated(_GLUE_GENERATED + "generate_task", _GLUE_GENERATED + task)


def _glue_local(tsv: TsvFormat, remedy: str = GLUE_REMEDY) -> Local:
    return Local(load=_GLUE_REAL + "load_tsv", files=_GLUE_REAL + "tsv_files", remedy=remedy,
                 tsv=tsv)


_GLUE_SPLITS = (("train", "train"), ("test", "validation"))
"""GLUE's test labels are hidden, so its official dev split is our test split."""
_MNLI_SPLITS = (("train", "train"), ("test", "validation_matched"),
                ("test_mismatched", "validation_mismatched"))
_MNLI_FILES = (("train", "train.tsv"), ("test", "dev_matched.tsv"),
               ("test_mismatched", "dev_mismatched.tsv"))


def _glue_hub(config: str, fields: tuple[str, ...], splits=_GLUE_SPLITS) -> Hub:
    return Hub("nyu-mll/glue", _GLUE_REAL + "load_hub", config=config, splits=splits,
               columns=(*fields, "label"))


GLUE_TASKS: tuple[Task, ...] = (
    Task(
        name="cola",
        benchmark="glue",
        display="CoLA",
        kind=CLASSIFICATION,
        fields=("sentence",),
        metric_fns=(MCC,),
        parse=PARSE_LABEL,
        generated=_glue_generated("cola"),
        local=_glue_local(TsvFormat("CoLA", (3,), 1, width=4)),
        from_hub=_glue_hub("cola", ("sentence",)),
        label_words=("unacceptable", "acceptable"),
        prompt="cola sentence: {sentence}",
    ),
    Task(
        name="sst2",
        benchmark="glue",
        display="SST-2",
        kind=CLASSIFICATION,
        fields=("sentence",),
        metric_fns=(ACCURACY,),
        parse=PARSE_LABEL,
        generated=_glue_generated("sst2"),
        local=_glue_local(TsvFormat("SST-2", (0,), 1)),
        from_hub=_glue_hub("sst2", ("sentence",)),
        label_words=("negative", "positive"),
        prompt="sst2 sentence: {sentence}",
    ),
    Task(
        name="mrpc",
        benchmark="glue",
        display="MRPC",
        kind=CLASSIFICATION,
        fields=("sentence1", "sentence2"),
        metric_fns=(ACCURACY, F1),
        parse=PARSE_LABEL,
        generated=_glue_generated("mrpc"),
        local=_glue_local(TsvFormat("MRPC", (3, 4), 0), remedy=_MRPC_REMEDY),
        from_hub=_glue_hub("mrpc", ("sentence1", "sentence2")),
        label_words=("not_equivalent", "equivalent"),
        prompt="mrpc sentence1: {sentence1} sentence2: {sentence2}",
    ),
    Task(
        name="stsb",
        benchmark="glue",
        display="STS-B",
        kind=REGRESSION,
        fields=("sentence1", "sentence2"),
        metric_fns=(SPEARMAN, PEARSON),
        parse=PARSE_SCORE,
        generated=Generated(_GLUE_GENERATED + "generate_task", _GLUE_GENERATED + "stsb",
                            draw_test=_GLUE_GENERATED + "stsb_rule"),
        local=_glue_local(TsvFormat("STS-B", (7, 8), -1)),
        from_hub=_glue_hub("stsb", ("sentence1", "sentence2")),
        prompt="stsb sentence1: {sentence1} sentence2: {sentence2}",
        target_format="{:.1f}",
    ),
    Task(
        name="qqp",
        benchmark="glue",
        display="QQP",
        kind=CLASSIFICATION,
        fields=("question1", "question2"),
        metric_fns=(ACCURACY, F1),
        parse=PARSE_LABEL,
        generated=_glue_generated("qqp"),
        local=_glue_local(TsvFormat("QQP", (3, 4), 5, skip_malformed=True)),
        from_hub=_glue_hub("qqp", ("question1", "question2")),
        label_words=("not_duplicate", "duplicate"),
        prompt="qqp question1: {question1} question2: {question2}",
    ),
    Task(
        name="mnli",
        benchmark="glue",
        display="MNLI",
        kind=CLASSIFICATION,
        fields=("premise", "hypothesis"),
        metric_fns=(ACCURACY,),
        parse=PARSE_LABEL,
        generated=_glue_generated("mnli"),
        local=_glue_local(TsvFormat("MNLI", (8, 9), -1, words=True, files=_MNLI_FILES)),
        from_hub=_glue_hub("mnli", ("premise", "hypothesis"), splits=_MNLI_SPLITS),
        label_words=("entailment", "neutral", "contradiction"),
        prompt="mnli hypothesis: {hypothesis} premise: {premise}",
        test_splits=("test", "test_mismatched"),
    ),
    Task(
        name="qnli",
        benchmark="glue",
        display="QNLI",
        kind=CLASSIFICATION,
        fields=("question", "sentence"),
        metric_fns=(ACCURACY,),
        parse=PARSE_LABEL,
        generated=_glue_generated("qnli"),
        local=_glue_local(TsvFormat("QNLI", (1, 2), -1, words=True)),
        from_hub=_glue_hub("qnli", ("question", "sentence")),
        label_words=("entailment", "not_entailment"),
        prompt="qnli question: {question} sentence: {sentence}",
    ),
    Task(
        name="rte",
        benchmark="glue",
        display="RTE",
        kind=CLASSIFICATION,
        fields=("sentence1", "sentence2"),
        metric_fns=(ACCURACY,),
        parse=PARSE_LABEL,
        generated=_glue_generated("rte"),
        local=_glue_local(TsvFormat("RTE", (1, 2), -1, words=True)),
        from_hub=_glue_hub("rte", ("sentence1", "sentence2")),
        label_words=("entailment", "not_entailment"),
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


def _decanlp_generated(task: str, unseen_test_share: float = 0.0) -> Generated:
    return Generated(_DECANLP_GENERATED + "generate_decanlp_task", _DECANLP_GENERATED + task,
                     unseen_test_share=unseen_test_share)


def _decanlp_local(files: str, read: str, near_miss: str | None = None) -> Local:
    return Local(load=_DECANLP_REAL + "load_local", files=_DECANLP_REAL + files,
                 remedy=DECANLP_REMEDY, read=_DECANLP_REAL + read,
                 near_miss=_DECANLP_REAL + near_miss if near_miss else None)


def _decanlp_hub(id: str, convert: str, columns: tuple[str, ...], config: str = "",
                 test: str = "validation", folds: int = 1) -> Hub:
    return Hub(id, _DECANLP_REAL + "load_hub", config=config,
               splits=(("train", "train"), ("test", test)), columns=columns,
               convert=_DECANLP_REAL + convert, folds=folds)


DECANLP_TASKS: tuple[Task, ...] = (
    Task(
        name="sst",
        benchmark="decanlp",
        display="SST",
        kind=CLASSIFICATION,
        fields=DECANLP_FIELDS,
        metric_fns=(ACCURACY,),
        parse=PARSE_LABEL,
        generated=_decanlp_generated("sst"),
        local=_decanlp_local("sst_files", "read_sst"),
        from_hub=_decanlp_hub("SetFit/sst2", "hub_sst", ("text", "label")),
        label_words=("negative", "positive"),
        prompt=DECANLP_PROMPT,
        question_format="is this review negative or positive ?",
    ),
    Task(
        name="mnli_deca",
        benchmark="decanlp",
        display="MNLI",
        kind=CLASSIFICATION,
        fields=DECANLP_FIELDS,
        metric_fns=(ACCURACY,),
        parse=PARSE_LABEL,
        generated=_decanlp_generated("mnli_deca"),
        local=_decanlp_local("mnli_files", "read_mnli"),
        from_hub=_decanlp_hub("nyu-mll/multi_nli", "hub_mnli", ("premise", "hypothesis", "label"),
                              test="validation_matched"),
        label_words=("entailment", "neutral", "contradiction"),
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
        metric_fns=(BLEU,),
        parse=PARSE_TEXT,
        generated=_decanlp_generated("iwslt"),
        local=_decanlp_local("iwslt_files", "read_iwslt"),
        prompt=DECANLP_PROMPT,
        question_format="translate from english to german",
    ),
    Task(
        name="cnn_dm",
        benchmark="decanlp",
        display="CNN/DM",
        kind=SEQUENCE,
        fields=DECANLP_FIELDS,
        metric_fns=(ROUGE,),
        parse=PARSE_TEXT,
        generated=_decanlp_generated("cnn_dm"),
        local=_decanlp_local("cnn_dm_files", "read_cnn_dm"),
        from_hub=_decanlp_hub("abisee/cnn_dailymail", "hub_cnn_dm", ("article", "highlights"),
                              config="3.0.0"),
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
        metric_fns=(LFEM,),
        parse=PARSE_TEXT,
        generated=_decanlp_generated("wikisql"),
        local=_decanlp_local("wikisql_files", "read_wikisql"),
        prompt=DECANLP_PROMPT,
        extra_columns=("headers",),
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
        display="SQuAD",
        kind=SPAN,
        fields=DECANLP_FIELDS,
        metric_fns=(NF1,),
        parse=PARSE_TEXT,
        generated=_decanlp_generated("squad"),
        local=_decanlp_local("squad_files", "read_squad", near_miss="squad_2_instead"),
        from_hub=_decanlp_hub("rajpurkar/squad", "hub_squad", ("context", "question", "answers"),
                              config="plain_text"),
        prompt=DECANLP_PROMPT,
    ),
    Task(
        name="srl",
        benchmark="decanlp",
        display="QA-SRL",
        kind=SPAN,
        fields=DECANLP_FIELDS,
        metric_fns=(NF1,),
        parse=PARSE_TEXT,
        generated=_decanlp_generated("srl"),
        local=_decanlp_local("srl_files", "read_qa_jsonl", near_miss="srl_raw_download"),
        prompt=DECANLP_PROMPT,
        paper_name="qa_srl",
    ),
    Task(
        name="zre",
        benchmark="decanlp",
        display="QA-ZRE",
        kind=SPAN,
        fields=DECANLP_FIELDS,
        metric_fns=(CORPUS_F1,),
        parse=PARSE_TEXT,
        generated=_decanlp_generated("zre"),
        local=_decanlp_local("zre_files", "read_qa_jsonl", near_miss="zre_raw_download"),
        # community-datasets/qa_zre concatenates the 10 folds of the zero-shot relation splits
        # in fold order (8.4M / 6,000 / 120,000 rows = 10 x decaNLP's 840,000 / 600 / 12,000);
        # decaNLP uses fold 0 only, and another fold's train holds this fold's dev relations
        from_hub=_decanlp_hub("community-datasets/qa_zre", "hub_zre",
                              ("question", "subject", "context", "answers"), folds=10),
        prompt=DECANLP_PROMPT,
        unanswerable=True,
        not_span_note='decaNLP joins several answers with ", "',
        paper_name="qa_zre",
    ),
    Task(
        name="winograd",
        benchmark="decanlp",
        display="Wino",
        kind=SPAN,
        fields=DECANLP_FIELDS,
        metric_fns=(EM,),
        parse=PARSE_TEXT,
        # a tenth of the generated test schemas name deeds whose doers only the pre-training
        # corpus states: commonsense the model must bring, as in real Winograd schemas
        generated=_decanlp_generated("winograd", unseen_test_share=0.1),
        local=_decanlp_local("winograd_files", "read_winograd"),
        prompt=DECANLP_PROMPT,
        paper_name="wino",
    ),
)

TASKS: dict[str, Task] = {t.name: t for t in (*GLUE_TASKS, *DECANLP_TASKS)}
BENCHMARKS: dict[str, tuple[str, ...]] = {
    "glue": tuple(t.name for t in GLUE_TASKS),
    "decanlp": tuple(t.name for t in DECANLP_TASKS),
}
BENCHMARK_TITLES = {"glue": "GLUE", "decanlp": "DecaNLP"}


def benchmark_title(benchmark: str) -> str:
    """A benchmark as the paper writes it."""
    return BENCHMARK_TITLES.get(benchmark, benchmark)


def benchmark_titles(benchmarks) -> str:
    """Several benchmarks as one phrase: "GLUE and DecaNLP"."""
    return " and ".join(map(benchmark_title, benchmarks))


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
        lines.extend(word.replace("_", " _ ") for word in task.label_words)
        lines.extend(task.label_words)
        for text in (task.question_format, task.context_format, task.vocabulary):
            if text:
                lines.append(string.Formatter().vformat(text, (), _Blank()))
    lines.append(UNANSWERABLE)
    lines.append(" ".join(f"{x / 10:.1f}" for x in range(0, 51)))  # STS-B targets, 0.1 steps
    return lines


def all_label_words() -> list[str]:
    """Every label word of every task, once."""
    return sorted({word for task in TASKS.values() for word in task.label_words})


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""
