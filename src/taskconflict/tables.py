"""Table 1: single- vs. multi-task test scores of three architectures, beside the paper's.

The table is built as a tidy frame (one line per row x task) so the report, the tests and any
later analysis read the same numbers; Markdown and LaTeX are only renderings of it. The same
code serves GLUE and, once the registry has it, DecaNLP.

Conventions:
- a cell is the mean over seeds of the task's headline metric (registry `metric`) on the test
  split; MNLI's mismatched test set is an extra column "mnli_mismatched" right after "mnli";
- ± is the sample standard deviation over seeds (ddof=1; undefined, shown as nothing, for one
  seed);
- "avg" is, per seed, the mean over all the table's task columns, then mean ± std over the seeds
  that have every column (a seed missing a task would average over different tasks);
- transfer_pct = (multi - single) / |single| x 100 of the means, for each multi-task row against
  its single-task baseline: positive transfer if > 0, negative transfer if < 0;
- paper = the paper's Table 1 cell; its avg is recomputed over the same columns, never copied.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

from taskconflict.grid import Cell
from taskconflict.io import atomic_path
from taskconflict.paper import paper_score
from taskconflict.registry import BENCHMARKS, TASKS, Task

ROWS: tuple[tuple[str, str], ...] = (
    ("canonical", "single-task"),
    ("canonical", "multi-task"),
    ("text-to-text", "single-task"),
    ("text-to-text-id", "multi-task"),
    ("text-to-text", "multi-task"),
)
BASELINE: dict[tuple[str, str], tuple[str, str]] = {
    ("canonical", "multi-task"): ("canonical", "single-task"),
    ("text-to-text-id", "multi-task"): ("text-to-text", "single-task"),
    ("text-to-text", "multi-task"): ("text-to-text", "single-task"),
}
DEFAULT_VARIANT = "default-default-pretrained"
AVG = "avg"
DDOF = 1
COLUMNS = ("row", "architecture", "mode", "task", "mean", "std", "seeds", "paper", "transfer_pct")
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


def _seed_scores(runs: Runs, columns: list[str]) -> dict[tuple[str, str], dict[int, dict]]:
    """(architecture, mode) -> seed -> column -> test score."""
    scores: dict[tuple[str, str], dict[int, dict]] = defaultdict(lambda: defaultdict(dict))
    for cell, metrics in runs:
        for column in columns:
            task, split = column_source(column)
            if not cell.multi_task and cell.tasks != task.name:
                continue
            value = metrics.get("tasks", {}).get(task.name, {}).get(split, {}).get(task.metric)
            if value is None:
                continue
            seeds = scores[(cell.architecture, cell.mode)][cell.seed]
            if column in seeds:
                raise ValueError(f"two runs give {column} for {cell.architecture} {cell.mode} "
                                 f"seed {cell.seed} (last: {cell.id})")
            seeds[column] = float(value)
    return scores


def _mean_std(values: list[float]) -> tuple[float, float]:
    if not values:
        return math.nan, math.nan
    std = float(np.std(values, ddof=DDOF)) if len(values) > DDOF else math.nan
    return float(np.mean(values)), std


def _as_float(x: float | None) -> float:
    return math.nan if x is None else float(x)


def table1(
    runs: Runs, benchmark: str, model: str = "small", paper_model: str = "t5-v1_1-small"
) -> pd.DataFrame:
    """The tidy Table 1 of `benchmark` from (cell, metrics.json) pairs.

    Only default-variant cells of `model` (the config's model key) count; every other run is
    ignored, so the caller may pass all runs of a preset. All five rows are always present;
    missing scores are NaN with seeds = 0.
    """
    runs = [
        (cell, metrics) for cell, metrics in runs
        if cell.benchmark == benchmark and cell.model == model
        and cell.variant == DEFAULT_VARIANT and (cell.architecture, cell.mode) in ROWS
    ]
    scores = _seed_scores(runs, benchmark_columns(benchmark))
    present = {c for by_seed in scores.values() for s in by_seed.values() for c in s}
    columns = [c for c in benchmark_columns(benchmark) if c in present]

    records = []
    for architecture, mode in ROWS:
        by_seed = scores.get((architecture, mode), {})
        seeds = sorted(by_seed)
        values = {c: [by_seed[s][c] for s in seeds if c in by_seed[s]] for c in columns}
        complete = [s for s in seeds if columns and all(c in by_seed[s] for c in columns)]
        values[AVG] = [float(np.mean([by_seed[s][c] for c in columns])) for s in complete]
        paper = {c: paper_score(1, benchmark, architecture, mode, paper_column(c), paper_model)
                 for c in columns}
        known = [p for p in paper.values() if p is not None]
        paper[AVG] = float(np.mean(known)) if columns and len(known) == len(columns) else None
        for task, vals in values.items():
            mean, std = _mean_std(vals)
            records.append({
                "row": f"{architecture} {mode}", "architecture": architecture, "mode": mode,
                "task": task, "mean": mean, "std": std, "seeds": len(vals),
                "paper": _as_float(paper[task]), "transfer_pct": math.nan,
            })
    frame = pd.DataFrame(records, columns=list(COLUMNS))
    frame["seeds"] = frame["seeds"].astype(np.int64)

    means = frame.set_index(["architecture", "mode", "task"])["mean"]
    for i, line in frame.iterrows():
        base = BASELINE.get((line["architecture"], line["mode"]))
        if base is None:
            continue
        single = means.get((*base, line["task"]), math.nan)
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


def caption(frame: pd.DataFrame) -> str:
    """What the numbers are: metric per task, what ± and % mean, where [paper] comes from."""
    tasks = [t for t in pd.unique(frame["task"]) if t != AVG]
    benchmarks = sorted({column_source(t)[0].benchmark for t in tasks})
    metrics = "; ".join(f"{column_display(t)} {_metric_text(t)}" for t in tasks)
    seeds = frame.loc[frame["seeds"] > 0, "seeds"]
    n = "no" if seeds.empty else (
        str(seeds.min()) if seeds.min() == seeds.max() else f"{seeds.min()}-{seeds.max()}")
    return (
        f"Table 1 ({', '.join(b.upper() for b in benchmarks) or 'no runs'}): test scores ×100, "
        f"mean ± sample std (ddof={DDOF}) over {n} seed{'' if n == '1' else 's'}. "
        f"Metrics: {metrics or '-'}. "
        "Avg = mean over seeds of each seed's mean over the task columns. "
        "(±x%) = relative change of a multi-task row's mean vs. its single-task baseline "
        "(canonical multi vs. canonical single; text-to-text and text-to-text-id multi vs. "
        "text-to-text single): + positive transfer, - negative transfer. "
        "[paper x] = the paper's Table 1 (T5 v1.1 small; its Avg recomputed from its cells). "
        "– = no result."
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


def to_markdown(frame: pd.DataFrame) -> str:
    header, body = wide_table(frame)
    lines = [caption(frame), "", "| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] + [":---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines) + "\n"


def to_latex(frame: pd.DataFrame) -> str:
    header, body = wide_table(frame, tex=True)
    lines = [f"% {tex_escape(caption(frame))}",
             r"\begin{tabular}{l" + "c" * (len(header) - 1) + "}", r"\hline",
             " & ".join(tex_escape(h) for h in header) + r" \\", r"\hline"]
    lines += [" & ".join([tex_escape(cells[0]), *cells[1:]]) + r" \\" for cells in body]
    lines += [r"\hline", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def write_table(frame: pd.DataFrame, stem: Path) -> None:
    """stem.csv (the tidy frame), stem.md and stem.tex (the wide table with its caption)."""
    stem = Path(stem)
    with atomic_path(stem.with_name(stem.name + ".csv")) as tmp:
        frame.to_csv(tmp, index=False)
    for suffix, text in ((".md", to_markdown(frame)), (".tex", to_latex(frame))):
        with atomic_path(stem.with_name(stem.name + suffix)) as tmp:
            tmp.write_text(text, encoding="utf-8")
