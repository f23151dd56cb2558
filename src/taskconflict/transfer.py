"""Does conflict predict transfer? Per task of every multi-task cell, its gradient conflict over
training against its transfer over its single-task baseline.

- conflict of task k in a multi-task cell (`task_conflict_stats`), from the Gram matrices of
  conflict.parquet (one part, the encoder by default), over all measurement steps:
  `mean_cosine` = mean over steps of the mean of cos(g_k, g_j) over the other tasks j, and
  `norm_share` = mean over steps of n_k / sum_j n_j, its share of the squared-norm mass
  (n_k = the Gram diagonal);
- transfer of task k (`transfer_points`) = (score - baseline) / |baseline| x 100 on the test
  split's headline metric (registry `metric`), as in tables.py; the baseline is the mean over
  seeds of the single-task cells of the same benchmark, model and task in the baseline row that
  the tables give the cell's architecture (`BASELINES`): canonical multi vs. canonical single,
  text-to-text and text-to-text-id multi vs. text-to-text single (null prompts). Every
  multi-task cell of an architecture is compared with that one row, whatever its variant
  (prompt style, output space, decoder), as Tables 1-4 do. A task whose baseline is missing or
  below `MIN_BASELINE` points in absolute value (the ratio explodes), or at its metric's floor
  (`floors.at_floor`: the baseline learnt nothing to transfer from), is skipped and counted;
- `correlations`: Spearman's rho of transfer_pct against each measure, per architecture and
  pooled ("all"), with a percentile bootstrap 95% CI that resamples whole cells (a cell's
  tasks share a run, so they are not independent points; cells differ by seed and experiment);
- `summary_paragraph` says in words what the numbers show; `scatter_figure` draws one point
  per (cell, task); `write_transfer_analysis` reads run folders and writes it all.
"""

from __future__ import annotations

import math
import os
import zlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy import stats

from taskconflict.conflict import conflict_measures, frame_to_grams
from taskconflict.factors import ARCHITECTURE
from taskconflict.floors import at_floor, column_floors
from taskconflict.grid import Cell
from taskconflict.html import number, page
from taskconflict.html import table as html_table
from taskconflict.io import atomic_path
from taskconflict.provenance import Provenance
from taskconflict.registry import TASKS
from taskconflict.report import read_metrics
from taskconflict.tables import TABLES, column_floor

MEASURES = {
    "mean_cosine": "mean cosine with the other tasks",
    "norm_share": "share of the squared-norm mass",
}
STATS_COLUMNS = ("cell", "task", "mean_cosine", "norm_share", "steps")
POINT_COLUMNS = ("benchmark", "model", "architecture", "variant", "seed", "cell", "task",
                 "mean_cosine", "norm_share", "score", "baseline", "baseline_seeds",
                 "transfer_pct")
SKIP_COLUMNS = ("cell", "task", "baseline", "reason")
CORR_COLUMNS = ("architecture", "measure", "rho", "ci_low", "ci_high", "n_points", "n_cells",
                "n_boot", "reason")
POOLED = "all"
SPLIT = "test"
MIN_BASELINE = 1.0
"""Floor on |baseline| (scores are x100, so 1 point): below it transfer % explodes."""
MIN_POINTS = 3
SMALL_CELLS = 10
"""Fewer cells than this behind a correlation: the paragraph warns that it rests on few runs."""
CI_LEVEL = 95.0


def _baseline_rule() -> dict[str, tuple[str, str]]:
    """Multi-task architecture -> (architecture, variant) of its single-task baseline row,
    read from the tables' rows (each multi-task row names its baseline row). Every table must
    give an architecture the same baseline; otherwise there is no one rule to apply."""
    rule: dict[str, tuple[str, str]] = {}
    for spec in TABLES.values():
        rows = {row.label: row for row in spec.rows}
        for row in spec.rows:
            if not row.baseline:
                continue
            base = rows[row.baseline]
            key = (base.architecture, base.variant)
            if rule.setdefault(row.architecture, key) != key:
                raise AssertionError(f"Table {spec.number} gives {row.architecture} the baseline "
                                     f"{key}, another table {rule[row.architecture]}")
    return rule


BASELINES: dict[str, tuple[str, str]] = _baseline_rule()
"""canonical -> canonical single-task; text-to-text(-id) -> text-to-text single-task, null
prompts (the architectures' Table 1 rows; Tables 2-4 agree)."""


def baseline_key(cell: Cell, task: str) -> tuple[str, str, str, str, str]:
    """(benchmark, model, architecture, task, variant) of the single-task cells whose mean over
    seeds is the baseline of `task` in the multi-task `cell`."""
    if cell.architecture not in BASELINES:
        raise ValueError(f"{cell.id}: the tables give no single-task baseline for "
                         f"{cell.architecture}")
    architecture, variant = BASELINES[cell.architecture]
    return cell.benchmark, cell.model, architecture, task, variant


# --- conflict per task -------------------------------------------------------------------------

def task_conflict_stats(cell: Cell, conflict_frame: pd.DataFrame, part: str = "encoder"
                        ) -> pd.DataFrame:
    """Per task of a multi-task cell, over all measurement steps of `part`: the mean over steps
    of its mean cosine with the other tasks, and of its share n_k / sum_j n_j of the
    squared-norm mass. Columns cell, task, mean_cosine, norm_share, steps (the steps that
    measured the task), tasks in Gram order."""
    if not cell.multi_task:
        raise ValueError(f"{cell.id} is a single-task cell: it has no task conflict")
    grams = [(step, value) for (step, p), value in frame_to_grams(conflict_frame).items()
             if p == part]
    if not grams:
        raise ValueError(f"{cell.id}: no conflict measurements of the {part}")
    cosines: dict[str, list[float]] = defaultdict(list)
    shares: dict[str, list[float]] = defaultdict(list)
    for _, (tasks, gram) in sorted(grams, key=lambda item: item[0]):
        m = conflict_measures(gram)
        k = len(tasks)
        share = m.squared_norms / m.squared_norms.sum()
        for i, task in enumerate(tasks):
            others = np.delete(m.cosine[i], i)
            cosines[task].append(float(others.mean()) if k > 1 else math.nan)
            shares[task].append(float(share[i]))
    rows = [(cell.id, task, float(np.mean(cosines[task])), float(np.mean(shares[task])),
             len(cosines[task])) for task in cosines]
    frame = pd.DataFrame(rows, columns=list(STATS_COLUMNS))
    frame["steps"] = frame["steps"].astype(np.int64)
    return frame


# --- transfer points ---------------------------------------------------------------------------

def _score(metrics: dict, task: str) -> float:
    value = metrics.get("tasks", {}).get(task, {}).get(SPLIT, {}).get(TASKS[task].metric)
    return math.nan if value is None else float(value)


def transfer_points(multi_runs: Sequence[tuple[Cell, pd.DataFrame, dict]],
                    single_runs: Sequence[tuple[Cell, dict]], part: str = "encoder",
                    floor: float = MIN_BASELINE, floors: Mapping[str, float] | None = None
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One point per (multi-task cell, task): its conflict (`task_conflict_stats`) and its
    transfer % over its baseline (`baseline_key`, mean over seeds). Returns (points, skipped):
    points with `POINT_COLUMNS`, sorted by cell then task; skipped with `SKIP_COLUMNS`, one line
    per (cell, task) left out and why (no score, no baseline, |baseline| < floor, or a
    baseline at its metric's floor: `floors.at_floor` of `tables.column_floor`, the task's
    floor in `floors` (table columns -> floor) or its metric's default, as the tables flag it)."""
    singles: dict[tuple, list[float]] = defaultdict(list)
    seen: set[str] = set()
    for cell, metrics in single_runs:
        if cell.multi_task:
            raise ValueError(f"{cell.id} is a multi-task cell, passed as a single-task run")
        if cell.id in seen:
            raise ValueError(f"two single-task runs of {cell.id}")
        seen.add(cell.id)
        score = _score(metrics, cell.tasks)
        if np.isfinite(score):
            singles[(cell.benchmark, cell.model, cell.architecture, cell.tasks,
                      cell.variant)].append(score)

    points, skipped, seen = [], [], set()
    for cell, frame, metrics in multi_runs:
        if cell.id in seen:
            raise ValueError(f"two multi-task runs of {cell.id}")
        seen.add(cell.id)
        for line in task_conflict_stats(cell, frame, part).itertuples(index=False):
            task = line.task
            score = _score(metrics, task)
            base_scores = singles.get(baseline_key(cell, task), [])
            baseline = float(np.mean(base_scores)) if base_scores else math.nan
            reason = ("no test score" if not np.isfinite(score)
                      else "no single-task baseline" if not base_scores
                      else f"|baseline| < {floor:g}" if abs(baseline) < floor
                      else "baseline at its metric's floor"
                      if at_floor(baseline, column_floor(task, floors))
                      else "no other task" if not np.isfinite(line.mean_cosine) else "")
            if reason:
                skipped.append((cell.id, task, baseline, reason))
                continue
            points.append((cell.benchmark, cell.model, cell.architecture, cell.variant,
                           cell.seed, cell.id, task, line.mean_cosine, line.norm_share, score,
                           baseline, len(base_scores), (score - baseline) / abs(baseline) * 100))
    frame = pd.DataFrame(points, columns=list(POINT_COLUMNS))
    frame = frame.astype({"seed": np.int64, "baseline_seeds": np.int64, "mean_cosine": float,
                          "norm_share": float, "score": float, "baseline": float,
                          "transfer_pct": float})
    frame = frame.sort_values(["cell", "task"], ignore_index=True)
    return frame, pd.DataFrame(skipped, columns=list(SKIP_COLUMNS))


# --- rank correlation with a cluster bootstrap -------------------------------------------------

def _rho(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho; NaN when either side is constant (rank correlation undefined)."""
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(stats.spearmanr(x, y).statistic)


def cluster_draws(clusters: Sequence, n_boot: int, rng: np.random.Generator
                  ) -> list[np.ndarray]:
    """`n_boot` bootstrap samples of row indices that resample whole clusters with replacement:
    each draws as many clusters as there are and takes every row of each one drawn."""
    codes, uniques = pd.factorize(pd.Series(list(clusters)), sort=True)
    members = [np.flatnonzero(codes == c) for c in range(len(uniques))]
    draws = rng.integers(0, len(members), size=(n_boot, len(members)))
    return [np.concatenate([members[c] for c in draw]) for draw in draws]


def _scope_rng(seed: int, scope: str) -> np.random.Generator:
    """One stream per scope, so an architecture's CI does not depend on which others exist."""
    return np.random.default_rng([seed, zlib.crc32(scope.encode())])


def correlations(points: pd.DataFrame, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Spearman's rho of transfer_pct against each measure (`MEASURES`), per architecture (in
    the factor's order) and pooled (`POOLED`), with a percentile bootstrap 95% CI over cells
    (`cluster_draws`; the same draws for both measures). Columns `CORR_COLUMNS`; n_boot is the
    number of bootstrap samples with a defined rho. rho is NaN with a reason when there are
    fewer than `MIN_POINTS` points or a constant side; the CI is NaN with a reason when there
    is one cell or no bootstrap (n_boot=0)."""
    present = set(points["architecture"])
    scopes = [a for a in ARCHITECTURE.names if a in present] + [POOLED]
    rows = []
    for scope in scopes:
        d = points if scope == POOLED else points[points["architecture"] == scope]
        y = d["transfer_pct"].to_numpy(dtype=np.float64)
        n_cells = int(d["cell"].nunique())
        draws = (cluster_draws(d["cell"], n_boot, _scope_rng(seed, scope))
                 if n_cells > 1 and n_boot > 0 and len(d) >= MIN_POINTS else [])
        for measure in MEASURES:
            x = d[measure].to_numpy(dtype=np.float64)
            rho, low, high, valid, reason = math.nan, math.nan, math.nan, 0, ""
            if len(d) < MIN_POINTS:
                reason = f"fewer than {MIN_POINTS} points"
            elif np.ptp(x) == 0 or np.ptp(y) == 0:
                reason = "constant transfer_pct" if np.ptp(y) == 0 else f"constant {measure}"
            else:
                rho = _rho(x, y)
                if n_cells < 2:
                    reason = "one cell: no bootstrap over cells"
                elif n_boot <= 0:
                    reason = "no bootstrap"
                else:
                    boot = np.array([_rho(x[i], y[i]) for i in draws])
                    boot = boot[np.isfinite(boot)]
                    valid = len(boot)
                    if valid:
                        tail = (100.0 - CI_LEVEL) / 2
                        low, high = (float(v) for v in np.percentile(boot, [tail, 100 - tail]))
                    else:
                        reason = "no bootstrap sample with a defined rho"
            rows.append((scope, measure, rho, low, high, len(d), n_cells, valid, reason))
    frame = pd.DataFrame(rows, columns=list(CORR_COLUMNS))
    return frame.astype({"n_points": np.int64, "n_cells": np.int64, "n_boot": np.int64})


# --- words -------------------------------------------------------------------------------------

def verdict(line: pd.Series) -> str:
    """"no detectable relation" (the CI contains 0), "a positive relation" / "a negative
    relation" (it excludes 0), or why there is no verdict."""
    if not np.isfinite(line["rho"]):
        return f"no estimate ({line['reason']})"
    if not (np.isfinite(line["ci_low"]) and np.isfinite(line["ci_high"])):
        return f"no verdict without a confidence interval ({line['reason']})"
    if line["ci_low"] > 0:
        return "a positive relation"
    if line["ci_high"] < 0:
        return "a negative relation"
    return "no detectable relation"


def _estimate(line: pd.Series) -> str:
    if not np.isfinite(line["rho"]):
        return ""
    text = f"ρ = {line['rho']:+.2f}"
    if np.isfinite(line["ci_low"]) and np.isfinite(line["ci_high"]):
        text += f", 95% CI [{line['ci_low']:+.2f}, {line['ci_high']:+.2f}]"
    return text


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary_paragraph(corr: pd.DataFrame, skipped: int = 0) -> str:
    """What the correlations show, in a few deterministic sentences: per measure the pooled
    rho and CI with its verdict (`verdict`), then per architecture; a caution when a
    correlation rests on fewer than `SMALL_CELLS` cells; how many (cell, task) pairs were
    left out."""
    pooled = corr[corr["architecture"] == POOLED]
    if pooled.empty or int(pooled["n_points"].max()) == 0:
        text = ("Does conflict predict transfer? There is no (multi-task cell, task) point with "
                "both a conflict measurement and a usable single-task baseline, so nothing can "
                "be said.")
        return text + (f" {_plural(skipped, 'pair')} left out." if skipped else "")
    first = pooled.iloc[0]
    sentences = [
        f"Does conflict predict transfer? Over {_plural(int(first['n_cells']), 'multi-task cell')}"
        f" and {_plural(int(first['n_points']), '(cell, task) point')}, Spearman's rank "
        "correlation of a task's transfer over its single-task baseline with its gradient "
        "conflict (95% bootstrap CIs resample whole cells) reads as follows."]
    for measure, words in MEASURES.items():
        lines = corr[corr["measure"] == measure]
        all_line = lines[lines["architecture"] == POOLED].iloc[0]
        estimate = _estimate(all_line)
        sentence = (f"A task's {words} shows {verdict(all_line)} with its transfer"
                    + (f" ({estimate})" if estimate else "") + " pooled over architectures")
        per_arch = [f"{ARCHITECTURE.label(line['architecture'])}: {verdict(line)}"
                    + (f" ({_estimate(line)}, {_plural(int(line['n_cells']), 'cell')})"
                       if _estimate(line) else "")
                    for _, line in lines[lines["architecture"] != POOLED].iterrows()]
        if per_arch:
            sentence += "; per architecture, " + "; ".join(per_arch)
        sentences.append(sentence + ".")
    cells = corr.groupby("architecture", sort=False)["n_cells"].max()
    small = [ARCHITECTURE.label(a) if a != POOLED else "pooled"
             for a, n in cells.items() if n < SMALL_CELLS]
    if small:
        names = small[0] if len(small) == 1 else ", ".join(small[:-1]) + " and " + small[-1]
        sentences.append(f"Caution: the {names} estimate{'s rest' if len(small) > 1 else ' rests'}"
                         f" on fewer than {SMALL_CELLS} cells, so the intervals are unstable and"
                         " may be too narrow.")
    if skipped:
        sentences.append(f"{_plural(skipped, '(cell, task) pair')} left out: no score, no "
                         f"single-task baseline, |baseline| < {MIN_BASELINE:g} point, or a "
                         "baseline at its metric's floor (chance or majority class).")
    return " ".join(sentences)


def _corr_markdown(corr: pd.DataFrame) -> list[str]:
    lines = ["| architecture | measure | Spearman ρ | 95% CI | points | cells | verdict |",
             "|---|---|:---:|:---:|---:|---:|---|"]
    for _, line in corr.iterrows():
        arch = "pooled" if line["architecture"] == POOLED else ARCHITECTURE.label(
            line["architecture"])
        rho = f"{line['rho']:+.2f}" if np.isfinite(line["rho"]) else "–"
        ci = (f"[{line['ci_low']:+.2f}, {line['ci_high']:+.2f}]"
              if np.isfinite(line["ci_low"]) and np.isfinite(line["ci_high"]) else "–")
        lines.append(f"| {arch} | {MEASURES[line['measure']]} | {rho} | {ci} | "
                     f"{line['n_points']} | {line['n_cells']} | {verdict(line)} |")
    return lines


BASELINE_TEXT = ("Transfer % = (multi-task score - baseline) / |baseline| × 100 on the test "
                 "split's headline metric; the baseline is the mean over seeds of the "
                 "single-task cells of the same benchmark, model and task in the row the tables "
                 "compare the architecture with: "
                 + "; ".join(f"{a} multi vs. {b} single ({v})" for a, (b, v)
                             in BASELINES.items())
                 + ". Conflict is measured over all measurement steps of training.")


def to_markdown(corr: pd.DataFrame, skipped: int = 0, figure: str = "",
                part: str = "encoder") -> str:
    lines = ["# Does conflict predict transfer?", "", summary_paragraph(corr, skipped), "",
             *_corr_markdown(corr), "",
             f"{BASELINE_TEXT} Conflict: the {part}'s task gradients; mean cosine = mean over "
             "steps of the task's mean cosine with the other tasks; norm share = mean over "
             "steps of n_k / Σ_j n_j. CI: percentile bootstrap over cells "
             f"({CI_LEVEL:g}%), the tasks of a cell resampled together."]
    if figure:
        lines += ["", f"![conflict vs. transfer]({figure})"]
    return "\n".join(lines) + "\n"


# --- figure ------------------------------------------------------------------------------------

def scatter_figure(points: pd.DataFrame, out_png: Path, out_pdf: Path,
                   corr: pd.DataFrame | None = None,
                   provenance: Provenance | None = None) -> Figure:
    """Transfer % against each measure, one point per (cell, task), coloured by architecture
    (shape by benchmark when there are several), a zero line; panel titles give the pooled rho
    (and CI when `corr` has one). Saved as PNG and PDF without timestamps (same bytes for the
    same points)."""
    if corr is None:
        corr = correlations(points, n_boot=0)
    pooled = corr[corr["architecture"] == POOLED].set_index("measure")
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(MEASURES), sharey=True)
    order = [a for a in ARCHITECTURE.names if a in set(points["architecture"])]
    benchmarks = sorted(set(points["benchmark"]))
    for i, (ax, (measure, words)) in enumerate(zip(axes, MEASURES.items(), strict=True)):
        if points.empty:
            ax.text(0.5, 0.5, "no (cell, task) points", ha="center", va="center",
                    transform=ax.transAxes)
        else:
            sns.scatterplot(points, x=measure, y="transfer_pct", hue="architecture",
                            hue_order=order,
                            palette={a: ARCHITECTURE.color(a) for a in order},
                            style="benchmark" if len(benchmarks) > 1 else None,
                            style_order=benchmarks if len(benchmarks) > 1 else None,
                            s=28, alpha=0.8, legend=i == 0, ax=ax)
        ax.axhline(0.0, color="grey", linewidth=0.8, linestyle=":")
        line = pooled.loc[measure] if measure in pooled.index else None
        estimate = _estimate(line) if line is not None else ""
        ax.set_title(f"{words}: {estimate or 'ρ undefined'}", fontsize="medium")
        ax.set_xlabel(f"{words} (mean over steps)")
        ax.set_ylabel("transfer over single-task baseline (%)")
        ax.grid(alpha=0.3)
    if not points.empty:
        sns.move_legend(axes[0], "upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small",
                        title_fontsize="small")
    title = (f"Does conflict predict transfer? One point per (multi-task cell, task), "
             f"{_plural(int(points['cell'].nunique()), 'cell')}; panel titles: pooled "
             "Spearman ρ (95% bootstrap CI over cells)")
    if provenance is not None:
        title += "\n" + provenance.subtitle()
    fig.suptitle(title, fontsize="medium")
    for path, fmt, metadata in ((out_png, "png", {"Software": None}),
                                (out_pdf, "pdf", {"CreationDate": None})):
        with atomic_path(Path(path)) as tmp:
            fig.savefig(tmp, format=fmt, dpi=150, metadata=metadata)
    return fig


# --- entry point -------------------------------------------------------------------------------

def write_transfer_analysis(multi_metrics: Sequence[str | Path],
                            single_metrics: Sequence[str | Path], out_csv: str | Path,
                            out_md: str | Path, out_png: str | Path, out_pdf: str | Path,
                            part: str = "encoder", n_boot: int = 2000, seed: int = 0,
                            out_corr_csv: str | Path | None = None,
                            out_html: str | Path | None = None,
                            provenance: Provenance | None = None,
                            test_files: Sequence[str | Path] = ()
                            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """From metrics.json files of multi-task cells (each with conflict.parquet beside it) and
    of single-task cells: the points CSV, a Markdown page (`summary_paragraph` and the
    correlation table, linking the PNG) and the figure; the correlations as CSV too if
    `out_corr_csv`; `test_files` (the benchmarks' test splits) give each metric's floor;
    `provenance` (what was run) heads the page and subtitles the figure.
    Returns (points, correlations)."""
    multi = []
    for path in multi_metrics:
        cell, metrics = read_metrics(path)
        if not cell.multi_task:
            raise ValueError(f"{path}: {cell.id} is not a multi-task cell")
        multi.append((cell, pd.read_parquet(Path(path).parent / "conflict.parquet"), metrics))
    singles = [read_metrics(path) for path in single_metrics]
    points, skipped = transfer_points(multi, singles, part, floors=column_floors(test_files))
    corr = correlations(points, n_boot=n_boot, seed=seed)
    with atomic_path(Path(out_csv)) as tmp:
        points.to_csv(tmp, index=False)
    if out_corr_csv is not None:
        with atomic_path(Path(out_corr_csv)) as tmp:
            corr.to_csv(tmp, index=False)
    figure = Path(os.path.relpath(Path(out_png).resolve(), Path(out_md).resolve().parent))
    with atomic_path(Path(out_md)) as tmp:
        tmp.write_text(to_markdown(corr, len(skipped), figure.as_posix(), part),
                       encoding="utf-8")
    if out_html is not None:  # the report's page: the paragraph and the correlations
        with atomic_path(Path(out_html)) as tmp:
            tmp.write_text(to_html(corr, len(skipped), part, provenance), encoding="utf-8")
    scatter_figure(points, Path(out_png), Path(out_pdf), corr, provenance)
    return points, corr


def to_html(corr: pd.DataFrame, skipped: int = 0, part: str = "encoder",
            provenance: Provenance | None = None) -> str:
    """The analysis as a page for the report: what was run, the generated paragraph, the
    correlation table and how the numbers were made."""
    table = html_table(
        ["architecture", "measure", "Spearman ρ", "95% CI", "points", "cells", "reason"],
        ([("pooled" if line.architecture == POOLED else ARCHITECTURE.label(line.architecture)),
          MEASURES.get(line.measure, line.measure), number(line.rho, "+.3f"),
          f"[{number(line.ci_low, '+.3f')}, {number(line.ci_high, '+.3f')}]", str(line.n_points),
          str(line.n_cells), line.reason if isinstance(line.reason, str) else ""]
         for line in corr.itertuples(index=False)), numeric=(2, 3, 4, 5))
    about = (f"<p class='provenance'>{escape(provenance.sentence())}</p>\n"
             if provenance else "")
    title = "Does conflict predict transfer?"
    return page(title, f"<h3>{title}</h3>\n{about}<p>{escape(summary_paragraph(corr, skipped))}"
                f"</p>\n{table}\n<p>{escape(BASELINE_TEXT)} Conflict: the {part}'s task "
                "gradients.</p>\n")
