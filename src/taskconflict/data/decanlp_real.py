"""The real DecaNLP tasks, read into the normalised data schema.

The schema is the generated benchmark's (`decanlp_generated.columns`): `idx`, `context`,
`question`, `answer` (the training target), `answers` (every distinct gold answer, `answer`
first: the metrics score the best of them, as decaNLP does); `label` for SST and MNLI (position
of the answer in `Task.label_words`), `answer_start` for the span tasks, `headers` for WikiSQL
(the table's column names). Everything is lowercased, as decaNLP lowercases by default. The
fixed questions and the MNLI / WikiSQL contexts follow the registry's `question_format` /
`context_format` literally (decaNLP's own wording, lowercased, with punctuation spaced off as in
the generated world), so a model sees the same task question on generated and real data; SQuAD,
QA-SRL, QA-ZRE and Winograd keep the example's own question.

Gold answers: SQuAD keeps every distinct text of a question's `answers` (the v1.1 JSON list, the
hub's `answers.text`; 57% of the dev questions have another distinct one), the first being the
target and the span; QA-SRL keeps decaNLP's `all_answers`; the other tasks have one answer
(QA-ZRE's joined string is one answer, as decaNLP scores it). Distinct means distinct once
lowercased and stripped.

`answer_start` is the character offset of `answer` in the context, or one of two sentinels:
UNANSWERABLE_START (-1) where the answer is QA-ZRE's `unanswerable`, and NOT_A_SPAN (-2) where
the gold answer is text that is no span of the context. NOT_A_SPAN rows are kept in every split:
they are text-to-text targets like any other row, span-head training skips them (with a count,
`batches.load_task_data`), and evaluation scores a span head's predicted text against their gold
text. Most are QA-ZRE questions with several answers, which decaNLP joins with ", " into one
target that is no span; Winograd answers that only the question names are others.

Two sources, so that a run never needs the network after the cache stage; each task's registry
entry names its functions here:

- `decanlp` (source local): decaNLP's data root (`.data/` after its download):
  `sst/{train,dev}_binary_sent.csv`; `multinli/multinli_1.0/multinli_1.0_{train,dev_matched}
  .jsonl`; `iwslt/en-de/` (train `train.tags.en-de.{en,de}`, tag lines skipped; dev
  `IWSLT16.TED.tst2013.en-de.{en,de}.xml`, the `<seg>` texts); `cnn/` and `dailymail/`
  `{training,validation}.jsonl` (also found one level deeper, `cnn/cnn/`, where decaNLP's
  downloader puts them); `wikisql/data/{train,dev}.jsonl` with `{split}.tables.jsonl`;
  `squad/{train,dev}-v1.1.json`; `srl/{train,dev}.jsonl`; `zre/{train,dev}.jsonl` (or
  `zre/relation_splits/`, decaNLP's fold 0); `schema/schema.txt`. Each task's `*_files` says
  which files it reads, its `read_*` reads them.
- `hub` (source hub): the cache stage's copy of the task's hub dataset (`Task.from_hub`), each
  row turned into an example by the task's `hub_*` converter. Only five tasks have a hub copy;
  the others have only a loading script there and need the `decanlp` layout.

Splits: `test` is the official dev split decaNLP validates on (SST dev, MNLI dev matched,
IWSLT tst2013, CNN/DM validation, WikiSQL / SQuAD / QA-SRL / QA-ZRE dev, Winograd decaNLP's
validation cut); `train` is the official train split less a seeded `validation_fraction` held
out as `validation` (numpy `default_rng(seed).permutation`, at least one row, file order kept).

Span answers are located in their context: the given offset where it still points at the
answer, else the first whole-word occurrence, else the first occurrence anywhere (texts are
lowercased, so this is the case-insensitive match). An answer found nowhere keeps its row with
`answer_start` NOT_A_SPAN, counted in a note per official split and in each frame's
`attrs["not_spans"]`. Rows with an empty context, question or answer are dropped, with a note
that names their files and lines.

Near misses get a message that says what to do: the raw QA-SRL (`srl/wiki1.<split>.qa`) or
QA-ZRE (`zre/relation_splits/<split>.0`) download without the jsonl files decaNLP writes from it
on its first run, and a SQuAD 2.0 file (questions with `is_impossible` / `plausible_answers`, or
hub rows without an answer) where v1.1 is needed.
"""

from __future__ import annotations

import csv
import html
import json
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from taskconflict import registry
from taskconflict.data import sources
from taskconflict.data.decanlp_generated import render_sql, rows_to_frame
from taskconflict.data.holdout import held_out
from taskconflict.registry import NOT_A_SPAN, UNANSWERABLE_START

LAYOUTS = ("decanlp", "hub")

AGGREGATION_OPS = ("", "max", "min", "count", "sum", "avg")
"""WikiSQL's `sql.agg` index -> aggregation (as WikiSQL's `Query.agg_ops`, lowercased)."""
CONDITION_OPS = ("=", ">", "<")
"""WikiSQL's condition operator index -> operator (index 3, `OP`, is never used in the data)."""

WINOGRAD_TRAIN = 80
WINOGRAD_HELD_OUT = 100
"""decaNLP cuts the examples of schema.txt (two per schema) into train = the first 80,
validation = the rest but the last 100, test = the last 100. Its validation is our test; its
test is not read."""

_NO_HUB = ("decanlp {task}: the hub has no parquet or jsonl copy of this task; it needs a local "
           "decaNLP directory (layout decanlp: {remedy})")

_SQUAD_V1 = ("the paper and decaNLP use SQuAD v1.1: put train-v1.1.json and dev-v1.1.json "
             "(https://rajpurkar.github.io/SQuAD-explorer/, which decaNLP's download also "
             "fetches) in {folder}")
_DECANLP_RUN = ("decaNLP writes {split}.jsonl from it on its first run: run decaNLP once on the "
                "task (`python train.py --train_tasks {task}` in its checkout, with its .data "
                "directory; the jsonl files are written before training starts, so it may be "
                "stopped then), or point data.local.decanlp at a .data directory that holds "
                "{jsonl}")

Row = dict[str, Any]
"""One example: context, question, answer; label or a hinted answer_start, headers; answers
where there are more gold answers than `answer`; `at`, where it comes from (`sources.Place`)."""
Files = dict[str, tuple[Path, ...]]
"""Official split -> the files it is read from."""


def load_decanlp_task(task: str, layout: str, directory: str | Path, seed: int,
                      validation_fraction: float) -> dict[str, pd.DataFrame]:
    """All splits of one real DecaNLP task, normalised, from decaNLP's files or the cache
    stage's copy of the hub dataset (`layout` hub)."""
    names = registry.BENCHMARKS["decanlp"]
    if task not in names:
        raise ValueError(f"unknown DecaNLP task {task!r}; DecaNLP tasks: {', '.join(names)}")
    if layout not in LAYOUTS:
        raise ValueError(
            f"decanlp {task}: unknown layout {layout!r}; layouts: {', '.join(LAYOUTS)}"
        )
    load = load_local if layout == "decanlp" else load_hub
    return load(registry.get_task(task), Path(directory), seed, validation_fraction)


def load_local(task: registry.Task, directory: Path, seed: int,
               validation_fraction: float) -> dict[str, pd.DataFrame]:
    """All splits of a task from decaNLP's files (`Local.load` of the DecaNLP tasks): the
    task's `Local.read` reads the files its `Local.files` names."""
    _check_fraction(task, validation_fraction)
    files = sources.require(task, directory)
    assert task.local is not None and task.local.read is not None
    official = registry.resolve(task.local.read)(task, files)
    return _finish(task, official, seed, validation_fraction)


def load_hub(task: registry.Task, directory: Path, seed: int,
             validation_fraction: float) -> dict[str, pd.DataFrame]:
    """All splits of a task from the cache stage's copy of its hub dataset (`Hub.load` of the
    DecaNLP tasks): each row of the hub split becomes an example by the task's converter."""
    hub = task.from_hub
    if hub is None:
        assert task.local is not None
        tasks = [t for t in registry.BENCHMARKS["decanlp"] if registry.get_task(t).from_hub]
        raise ValueError(_NO_HUB.format(task=task.name, remedy=task.local.remedy)
                         + f"; the hub layout covers only {', '.join(tasks)}")
    _check_fraction(task, validation_fraction)
    official = {ours: _hub_rows(task, directory, theirs) for ours, theirs in hub.splits}
    return _finish(task, official, seed, validation_fraction)


def _check_fraction(task: registry.Task, validation_fraction: float) -> None:
    if not 0 < validation_fraction < 1:
        raise ValueError(f"decanlp {task.name}: validation_fraction must lie in (0, 1), not "
                         f"{validation_fraction}")


def _finish(task: registry.Task, official: dict[str, list[Row]], seed: int,
            fraction: float) -> dict[str, pd.DataFrame]:
    pool = _usable(task, official["train"], "train")
    test = _usable(task, official["test"], "test")
    train, validation = _hold_out(task, pool, seed, fraction)
    return {"train": _frame(task, train), "validation": _frame(task, validation),
            "test": _frame(task, test)}  # fmt: skip


# --- shared plumbing ---------------------------------------------------------------------------

def _first_dir(root: Path, *candidates: str) -> Path:
    """The first candidate folder that exists (decaNLP nests some tasks one level deeper)."""
    for candidate in candidates:
        if (root / candidate).is_dir():
            return root / candidate
    return root / candidates[-1]


def _lower(text: Any) -> str:
    return _str(text).strip().lower()


def _spaced(text: Any) -> str:
    """Lowercased with whitespace runs collapsed (questions, headers, SQL values)."""
    return " ".join(_str(text).split()).lower()


def _str(text: Any) -> str:
    if not isinstance(text, str):
        raise TypeError(f"expected a string, got {text!r}")
    return text


def _fail(task: str, path: Path, line: int, message: str) -> ValueError:
    return ValueError(f"decanlp {task}: {path} line {line}: {message}")


def _at(path: Path, line: int, unit: str = "line") -> sources.Place:
    return (str(path), unit, line)


def _jsonl(task: str, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of each non-blank line of a JSON-lines file."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as error:
                raise _fail(task, path, number, f"not JSON ({error.msg})") from None
            if not isinstance(value, dict):
                raise _fail(task, path, number, "not a JSON object")
            yield number, value


def _fields(task: str, path: Path, line: int, record: dict[str, Any], *names: str) -> list[Any]:
    absent = [name for name in names if name not in record]
    if absent:
        raise _fail(task, path, line, f"missing field(s) {', '.join(absent)}")
    return [record[name] for name in names]


def _texts(task: str, path: Path, line: int, record: dict[str, Any], *names: str) -> list[str]:
    """Like `_fields`, for fields that must hold text."""
    values = _fields(task, path, line, record, *names)
    for name, value in zip(names, values, strict=True):
        if not isinstance(value, str):
            raise _fail(task, path, line, f"field {name} is {value!r}, not text")
    return values


# --- building rows -----------------------------------------------------------------------------

def _classified(task: registry.Task, label: int, **inputs: str) -> Row:
    """SST / MNLI: the registry's context and question around the lowercased raw inputs."""
    inputs = {key: _lower(value) for key, value in inputs.items()}
    context = task.context_format.format(**inputs) if task.context_format else inputs["sentence"]
    return {"context": context, "question": task.question_format.format(**inputs),
            "answer": task.label_words[label], "label": label}  # fmt: skip


def _sst_row(task: registry.Task, sentence: str, label: int) -> Row:
    return _classified(task, label, sentence=sentence)


def _mnli_row(task: registry.Task, premise: str, hypothesis: str, label: int) -> Row:
    return _classified(task, label, premise=premise, hypothesis=hypothesis)


def _fixed_question(task: registry.Task, context: str, answer: str) -> Row:
    """IWSLT / CNN/DM: the task's fixed question."""
    return {"context": _lower(context), "question": task.question_format,
            "answer": _lower(answer)}  # fmt: skip


def _span_row(context: str, question: str, answer: str, start: int | None = None,
              alternatives: list[str] | tuple[str, ...] = ()) -> Row:
    """A QA example; `start` is the answer's offset in the raw context, where given;
    `alternatives` are the other gold answers (repeats and empty ones are left out)."""
    hint = None
    if start is not None and 0 <= start <= len(context):
        lead = len(context) - len(context.lstrip())
        skipped = len(answer) - len(answer.lstrip())
        # lowercasing may change a text's length: count the lowercased prefix
        hint = len(context[lead:start + skipped].lower()) if start + skipped >= lead else None
    return {"context": _lower(context), "question": _spaced(question), "answer": _lower(answer),
            "answers": [_lower(a) for a in alternatives], "hint": hint}  # fmt: skip


def _locate(task: registry.Task, row: Row) -> int | None:
    """The answer's character offset in the context; UNANSWERABLE_START if unanswerable; None
    if not found."""
    context, answer = row["context"], row["answer"]
    if task.unanswerable and answer == registry.UNANSWERABLE:
        return UNANSWERABLE_START
    if not answer:
        return None
    hint = row.get("hint")
    if hint is not None and context.startswith(answer, hint):
        return hint
    word = re.search(rf"(?<!\w){re.escape(answer)}(?!\w)", context)
    if word:
        return word.start()
    start = context.find(answer)
    return start if start >= 0 else None


def _usable(task: registry.Task, rows: list[Row], split: str) -> list[Row]:
    """Rows with a context, question and answer; span rows with their answer_start, NOT_A_SPAN
    (named in a note) where the answer is found nowhere in the context."""
    kept: list[Row] = []
    empty: list[sources.Place] = []
    unlocated: list[sources.Place] = []
    for row in rows:
        if not all(row[key].strip() for key in ("context", "question", "answer")):
            empty.append(row["at"])
            continue
        if task.kind == registry.SPAN:
            start = _locate(task, row)
            if start is None:
                unlocated.append(row["at"])
                start = NOT_A_SPAN
            row = {**row, "answer_start": start}
        kept.append(row)
    if empty:
        sources.note(f"decanlp {task.name}: dropped {len(empty)} of {len(rows)} official {split} "
                     f"rows with an empty context, question or answer: {sources.places(empty)}")
    if unlocated:
        why = f" ({task.not_span_note})" if task.not_span_note else ""
        use = ("span heads do not train on them" if split == "train"
               else "span heads are scored on their text")  # fmt: skip
        sources.note(f"decanlp {task.name}: {len(unlocated)} of {len(rows)} official {split} rows "
                     f"have an answer that is not a span of their context{why}; kept with "
                     f"answer_start {NOT_A_SPAN} (not a span) as text targets, {use}: "
                     f"{sources.places(unlocated)}")
    return kept


def _hold_out(task: registry.Task, rows: list[Row], seed: int,
              fraction: float) -> tuple[list[Row], list[Row]]:
    """(train, validation): a seeded random `fraction` of the rows held out, order kept."""
    held = held_out(len(rows), seed, fraction, f"decanlp {task.name}")
    return ([row for row, h in zip(rows, held, strict=True) if not h],
            [row for row, h in zip(rows, held, strict=True) if h])  # fmt: skip


def _frame(task: registry.Task, rows: list[Row]) -> pd.DataFrame:
    """The generated benchmark's columns and dtypes; span tasks also count their rows whose
    answer is not a span of the context (`attrs["not_spans"]`)."""
    frame = rows_to_frame(task, rows)
    if task.kind == registry.SPAN:
        frame.attrs["not_spans"] = int((frame["answer_start"] == NOT_A_SPAN).sum())
    return frame


# --- the decaNLP layout: SST, MNLI -------------------------------------------------------------

def sst_files(task: registry.Task, root: Path) -> Files:
    return {"train": (root / "sst" / "train_binary_sent.csv",),
            "test": (root / "sst" / "dev_binary_sent.csv",)}  # fmt: skip


def read_sst(task: registry.Task, files: Files) -> dict[str, list[Row]]:
    return {split: list(_sst_csv(task, path)) for split, (path,) in files.items()}


def _sst_csv(task: registry.Task, path: Path) -> Iterator[Row]:
    """`label,sentence` rows (header first), label 0 negative / 1 positive."""
    with path.open(encoding="utf-8-sig", newline="") as file:
        reader = csv.reader(file)
        header = next(reader, None)
        if header is None or len(header) != 2 or header[0].strip().lower() != "label":
            raise _fail(task.name, path, 1, f"header {header}, expected label,sentence")
        start = reader.line_num + 1
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not cells:
                continue
            if len(cells) != 2 or cells[0].strip() not in ("0", "1"):
                raise _fail(task.name, path, line,
                            f"expected `label,sentence` with label 0 or 1, got {cells}")
            yield {**_sst_row(task, cells[1], int(cells[0])), "at": _at(path, line)}


def mnli_files(task: registry.Task, root: Path) -> Files:
    folder = root / "multinli" / "multinli_1.0"
    return {"train": (folder / "multinli_1.0_train.jsonl",),
            "test": (folder / "multinli_1.0_dev_matched.jsonl",)}  # fmt: skip


def read_mnli(task: registry.Task, files: Files) -> dict[str, list[Row]]:
    words = task.label_words
    out: dict[str, list[Row]] = {}
    for split, (path,) in files.items():
        rows = []
        for line, record in _jsonl(task.name, path):
            premise, hypothesis, gold = _texts(task.name, path, line, record,
                                               "sentence1", "sentence2", "gold_label")
            if gold == "-":  # annotators disagreed: no gold label
                continue
            if gold not in words:
                raise _fail(task.name, path, line, f"unknown gold_label {gold!r}")
            rows.append({**_mnli_row(task, premise, hypothesis, words.index(gold)),
                         "at": _at(path, line)})
        out[split] = rows
    return out


# --- IWSLT, CNN/DM, WikiSQL --------------------------------------------------------------------

def iwslt_files(task: registry.Task, root: Path) -> Files:
    folder = root / "iwslt" / "en-de"
    return {"train": tuple(folder / f"train.tags.en-de.{lang}" for lang in ("en", "de")),
            "test": tuple(folder / f"IWSLT16.TED.tst2013.en-de.{lang}.xml"
                          for lang in ("en", "de"))}  # fmt: skip


def read_iwslt(task: registry.Task, files: Files) -> dict[str, list[Row]]:
    return {"train": _iwslt_train(task, *files["train"]), "test": _iwslt_xml(task, *files["test"])}


def _iwslt_train(task: registry.Task, english: Path, german: Path) -> list[Row]:
    """The train.tags files: one sentence a line, talk metadata on lines starting with `<`.

    As decaNLP: metadata lines are removed from each file, the rest paired line by line, and
    pairs with an empty side skipped.
    """
    def text_lines(path: Path) -> list[tuple[int, str]]:
        with path.open(encoding="utf-8") as lines:
            return [(number, line.strip()) for number, line in enumerate(lines, start=1)
                    if not line.lstrip().startswith("<")]

    sources_, targets = text_lines(english), text_lines(german)
    if len(sources_) != len(targets):
        raise ValueError(f"decanlp {task.name}: {english} has {len(sources_)} text lines but "
                         f"{german} has {len(targets)}; they must pair line by line")
    return [{**_fixed_question(task, s, t), "at": _at(english, line)}
            for (line, s), (_, t) in zip(sources_, targets, strict=True) if s and t]


_SEG = re.compile(r'<seg\s+id\s*=\s*"([^"]*)"\s*>(.*?)</seg>')


def _iwslt_xml(task: registry.Task, english: Path, german: Path) -> list[Row]:
    """The dev/test XML files: one `<seg id="N">text</seg>` a line, paired in order."""
    def segments(path: Path) -> list[tuple[str, str, int]]:
        found = []
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if "<seg" not in line:
                    continue
                match = _SEG.search(line)
                if match is None:
                    raise _fail(task.name, path, number, 'expected <seg id="...">text</seg>')
                found.append((match[1], html.unescape(match[2]).strip(), number))
        return found

    sources_, targets = segments(english), segments(german)
    if [i for i, _, _ in sources_] != [i for i, _, _ in targets]:
        raise ValueError(f"decanlp {task.name}: the <seg> ids of {english} and {german} differ "
                         f"({len(sources_)} and {len(targets)} segments)")
    return [{**_fixed_question(task, s, t), "at": _at(english, line)}
            for (_, s, line), (_, t, _) in zip(sources_, targets, strict=True) if s and t]


def cnn_dm_files(task: registry.Task, root: Path) -> Files:
    folders = [_first_dir(root, f"{name}/{name}", name) for name in ("cnn", "dailymail")]
    return {split: tuple(folder / name for folder in folders)
            for split, name in (("train", "training.jsonl"), ("test", "validation.jsonl"))}


def read_cnn_dm(task: registry.Task, files: Files) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {}
    for split, paths in files.items():
        out[split] = []
        for path in paths:
            for line, record in _jsonl(task.name, path):
                context, answer = _texts(task.name, path, line, record, "context", "answer")
                out[split].append({**_fixed_question(task, context, answer),
                                   "at": _at(path, line)})
    return out


def wikisql_files(task: registry.Task, root: Path) -> Files:
    folder = root / "wikisql" / "data"
    return {split: (folder / f"{name}.jsonl", folder / f"{name}.tables.jsonl")
            for split, name in (("train", "train"), ("test", "dev"))}


def read_wikisql(task: registry.Task, files: Files) -> dict[str, list[Row]]:
    return {split: _wikisql_split(task, path, tables)
            for split, (path, tables) in files.items()}  # fmt: skip


def _wikisql_split(task: registry.Task, path: Path, tables_path: Path) -> list[Row]:
    """WikiSQL examples: the question and table headers in the registry's context, the query
    in the project's SQL (`render_sql`), which `text_metrics.lfem` parses back."""
    tables: dict[str, list[str]] = {}
    for line, record in _jsonl(task.name, tables_path):
        table_id, header = _fields(task.name, tables_path, line, record, "id", "header")
        if not isinstance(header, list) or not header or not all(
                isinstance(h, str) for h in header):
            raise _fail(task.name, tables_path, line, "header is not a non-empty list of text")
        tables[str(table_id)] = [_spaced(h) for h in header]
    rows = []
    for line, record in _jsonl(task.name, path):
        question, table_id = _texts(task.name, path, line, record, "question", "table_id")
        (sql,) = _fields(task.name, path, line, record, "sql")
        headers = tables.get(str(table_id))
        if headers is None:
            raise _fail(task.name, path, line, f"table {table_id!r} is not in {tables_path}")
        try:
            answer = _sql(sql, headers)
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise _fail(task.name, path, line, f"bad sql {sql!r} ({error})") from None
        context = task.context_format.format(headers=" , ".join(headers),
                                             question=_spaced(question))
        rows.append({"context": context, "question": task.question_format, "answer": answer,
                     "headers": headers, "at": _at(path, line)})  # fmt: skip
    return rows


def _sql(sql: dict[str, Any], headers: list[str]) -> str:
    """`{sel, agg, conds: [[column, operator, value]]}` as `select agg ( column ) from table
    where column op value and ...`, columns named by the lowercased headers."""
    def index(value: Any, size: int, what: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < size:
            raise ValueError(f"{what} index {value!r} outside 0..{size - 1}")
        return value

    column = headers[index(sql["sel"], len(headers), "sel")]
    aggregation = AGGREGATION_OPS[index(sql["agg"], len(AGGREGATION_OPS), "agg")]
    conditions = []
    for condition in sql["conds"]:
        where, operator, value = condition
        conditions.append((headers[index(where, len(headers), "condition column")],
                           CONDITION_OPS[index(operator, len(CONDITION_OPS), "operator")],
                           _spaced(str(value))))  # fmt: skip
        if not conditions[-1][2]:
            raise ValueError("empty condition value")
    return render_sql((column, aggregation, tuple(conditions)))


# --- SQuAD -------------------------------------------------------------------------------------

def squad_files(task: registry.Task, root: Path) -> Files:
    folder = root / "squad"
    return {"train": (folder / "train-v1.1.json",), "test": (folder / "dev-v1.1.json",)}


def squad_2_instead(task: registry.Task, root: Path, path: Path) -> str:
    """Where a v1.1 file is missing but its SQuAD 2.0 namesake is there, say v1.1 is needed."""
    version_2 = path.parent / path.name.replace("v1.1", "v2.0")
    if not version_2.is_file():
        return ""
    return f", only {version_2}, which is SQuAD 2.0; " + _SQUAD_V1.format(folder=path.parent)


def read_squad(task: registry.Task, files: Files) -> dict[str, list[Row]]:
    return {split: _squad_json(task, path) for split, (path,) in files.items()}


_SQUAD_2_FIELDS = ("is_impossible", "plausible_answers")


def _squad_json(task: registry.Task, path: Path) -> list[Row]:
    """SQuAD v1.1 JSON: data -> paragraphs -> context, qas -> question, answers (every distinct
    text; the first is the target, at its answer_start)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise _fail(task.name, path, error.lineno, f"not JSON ({error.msg})") from None
    newer = _squad_2_sign(data)
    if newer:
        raise ValueError(f"decanlp {task.name}: {path} is SQuAD 2.0 ({newer}); "
                         + _SQUAD_V1.format(folder=path.parent))
    rows = []
    try:
        for document in data["data"]:
            for paragraph in document["paragraphs"]:
                context = paragraph["context"]
                for qa in paragraph["qas"]:
                    answers = qa["answers"]
                    first = answers[0]
                    row = _span_row(context, qa["question"], first["text"],
                                    int(first["answer_start"]),
                                    [_str(a["text"]) for a in answers[1:]])
                    rows.append({**row, "at": _at(path, len(rows) + 1, "question")})
    except (KeyError, IndexError, TypeError, ValueError) as error:
        raise ValueError(f"decanlp {task.name}: {path} is not SQuAD v1.1 JSON (data -> "
                         f"paragraphs -> qas -> answers): {error!r}") from None
    return rows


def _squad_2_sign(data: Any) -> str | None:
    """What marks parsed SQuAD JSON as version 2.0, if anything: its `version`, or a question
    with `is_impossible` / `plausible_answers`. None for v1.1 (and for malformed JSON, which
    the reader reports)."""
    try:
        if str(data.get("version", "")).lstrip("v").startswith("2"):
            return f"version {data['version']!r}"
        for document in data["data"]:
            for paragraph in document["paragraphs"]:
                for qa in paragraph["qas"]:
                    newer = [f for f in _SQUAD_2_FIELDS if f in qa]
                    if newer:
                        return f"question {qa.get('id')!r} has {' and '.join(newer)}"
    except (AttributeError, KeyError, TypeError):
        return None
    return None


# --- QA-SRL, QA-ZRE ----------------------------------------------------------------------------

def srl_files(task: registry.Task, root: Path) -> Files:
    return _qa_jsonl_files(root / "srl")


def zre_files(task: registry.Task, root: Path) -> Files:
    return _qa_jsonl_files(_first_dir(root, "zre/relation_splits", "zre"))


def _qa_jsonl_files(folder: Path) -> Files:
    return {"train": (folder / "train.jsonl",), "test": (folder / "dev.jsonl",)}


def srl_raw_download(task: registry.Task, root: Path, path: Path) -> str:
    return _raw_download(task, root, path, "wiki1.{split}.qa")


def zre_raw_download(task: registry.Task, root: Path, path: Path) -> str:
    return _raw_download(task, root, path, "{split}.0")


def _raw_download(task: registry.Task, root: Path, path: Path, raw_name: str) -> str:
    """Where a jsonl file is missing but decaNLP's raw download `raw_name` is there, what to
    do (decaNLP converts one into the other on its first run)."""
    raw = path.parent / raw_name.format(split=path.stem)
    if not raw.is_file():
        return ""
    jsonl = " and ".join(str(p.relative_to(root)) for p in sources.needed_files(task, root))
    return (f", but {raw} is there: that is the raw download; "
            + _DECANLP_RUN.format(split=path.stem, task=task.name, jsonl=jsonl))


def read_qa_jsonl(task: registry.Task, files: Files) -> dict[str, list[Row]]:
    """QA-SRL and QA-ZRE: decaNLP's {context, question, answer} jsonl files (ZRE: fold 0);
    QA-SRL's `all_answers`, where present, are its other gold answers."""
    out: dict[str, list[Row]] = {}
    for split, (path,) in files.items():
        out[split] = []
        for line, record in _jsonl(task.name, path):
            context, question, answer = _texts(task.name, path, line, record,
                                               "context", "question", "answer")
            alternatives = record.get("all_answers", [])
            if not isinstance(alternatives, list) or not all(
                    isinstance(a, str) for a in alternatives):
                raise _fail(task.name, path, line, "all_answers is not a list of text")
            row = _span_row(context, question, answer, alternatives=alternatives)
            out[split].append({**row, "at": _at(path, line)})
    return out


# --- Winograd ----------------------------------------------------------------------------------

def winograd_files(task: registry.Task, root: Path) -> Files:
    schema = root / "schema" / "schema.txt"
    return {"train": (schema,), "test": (schema,)}


def read_winograd(task: registry.Task, files: Files) -> dict[str, list[Row]]:
    (path,) = files["train"]
    examples = _winograd_examples(task, path)
    if len(examples) <= WINOGRAD_TRAIN + WINOGRAD_HELD_OUT:
        raise ValueError(
            f"decanlp {task.name}: {path} gives {len(examples)} examples; decaNLP's cut (train "
            f"the first {WINOGRAD_TRAIN}, test the last {WINOGRAD_HELD_OUT}) needs more"
        )
    return {"train": examples[:WINOGRAD_TRAIN],
            "test": examples[WINOGRAD_TRAIN:-WINOGRAD_HELD_OUT]}  # fmt: skip


_ALTERNATIVES = re.compile(r"\[([^\[\]]*)\]")


def _winograd_examples(task: registry.Task, path: Path) -> list[Row]:
    """Two examples per schema of schema.txt, in file order.

    A schema is three lines, followed by a blank line: the sentence with each alternative
    written `[first/second]`, the question (alternatives likewise, or none), and the two
    answers `first/second`. Example i takes the i-th alternative of every bracket and answer i;
    its question is the question followed by `<first answer> or <second answer>?`, as decaNLP
    builds it. As in decaNLP's reader, a schema counts only once a blank line closes it, so a
    last schema without a blank line after it is not read (decaNLP's splits depend on this).
    Unlike decaNLP's greedy pattern, each bracket of a line is its own alternative.
    """
    blocks: list[tuple[int, list[str]]] = []
    block: list[str] = []
    start = 1
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                if not block:
                    start = number
                block.append(line.strip())
            elif block:
                blocks.append((start, block))
                block = []
    if block:
        sources.note(f"decanlp {task.name}: {path}: the schema at line {start} has no blank line "
                     "after it and is not read, as in decaNLP")
    examples: list[Row] = []
    for start, lines_of_schema in blocks:
        if len(lines_of_schema) != 3:
            raise _fail(task.name, path, start, "a schema has 3 lines (sentence, question, "
                        f"answers), this one {len(lines_of_schema)}")  # fmt: skip
        sentence, question, answer = lines_of_schema
        answers = [a.strip() for a in answer.split("/")]
        if len(answers) != 2 or not all(answers):
            raise _fail(task.name, path, start + 2, f"answers {answer!r} are not `first/second`")
        for i in range(2):
            context = _alternative(task, path, start, sentence, i)
            asked = _alternative(task, path, start + 1, question, i)
            row = _span_row(context, f"{asked} {answers[0]} or {answers[1]}?", answers[i])
            examples.append({**row, "at": _at(path, start)})
    return examples


def _alternative(task: registry.Task, path: Path, line: int, text: str, which: int) -> str:
    def pick(match: re.Match[str]) -> str:
        options = match[1].split("/")
        if len(options) != 2:
            raise _fail(task.name, path, line, f"[{match[1]}] is not [first/second]")
        return options[which].strip()

    return _ALTERNATIVES.sub(pick, text)


# --- the hub copies ----------------------------------------------------------------------------

def _hub_rows(task: registry.Task, directory: Path, split: str) -> list[Row]:
    """Every example of one split of the hub copy (the hub's first fold only where it holds
    several: `Hub.folds`), by the task's converter; rows it returns None for are skipped."""
    hub = task.from_hub
    assert hub is not None and hub.convert is not None
    data = sources.hub_split(task, directory, split)
    origin = sources.hub_origin(task, split)
    if hub.folds > 1:
        if len(data) % hub.folds:
            raise ValueError(
                f"decanlp {task.name}: {origin} (in {directory}) holds {len(data)} rows, not "
                f"{hub.folds} equal folds as {hub.id} does; cannot take decaNLP's fold 0"
            )
        data = data.select(range(len(data) // hub.folds))
    convert = registry.resolve(hub.convert)
    columns = list(hub.columns)
    rows: list[Row] = []
    number = 0
    for batch in data.select_columns(columns).iter(batch_size=10_000):
        for values in zip(*(batch[c] for c in columns), strict=True):
            try:
                row = convert(task, dict(zip(columns, values, strict=True)))
            except (KeyError, TypeError, ValueError, IndexError) as error:
                raise ValueError(f"decanlp {task.name}: {origin} (in {directory}) row "
                                 f"{number}: {error}") from None
            if row is not None:
                rows.append({**row, "at": (origin, "row", number)})
            number += 1
    return rows


def _label(task: registry.Task, value: Any) -> int | None:
    """A hub label as a class index; None where the hub marks no gold label (-1)."""
    n = len(task.label_words)
    if value is None or value == -1:
        return None
    if isinstance(value, bool) or int(value) != value or not 0 <= value < n:
        raise ValueError(f"label {value!r} outside 0..{n - 1}")
    return int(value)


def hub_sst(task: registry.Task, record: dict) -> Row | None:
    """SetFit/sst2: `text`, `label` (0 negative, 1 positive)."""
    label = _label(task, record["label"])
    return None if label is None else _sst_row(task, record["text"], label)


def hub_mnli(task: registry.Task, record: dict) -> Row | None:
    """nyu-mll/multi_nli: `premise`, `hypothesis`, `label` (-1: annotators disagreed)."""
    label = _label(task, record["label"])
    if label is None:
        return None
    return _mnli_row(task, record["premise"], record["hypothesis"], label)


def hub_cnn_dm(task: registry.Task, record: dict) -> Row:
    """abisee/cnn_dailymail 3.0.0: the article as decaNLP joins it; the highlights, one a
    line on the hub, joined by spaces as decaNLP does; both NFKC-normalised like decaNLP's."""
    article, highlights = (unicodedata.normalize("NFKC", record[k])
                           for k in ("article", "highlights"))  # fmt: skip
    return _fixed_question(task, article, " ".join(highlights.split("\n")))


def hub_squad(task: registry.Task, record: dict) -> Row:
    """rajpurkar/squad: every distinct text of `answers.text`, the first at its offset. A row
    without an answer is SQuAD 2.0's (rajpurkar/squad_v2), which has the same columns."""
    answers = record["answers"]
    texts = list(answers["text"])
    if not texts:
        raise ValueError("has no answer, as SQuAD 2.0's unanswerable questions have: this "
                         "looks like rajpurkar/squad_v2; the paper and decaNLP use SQuAD "
                         f"v1.1, the hub dataset {task.hub} (source hub), or the v1.1 files "
                         "(source local)")
    return _span_row(record["context"], record["question"], texts[0],
                     int(answers["answer_start"][0]), [_str(t) for t in texts[1:]])


def hub_zre(task: registry.Task, record: dict) -> Row:
    """community-datasets/qa_zre, fold 0: `XXX` in the question is the subject, several
    answers are joined by `, ` and none is `unanswerable`, as decaNLP builds its jsonl."""
    question = record["question"].replace("XXX", record["subject"])
    answer = ", ".join(record["answers"] or []) or registry.UNANSWERABLE
    return _span_row(record["context"], question, answer)
