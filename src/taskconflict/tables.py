"""Tables 1-5: test scores of the paper's runs, beside the paper's numbers.

- Table 1: single- vs. multi-task in three architectures;
- Table 2: prompt styles (text-to-text multi-task; the single-task baseline uses null prompts);
- Table 3: pre-trained vs. re-initialised decoder (text-to-text-id and text-to-text);
- Table 4: Table 1's canonical and text-to-text rows on the larger model;
- Table 5 (beyond the paper): canonical and text-to-text multi-task per aggregator.

A table is built as a tidy frame (one line per row x task) so the report, the tests and any
later analysis read the same numbers; Markdown, LaTeX and HTML are only renderings of it. The
same code serves GLUE and DecaNLP.

Conventions:
- a cell is the mean over seeds of the task's headline metric (registry `metric`) on the test
  split; MNLI's mismatched test set is an extra column "mnli_mismatched" right after "mnli";
- ± is the sample standard deviation over seeds (ddof=1; undefined, shown as nothing, for one
  seed);
- "avg" is, per seed, the mean over all the table's task columns, then mean ± std over the seeds
  that have every column (a seed missing a task would average over different tasks);
- floor = the score of a trivial predictor on the column's test split (`floors`: majority
  class for accuracy, 0 for correlations and text metrics; avg: the mean of its columns'
  floors); at_floor = the cell's own mean is at most `floors.FLOOR_MARGIN` points above it;
- baseline = the mean of the row's single-task baseline row (NaN for single-task rows),
  baseline_at_floor = that mean is at its floor;
- transfer_points = multi - single, in points, for every multi-task cell with a baseline:
  positive transfer if > 0, negative transfer if < 0;
- transfer_pct = (multi - single) / |single| x 100, only where the baseline is clearly above
  its floor (NaN where it is at its floor: a relative change against a baseline that learnt
  nothing, e.g. 0.0 MCC, is no measure of transfer); an unknown floor (NaN) does not withhold
  it;
- paper = the paper's cell of the same table; its avg is recomputed over the same columns,
  never copied.
"""

from __future__ import annotations

import math
import textwrap
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from taskconflict import factors
from taskconflict import html as pages
from taskconflict.floors import FLOOR_MARGIN, at_floor, column_name, default_floor
from taskconflict.grid import Cell, main_variant
from taskconflict.io import atomic_path
from taskconflict.paper import paper_score
from taskconflict.provenance import Provenance
from taskconflict.registry import BENCHMARKS, TASKS, Task, benchmark_title


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
           "transfer_pct", "transfer_points", "baseline", "baseline_at_floor", "floor",
           "at_floor")
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
            if column == column_name(task.name, split):
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
        columns += [column_name(name, split) for split in TASKS[name].test_splits]
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


def column_floor(column: str, floors: dict[str, float] | None) -> float:
    """The floor of a task column: `floors`' value, else the metric's default (0 where it does
    not depend on the data, NaN for an accuracy whose test labels were not given)."""
    if floors is not None and column in floors:
        return float(floors[column])
    return default_floor(column_source(column)[0].metric)


def build_table(spec: TableSpec, runs: Runs, benchmark: str, model: str = "small",
                floors: dict[str, float] | None = None) -> pd.DataFrame:
    """The tidy table `spec` of `benchmark` from (cell, metrics.json) pairs.

    Only cells of `model` (the config's model key) that match a row count; every other run is
    ignored, so the caller may pass all runs of a preset. Every row is present (unless
    `spec.only_rows_with_runs`); missing scores are NaN with seeds = 0. `floors` maps a task
    column to its floor (`floors.column_floors`); a column it lacks, or all with None, gets 0
    for correlations and text metrics and NaN (unknown: never at floor) for accuracy.
    """
    runs = [(cell, metrics) for cell, metrics in runs
            if cell.benchmark == benchmark and cell.model == model]
    scores = _seed_scores(runs, spec.rows, benchmark_columns(benchmark))
    present = {c for by_seed in scores.values() for s in by_seed.values() for c in s}
    columns = [c for c in benchmark_columns(benchmark) if c in present]
    floor = {c: column_floor(c, floors) for c in columns}
    floor[AVG] = float(np.mean(list(floor.values()))) if columns else math.nan

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
                "transfer_points": math.nan, "baseline": math.nan, "baseline_at_floor": False,
                "floor": floor[task], "at_floor": at_floor(mean, floor[task]),
            })
    frame = pd.DataFrame(records, columns=list(COLUMNS))
    frame["seeds"] = frame["seeds"].astype(np.int64)
    for flag in ("at_floor", "baseline_at_floor"):
        frame[flag] = frame[flag].astype(bool)

    means = frame.set_index(["row", "task"])["mean"]
    baselines = {row.label: row.baseline for row in spec.rows}
    for i, line in frame.iterrows():
        base = baselines[line["row"]]
        if not base:
            continue
        single = float(means.get((base, line["task"]), math.nan))
        frame.loc[i, "baseline"] = single
        single_at_floor = at_floor(single, line["floor"])
        frame.loc[i, "baseline_at_floor"] = single_at_floor
        if not (np.isfinite(single) and np.isfinite(line["mean"])):
            continue
        frame.loc[i, "transfer_points"] = line["mean"] - single
        if single != 0 and not single_at_floor:
            frame.loc[i, "transfer_pct"] = (line["mean"] - single) / abs(single) * 100
    frame.attrs["benchmark"] = benchmark
    return frame


# --- rendering -------------------------------------------------------------------------------

TEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
               "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
               "^": r"\textasciicircum{}"}
FLOOR_MARK = "‡"
"""Marks a cell whose mean is at its floor (explained in every legend)."""
NO_PCT = "no %: baseline at floor"
"""What a multi-task cell says where its baseline is at its floor and no % is shown."""
MINUS = "−"
FORMATS = ("md", "tex", "html")


def tex_escape(text: str) -> str:
    return "".join(TEX_ESCAPES.get(ch, ch) for ch in text)


def signed(x: float, fmt: str, style: str = "md") -> str:
    """A number with a typographic minus (and a "+" where `fmt` asks for one); "–" (LaTeX
    "--") where there is none (NaN)."""
    if not math.isfinite(x):
        return "--" if style == "tex" else "–"
    text = format(x, fmt)
    if text[:1] in "+-":
        sign = text[0]
        if style == "tex":
            return f"${sign}${text[1:]}"
        return (MINUS if sign == "-" else "+") + text[1:]
    return text


def cell_parts(line: pd.Series, style: str = "md") -> dict[str, str]:
    """The pieces of a cell in `style` ("md", "tex" or "html", the latter unescaped): score
    (mean ± std), flag (at floor), transfer (points and %, or why no %) and paper; empty
    where a piece does not apply, score "–" for a missing result."""
    if style not in FORMATS:
        raise ValueError(f"unknown style {style!r}; styles: {', '.join(FORMATS)}")
    tex = style == "tex"
    pm, pct = (r"$\pm$", r"\%") if tex else ("±", "%")
    parts = {"score": "--" if tex else "–", "flag": "", "transfer": "", "paper": ""}
    if np.isfinite(line["mean"]):
        parts["score"] = signed(line["mean"], ".1f", style)
        if np.isfinite(line["std"]):
            parts["score"] += f" {pm} {line['std']:.1f}"
        if line["at_floor"]:
            parts["flag"] = r"\ddag{}" if tex else FLOOR_MARK
    if np.isfinite(line["transfer_points"]):
        points = f"{signed(line['transfer_points'], '+.1f', style)} pts"
        if np.isfinite(line["transfer_pct"]):
            parts["transfer"] = f"{points}, {signed(line['transfer_pct'], '+.1f', style)}{pct}"
        elif line["baseline_at_floor"]:
            parts["transfer"] = f"{points}; {NO_PCT.replace('%', pct)}"
        else:
            parts["transfer"] = points
    if np.isfinite(line["paper"]):
        parts["paper"] = f"paper {signed(line['paper'], '.2f', style)}"
    return parts


def format_cell(line: pd.Series, style: str = "md") -> str:
    """One line: e.g. "54.0 ± 0.0 (+9.0 pts, +20.0%) [paper 30.27]", "0.0 ‡ (−3.0 pts; no %:
    baseline at floor)"; a missing score is a dash. LaTeX stacks the same pieces."""
    parts = cell_parts(line, style)
    if style == "tex":
        lines = [" ".join(p for p in (parts["score"], parts["flag"]) if p)]
        if parts["transfer"]:
            lines.append(f"({parts['transfer']})")
        if parts["paper"]:
            lines.append(r"{\scriptsize [" + parts["paper"] + "]}")
        return lines[0] if len(lines) == 1 else r"\shortstack{" + r"\\".join(lines) + "}"
    text = " ".join(p for p in (parts["score"], parts["flag"]) if p)
    if parts["transfer"]:
        text += f" ({parts['transfer']})"
    if parts["paper"]:
        text += f" [{parts['paper']}]"
    return text


def html_cell(line: pd.Series) -> pages.Td:
    """Mean ± std (and the floor flag) on line 1, the transfer on line 2, the paper's number on
    a muted line 3."""
    parts = cell_parts(line, "html")
    score = f"<span class=\"line\">{pages.esc(parts['score'])}"
    if parts["flag"]:
        score += (f" <span class=\"flag\" title=\"within {FLOOR_MARGIN:g} points of its floor "
                  f"{line['floor']:.1f}\">{FLOOR_MARK} at floor</span>")
    lines = [score + "</span>"]
    if parts["transfer"]:
        lines.append(f"<span class=\"line transfer\">{pages.esc(parts['transfer'])}</span>")
    if parts["paper"]:
        lines.append(f"<span class=\"line paper\">{pages.esc(parts['paper'])}</span>")
    return pages.Td("".join(lines), "at-floor" if parts["flag"] else "")


def _metric_text(column: str) -> str:
    task, split = column_source(column)
    name = METRIC_NAMES.get(task.metric, task.metric)
    return name if split == "test" else f"{name} on {split}"


def _tasks(frame: pd.DataFrame) -> list[str]:
    return [t for t in pd.unique(frame["task"]) if t != AVG]


def frame_benchmark(frame: pd.DataFrame, provenance: Provenance | None = None) -> str:
    """The table's benchmark: build_table's note, else its columns', else the provenance's
    only one ("" when none tells)."""
    if frame.attrs.get("benchmark"):
        return frame.attrs["benchmark"]
    found = sorted({column_source(t)[0].benchmark for t in _tasks(frame)})
    if len(found) == 1:
        return found[0]
    if provenance is not None and len(provenance.benchmarks) == 1:
        return provenance.benchmarks[0]
    return ""


def heading(spec: TableSpec, benchmark: str) -> str:
    """"Table 1 — GLUE: <what it shows>", `benchmark` as it is to be read."""
    return f"Table {spec.number} — {benchmark}: {spec.title}"


def title(frame: pd.DataFrame, spec: TableSpec = TABLE1,
          provenance: Provenance | None = None) -> str:
    """E.g. "Table 1 — GLUE: single- vs. multi-task ... (demo preset, generated data, model
    small)": what the table is and, with a provenance, which run it shows."""
    benchmark = frame_benchmark(frame, provenance)
    text = heading(spec, benchmark_title(benchmark) if benchmark else "no runs")
    if provenance is not None:
        text += (f" ({provenance.preset} preset, {provenance.data_kind}, model "
                 f"{provenance.model_size})")
    return text


def _paper_label(provenance: Provenance | None) -> str:
    return provenance.paper_label() if provenance is not None else "paper"


def _floor_text(frame: pd.DataFrame) -> str:
    """The floors the flag used: the non-zero ones by column, then the zero and unknown ones."""
    tasks = _tasks(frame)
    if not tasks:
        return "Floors: none (no columns)."
    floors = frame.drop_duplicates("task").set_index("task")["floor"]
    zero = [column_display(t) for t in tasks if floors[t] == 0]
    unknown = [column_display(t) for t in tasks if not np.isfinite(floors[t])]
    items = [f"{column_display(t)} {floors[t]:.1f}" for t in tasks
             if np.isfinite(floors[t]) and floors[t] != 0]
    if zero:
        items.append(f"0 for {', '.join(zero)}" if items or unknown else "0 for every column")
    if unknown:
        items.append(f"unknown for {', '.join(unknown)} (no test labels given: never flagged, "
                     "their % always given)")
    if np.isfinite(floors.get(AVG, math.nan)):
        items.append(f"Avg {floors[AVG]:.1f}")
    return "Floors: " + "; ".join(items) + "."


def legend(frame: pd.DataFrame, spec: TableSpec = TABLE1,
           provenance: Provenance | None = None) -> list[str]:
    """What the numbers and marks mean, one sentence each (the caption without the run)."""
    tasks = _tasks(frame)
    metrics = "; ".join(f"{column_display(t)} {_metric_text(t)}" for t in tasks)
    seeds = frame.loc[frame["seeds"] > 0, "seeds"]
    n = "no" if seeds.empty else (
        str(seeds.min()) if seeds.min() == seeds.max() else f"{seeds.min()}-{seeds.max()}")
    paper_model = spec.paper_model.replace("t5-v1_1-", "T5 v1.1 ")
    margin = f"{FLOOR_MARGIN:g}"
    return [
        f"Test scores ×100, mean ± sample std (ddof={DDOF}) over {n} "
        f"seed{'' if n == '1' else 's'}.",
        f"Metrics: {metrics or '-'}.",
        "Avg = mean over seeds of each seed's mean over the task columns.",
        "(±x pts, ±y%) = a multi-task row's mean minus its single-task baseline's "
        f"({spec.transfer}), in points (+ positive transfer, − negative transfer), and the "
        "relative change (multi − single) / |single| × 100, given only where the baseline is "
        f"more than {margin} points above its floor (\"{NO_PCT}\" otherwise: a relative change "
        "against a baseline that learnt nothing measures no transfer).",
        f"{FLOOR_MARK} at floor = the mean is at most {margin} points above the floor, the score "
        "of a trivial predictor on the test split (accuracy: the majority class's share of the "
        "gold labels; correlations and text metrics: 0; Avg: the mean of its columns' floors). "
        + _floor_text(frame),
        f"[paper x] = {_paper_label(provenance)}: the paper's Table {spec.number} ({paper_model}; "
        "its Avg recomputed from its cells).",
        "– = no result.",
    ]


def banner(provenance: Provenance | None) -> str:
    """Why the paper's numbers are no target, on a non-comparable run ("" otherwise)."""
    if provenance is None or provenance.comparable:
        return ""
    why = [w for w, yes in (("generated data", provenance.generated),
                            ("a model pre-trained here", provenance.model_pretrained_here)) if yes]
    return (f"{provenance.paper_label()}: this run uses {' and '.join(why)}, so the paper's "
            "numbers show where its cells sit, not what this run should reach.")


def caption(frame: pd.DataFrame, spec: TableSpec = TABLE1,
            provenance: Provenance | None = None) -> str:
    """The run (`provenance.sentence()`, when given) and the legend as one paragraph (the
    LaTeX comment; Markdown and HTML lay the same sentences out)."""
    run = [provenance.sentence(), banner(provenance)] if provenance is not None else []
    return " ".join([*filter(None, run), *legend(frame, spec, provenance)])


def wide_table(frame: pd.DataFrame, style: str = "md") -> tuple[list[str], list[list]]:
    """Header and body of the wide table: one line per row, one column per task (cells as
    `format_cell` text, or `html_cell`s for "html")."""
    tasks = list(pd.unique(frame["task"]))
    header = ["", *(column_display(t) for t in tasks)]
    missing = "--" if style == "tex" else "–"
    body = []
    for row, lines in frame.groupby("row", sort=False):
        by_task = {line["task"]: html_cell(line) if style == "html" else format_cell(line, style)
                   for _, line in lines.iterrows()}
        body.append([str(row), *(by_task.get(t, missing) for t in tasks)])
    return header, body


def to_markdown(frame: pd.DataFrame, spec: TableSpec = TABLE1,
                provenance: Provenance | None = None) -> str:
    """Title heading, the run, the table, then the legend."""
    header, body = wide_table(frame)
    lines = [f"# {title(frame, spec, provenance)}", ""]
    if provenance is not None:
        lines += [provenance.sentence(), ""]
    if banner(provenance):
        lines += [f"> **{banner(provenance)}**", ""]
    lines += ["| " + " | ".join(header) + " |",
              "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |" for cells in body]
    lines += ["", " ".join(legend(frame, spec, provenance))]
    return "\n".join(lines) + "\n"


def _tex_comment(text: str, width: int = 98) -> list[str]:
    """`text` as LaTeX comment lines (never a line break inside a comment's text)."""
    return [f"% {part}" for part in textwrap.wrap(" ".join(text.split()), width - 2)] or ["%"]


def tex_column_spec(n_columns: int) -> str:
    """Row names left, the task columns centred (each cell a centred stack)."""
    return "l" + "c" * (n_columns - 1)


def to_latex(frame: pd.DataFrame, spec: TableSpec = TABLE1,
             provenance: Provenance | None = None) -> str:
    """A booktabs `tabular` (no float, no caption: \\input it where it goes); the title and
    caption come first as comments. Packages: booktabs only."""
    header, body = wide_table(frame, "tex")
    lines = [*_tex_comment(title(frame, spec, provenance)),
             "% Needs \\usepackage{booktabs} (no other package).",
             *_tex_comment(caption(frame, spec, provenance)),
             r"\begin{tabular}{" + tex_column_spec(len(header)) + "}", r"\toprule",
             " & ".join(tex_escape(h) for h in header) + r" \\", r"\midrule"]
    lines += [" & ".join([tex_escape(cells[0]), *cells[1:]]) + r" \\" for cells in body]
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def to_html(frame: pd.DataFrame, spec: TableSpec = TABLE1,
            provenance: Provenance | None = None) -> str:
    """A complete styled document (the report shows it in an iframe): title heading, the run,
    the table, then the legend."""
    header, body = wide_table(frame, "html")
    heading = title(frame, spec, provenance)
    parts = [f"<h2>{pages.esc(heading)}</h2>"]
    if provenance is not None:
        parts.append(f"<p class=\"provenance\">{pages.esc(provenance.sentence())}</p>")
        if banner(provenance):
            parts.append(f"<p class=\"banner\">{pages.esc(banner(provenance))}</p>")
    parts.append(pages.table(header, body, numeric=range(1, len(header))))
    parts.append("<ul class=\"legend\">" + "".join(
        f"<li>{pages.esc(item)}</li>" for item in legend(frame, spec, provenance)) + "</ul>")
    return pages.page(heading, "\n".join(parts))


def write_table(frame: pd.DataFrame, stem: Path, spec: TableSpec = TABLE1,
                provenance: Provenance | None = None) -> None:
    """stem.csv (the tidy frame), stem.md, stem.tex and stem.html (the wide table with its
    title, run and legend; the HTML one a standalone page for the report)."""
    stem = Path(stem)
    with atomic_path(stem.with_name(stem.name + ".csv")) as tmp:
        frame.to_csv(tmp, index=False)
    for suffix, text in ((".md", to_markdown(frame, spec, provenance)),
                         (".tex", to_latex(frame, spec, provenance)),
                         (".html", to_html(frame, spec, provenance))):
        with atomic_path(stem.with_name(stem.name + suffix)) as tmp:
            tmp.write_text(text, encoding="utf-8")
