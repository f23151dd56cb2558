"""Tables 1-4: test scores of the paper's runs, beside the paper's numbers.

- Table 1: single- vs. multi-task in three architectures;
- Table 2: prompt styles (text-to-text multi-task; the single-task baseline uses null prompts);
- Table 3: pre-trained vs. re-initialised decoder (text-to-text-id and text-to-text);
- Table 4: Table 1's canonical and text-to-text rows on the larger model.

A table is built as a tidy frame (one line per row x task) so the report, the tests and any
later analysis read the same numbers; Markdown and LaTeX are only renderings of it. The same
code serves GLUE and DecaNLP.

Conventions:
- a cell is the mean over seeds of the task's headline metric (registry `metric`) on the test
  split; MNLI's mismatched test set is an extra column "mnli_mismatched" right after "mnli";
- ± is the sample standard deviation over seeds (ddof=1; undefined, shown as nothing, for one
  seed);
- "avg" is, per seed, the mean over all the table's task columns, then mean ± std over the seeds
  that have every column (a seed missing a task would average over different tasks);
- transfer_pct = (multi - single) / |single| x 100 of the means, for each multi-task row against
  its single-task baseline row: positive transfer if > 0, negative transfer if < 0;
- paper = the paper's cell of the same table; its avg is recomputed over the same columns,
  never copied.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from taskconflict import factors
from taskconflict.grid import Cell, main_variant
from taskconflict.io import atomic_path
from taskconflict.paper import paper_score
from taskconflict.registry import BENCHMARKS, TASKS, Task


@dataclass(frozen=True)
class Row:
    """One row of a table: the cells it averages (architecture, mode, variant), its variant
    in the paper's results, and the single-task row its transfer is measured against."""

    label: str
    architecture: str
    mode: str
    variant: str
    paper_variant: str = ""
    baseline: str = ""

    def matches(self, cell: Cell) -> bool:
        return (cell.architecture, cell.mode, cell.variant) == (
            self.architecture, self.mode, self.variant)


@dataclass(frozen=True)
class TableSpec:
    number: int
    title: str
    rows: tuple[Row, ...]
    transfer: str
    """What a row's (±x%) compares, for the caption."""
    paper_model: str = "t5-v1_1-small"
    only_rows_with_runs: bool = False
    """Leave out the rows no run matches (a table whose rows are every level of a factor,
    of which a preset runs a few)."""


def _row(architecture: str, mode: str, baseline: str = "", paper_variant: str = "",
         **levels: str) -> Row:
    """A row named "<architecture> <mode>" plus what its variant factors name (each level's
    `row` words), on the architecture's main variant otherwise."""
    extra = [factors.FACTORS[key].level(name).row for key, name in levels.items()]
    label = " ".join([architecture, mode, *extra])
    return Row(label, architecture, mode, main_variant(architecture, **levels), paper_variant,
               baseline)


CANONICAL_SINGLE = _row("canonical", "single-task", paper_variant="single-task")
"""Canonical heads read the bare input (`factors.DEFAULT_PROMPTS`), as the paper's canonical
runs; the row's label need not say so."""
T2T_SINGLE_NULL = _row("text-to-text", "single-task", prompts="null",
                       paper_variant="single-task null-prompt")
T2T_SINGLE = replace(T2T_SINGLE_NULL, label="text-to-text single-task", paper_variant="single-task")
"""A single-task model has no other task to tell apart, so it sees the bare input: the paper's
Table 2 null-prompt single-task row repeats its Table 1 single-task numbers cell for cell."""
CANONICAL_MULTI = replace(CANONICAL_SINGLE, label="canonical multi-task", mode="multi-task",
                          baseline=CANONICAL_SINGLE.label, paper_variant="multi-task")
T2T_MULTI = _row("text-to-text", "multi-task", T2T_SINGLE.label, paper_variant="multi-task")
TABLE1 = TableSpec(1, "single- vs. multi-task training in three architectures", (
    CANONICAL_SINGLE, CANONICAL_MULTI, T2T_SINGLE,
    _row("text-to-text-id", "multi-task", T2T_SINGLE.label, paper_variant="multi-task"),
    T2T_MULTI,
), "canonical multi vs. canonical single; text-to-text and text-to-text-id multi vs. "
   "text-to-text single")
TABLE2 = TableSpec(2, "prompt styles, text-to-text", (
    T2T_SINGLE_NULL,
    *(_row("text-to-text", "multi-task", T2T_SINGLE_NULL.label, prompts=style,
           paper_variant=f"multi-task {style}-prompt") for style in factors.PROMPTS.names),
), "each multi-task row vs. text-to-text single-task with null prompts")
TABLE3 = TableSpec(3, "pre-trained vs. re-initialised decoder", (
    T2T_SINGLE,
    *(_row(architecture, "multi-task", T2T_SINGLE.label, decoder=decoder,
           paper_variant=f"multi-task {decoder}-decoder")
      for architecture in ("text-to-text-id", "text-to-text")
      for decoder in factors.DECODER.names),
), "each multi-task row vs. text-to-text single-task")
TABLE4 = TableSpec(4, "model size: the larger model", (
    CANONICAL_SINGLE, CANONICAL_MULTI, T2T_SINGLE, T2T_MULTI,
), "canonical multi vs. canonical single; text-to-text multi vs. text-to-text single",
   paper_model="t5-v1_1-base")
TABLE5 = TableSpec(5, "multi-task aggregators (beyond the paper)", (
    CANONICAL_SINGLE,
    *(_row("canonical", "multi-task", CANONICAL_SINGLE.label, aggregator=name)
      for name in factors.AGGREGATOR.names),
    T2T_SINGLE,
    *(_row("text-to-text", "multi-task", T2T_SINGLE.label, aggregator=name)
      for name in factors.AGGREGATOR.names),
), "canonical rows vs. canonical single; text-to-text rows vs. text-to-text single (the "
   "baselines of Table 1)", only_rows_with_runs=True)
TABLES: dict[int, TableSpec] = {t.number: t for t in (TABLE1, TABLE2, TABLE3, TABLE4, TABLE5)}
AVG = "avg"
DDOF = 1
COLUMNS = ("row", "architecture", "mode", "variant", "task", "mean", "std", "seeds", "paper",
           "transfer_pct")
SPLIT_SHORT = {"test_mismatched": "mm"}
METRIC_NAMES = {"mcc": "Matthews corr.", "spearman": "Spearman corr.", "accuracy": "accuracy",
                "bleu": "BLEU", "rouge": "mean ROUGE-1/2/L F", "lfem": "logical-form EM",
                "nf1": "nF1", "corpus_f1": "corpus F1", "em": "exact match"}

Runs = list[tuple[Cell, dict]]


def column_source(column: str) -> tuple[Task, str]:
    """Task and split behind a table column: "mnli_mismatched" is mnli's test_mismatched."""
    if column in TASKS:
        return TASKS[column], "test"
    for task in TASKS.values():
        for split in task.test_splits:
            if column == f"{task.name}_{split.removeprefix('test_')}":
                return task, split
    raise KeyError(f"no task or test split behind table column {column!r}")


def paper_column(column: str) -> str:
    """The paper's name for a table column (its results file names some tasks otherwise)."""
    task, split = column_source(column)
    return task.paper_key if split == "test" else f"{task.paper_key}_{split.removeprefix('test_')}"


def column_display(column: str) -> str:
    """Header of a column as the paper prints it ("MNLI-mm" for MNLI mismatched)."""
    if column == AVG:
        return "Avg"
    task, split = column_source(column)
    if split == "test":
        return task.display
    return f"{task.display}-{SPLIT_SHORT.get(split, split.removeprefix('test_'))}"


def benchmark_columns(benchmark: str) -> list[str]:
    """All possible task columns of a benchmark, in registry order (extra test splits after)."""
    if benchmark not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {benchmark!r}; known: {', '.join(BENCHMARKS)}")
    columns = []
    for name in BENCHMARKS[benchmark]:
        for split in TASKS[name].test_splits:
            columns.append(name if split == "test" else f"{name}_{split.removeprefix('test_')}")
    return columns


def _seed_scores(runs: Runs, rows: tuple[Row, ...], columns: list[str]
                 ) -> dict[str, dict[int, dict]]:
    """row label -> seed -> column -> test score."""
    scores: dict[str, dict[int, dict]] = defaultdict(lambda: defaultdict(dict))
    for cell, metrics in runs:
        for row in (r for r in rows if r.matches(cell)):
            for column in columns:
                task, split = column_source(column)
                if not cell.multi_task and cell.tasks != task.name:
                    continue
                value = (metrics.get("tasks", {}).get(task.name, {}).get(split, {})
                         .get(task.metric))
                if value is None:
                    continue
                seeds = scores[row.label][cell.seed]
                if column in seeds:
                    raise ValueError(f"two runs give {column} for {row.label} seed {cell.seed} "
                                     f"(last: {cell.id})")
                seeds[column] = float(value)
    return scores


def _mean_std(values: list[float]) -> tuple[float, float]:
    if not values:
        return math.nan, math.nan
    std = float(np.std(values, ddof=DDOF)) if len(values) > DDOF else math.nan
    return float(np.mean(values)), std


def _as_float(x: float | None) -> float:
    return math.nan if x is None else float(x)


def build_table(spec: TableSpec, runs: Runs, benchmark: str, model: str = "small"
                ) -> pd.DataFrame:
    """The tidy table `spec` of `benchmark` from (cell, metrics.json) pairs.

    Only cells of `model` (the config's model key) that match a row count; every other run is
    ignored, so the caller may pass all runs of a preset. Every row is present (unless
    `spec.only_rows_with_runs`); missing scores are NaN with seeds = 0.
    """
    runs = [(cell, metrics) for cell, metrics in runs
            if cell.benchmark == benchmark and cell.model == model]
    scores = _seed_scores(runs, spec.rows, benchmark_columns(benchmark))
    present = {c for by_seed in scores.values() for s in by_seed.values() for c in s}
    columns = [c for c in benchmark_columns(benchmark) if c in present]

    records = []
    for row in spec.rows:
        if spec.only_rows_with_runs and row.label not in scores:
            continue
        by_seed = scores.get(row.label, {})
        seeds = sorted(by_seed)
        values = {c: [by_seed[s][c] for s in seeds if c in by_seed[s]] for c in columns}
        complete = [s for s in seeds if columns and all(c in by_seed[s] for c in columns)]
        values[AVG] = [float(np.mean([by_seed[s][c] for c in columns])) for s in complete]
        paper = {c: paper_score(spec.number, benchmark, row.architecture, row.paper_variant,
                                paper_column(c), spec.paper_model) for c in columns}
        known = [p for p in paper.values() if p is not None]
        paper[AVG] = float(np.mean(known)) if columns and len(known) == len(columns) else None
        for task, vals in values.items():
            mean, std = _mean_std(vals)
            records.append({
                "row": row.label, "architecture": row.architecture, "mode": row.mode,
                "variant": row.variant, "task": task, "mean": mean, "std": std,
                "seeds": len(vals), "paper": _as_float(paper[task]), "transfer_pct": math.nan,
            })
    frame = pd.DataFrame(records, columns=list(COLUMNS))
    frame["seeds"] = frame["seeds"].astype(np.int64)

    means = frame.set_index(["row", "task"])["mean"]
    baselines = {row.label: row.baseline for row in spec.rows}
    for i, line in frame.iterrows():
        base = baselines[line["row"]]
        if not base:
            continue
        single = means.get((base, line["task"]), math.nan)
        if np.isfinite(single) and single != 0 and np.isfinite(line["mean"]):
            frame.loc[i, "transfer_pct"] = (line["mean"] - single) / abs(single) * 100
    return frame


# --- rendering -------------------------------------------------------------------------------

TEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
               "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
               "^": r"\textasciicircum{}"}


def tex_escape(text: str) -> str:
    return "".join(TEX_ESCAPES.get(ch, ch) for ch in text)


def format_cell(line: pd.Series, tex: bool = False) -> str:
    """E.g. "71.2 ± 1.3 (+2.1%) [paper 80.30]"; a missing score is a dash."""
    if not np.isfinite(line["mean"]):
        return "--" if tex else "–"
    pm, pct = (r"$\pm$", r"\%") if tex else ("±", "%")
    text = f"{line['mean']:.1f}"
    if np.isfinite(line["std"]):
        text += f" {pm} {line['std']:.1f}"
    if np.isfinite(line["transfer_pct"]):
        text += f" ({line['transfer_pct']:+.1f}{pct})"
    if np.isfinite(line["paper"]):
        text += f" [paper {line['paper']:.2f}]"
    return text


def _metric_text(column: str) -> str:
    task, split = column_source(column)
    name = METRIC_NAMES.get(task.metric, task.metric)
    return name if split == "test" else f"{name} on {split}"


def caption(frame: pd.DataFrame, spec: TableSpec = TABLE1, context: str = "") -> str:
    """What the numbers are: the table's runs, metric per task, what ± and % mean, where
    [paper] comes from; `context` says what was run (preset, model, steps)."""
    tasks = [t for t in pd.unique(frame["task"]) if t != AVG]
    benchmarks = sorted({column_source(t)[0].benchmark for t in tasks})
    metrics = "; ".join(f"{column_display(t)} {_metric_text(t)}" for t in tasks)
    seeds = frame.loc[frame["seeds"] > 0, "seeds"]
    n = "no" if seeds.empty else (
        str(seeds.min()) if seeds.min() == seeds.max() else f"{seeds.min()}-{seeds.max()}")
    paper_model = spec.paper_model.replace("t5-v1_1-", "T5 v1.1 ")
    return (
        f"Table {spec.number} ({', '.join(b.upper() for b in benchmarks) or 'no runs'}), "
        f"{spec.title}: test scores ×100, "
        f"mean ± sample std (ddof={DDOF}) over {n} seed{'' if n == '1' else 's'}. "
        + (f"{context}. " if context else "")
        + f"Metrics: {metrics or '-'}. "
        "Avg = mean over seeds of each seed's mean over the task columns. "
        "(±x%) = relative change of a multi-task row's mean vs. its single-task baseline "
        f"({spec.transfer}): + positive transfer, - negative transfer. "
        f"[paper x] = the paper's Table {spec.number} ({paper_model}; its Avg recomputed from "
        "its cells). – = no result."
    )


def wide_table(frame: pd.DataFrame, tex: bool = False) -> tuple[list[str], list[list[str]]]:
    """Header and body of the wide table: one line per Table-1 row, one column per task."""
    tasks = list(pd.unique(frame["task"]))
    header = ["", *(column_display(t) for t in tasks)]
    body = []
    for row, lines in frame.groupby("row", sort=False):
        by_task = {line["task"]: format_cell(line, tex) for _, line in lines.iterrows()}
        body.append([str(row), *(by_task.get(t, "--" if tex else "–") for t in tasks)])
    return header, body


def to_markdown(frame: pd.DataFrame, spec: TableSpec = TABLE1, context: str = "") -> str:
    header, body = wide_table(frame)
    lines = [caption(frame, spec, context), "", "| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] + [":---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines) + "\n"


def to_latex(frame: pd.DataFrame, spec: TableSpec = TABLE1, context: str = "") -> str:
    header, body = wide_table(frame, tex=True)
    lines = [f"% {tex_escape(caption(frame, spec, context))}",
             r"\begin{tabular}{l" + "c" * (len(header) - 1) + "}", r"\hline",
             " & ".join(tex_escape(h) for h in header) + r" \\", r"\hline"]
    lines += [" & ".join([tex_escape(cells[0]), *cells[1:]]) + r" \\" for cells in body]
    lines += [r"\hline", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def to_html(frame: pd.DataFrame, spec: TableSpec = TABLE1, context: str = "") -> str:
    header, body = wide_table(frame)
    table = pd.DataFrame(body, columns=header).to_html(index=False, border=0)
    return f"<p>{caption(frame, spec, context)}</p>\n{table}\n"


def write_table(frame: pd.DataFrame, stem: Path, spec: TableSpec = TABLE1,
                context: str = "") -> None:
    """stem.csv (the tidy frame), stem.md, stem.tex and stem.html (the wide table with its
    caption; the HTML one for the report)."""
    stem = Path(stem)
    with atomic_path(stem.with_name(stem.name + ".csv")) as tmp:
        frame.to_csv(tmp, index=False)
    for suffix, text in ((".md", to_markdown(frame, spec, context)),
                         (".tex", to_latex(frame, spec, context)),
                         (".html", to_html(frame, spec, context))):
        with atomic_path(stem.with_name(stem.name + suffix)) as tmp:
            tmp.write_text(text, encoding="utf-8")
