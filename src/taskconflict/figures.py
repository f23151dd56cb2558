"""The figures: task conflict over training (Figures 2-4), training loss (Figure 5) and the
pairwise task-gradient cosines of each multi-task run.

- Figure 2: encoder conflict per architecture;
- Figure 3: encoder conflict per prompt style (text-to-text);
- Figure 4: decoder C_dir per output space, and average classification accuracy per space;
- Figure 5: mean training loss over tasks, pre-trained vs. re-initialised decoder;
- Figure 6 (beyond the paper): encoder conflict per multi-task aggregator, one row of panels
  per architecture: does a method meant to remove conflict remove the measured conflict?

`FIGURES` says which run files each figure reads and which function draws it. The plotted
numbers come from tidy frames (`conflict_lines`, `loss_lines`, ...), so tests (and the report)
can check exactly what is drawn: lines are the mean over seeds, bands the min-max over seeds
(seaborn's `errorbar=("pi", 100)`; with 2-3 seeds a standard deviation would be mostly
noise). Legend order, words and colours are the factors' (`factors.py`). Drawn with seaborn
on the object-oriented API (an Agg canvas per figure): no pyplot global state, no seaborn
theme.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from taskconflict.conflict import conflict_curve, conflict_measures, frame_to_grams
from taskconflict.factors import (
    AGGREGATOR,
    ARCHITECTURE,
    DECODER,
    OUTPUT_SPACE,
    PROMPTS,
    Factor,
    variant_name,
)
from taskconflict.grid import Cell, main_variant
from taskconflict.io import atomic_path
from taskconflict.registry import CLASSIFICATION, TASKS

MEASURES = {
    "c_mg_normalised": ("Magnitude conflict", r"normalised $C_{\mathrm{mg}}$"),
    "c_dir": ("Directional conflict", r"$C_{\mathrm{dir}}$"),
}
BAND = "min–max over seeds"
SEED_BAND = ("pi", 100)
"""seaborn's errorbar for the band: the 0-100 percentile interval over seeds, min to max."""
STATS = ["mean", "low", "high", "seeds"]


def seed_stats(values: pd.DataFrame, by: list[str], value: str = "value") -> pd.DataFrame:
    """Per group of `by`: the mean, min and max over seeds of `value`, and the seed count
    (what a line and its band show)."""
    stats = values.groupby(by)[value].agg(mean="mean", low="min", high="max", seeds="count")
    return stats.reset_index()


def conflict_values(runs: list[tuple[Cell, pd.DataFrame]], series: Callable[[Cell], str],
                    keep: Callable[[Cell], bool], part: str = "encoder") -> pd.DataFrame:
    """Per series (e.g. architecture), seed, measure and step: the measured conflict. Columns
    series, seed, step, measure, value.

    Only multi-task cells that `keep` accepts count; two runs of one series and seed are an
    error, since averaging them would mix experiments.
    """
    curves, seen = [], set()
    for cell, frame in runs:
        if not cell.multi_task or not keep(cell):
            continue
        key = (series(cell), cell.seed)
        if key in seen:
            raise ValueError(f"two runs of {key[0]} seed {cell.seed} (last: {cell.id})")
        seen.add(key)
        curve = conflict_curve(frame)
        curves.append(curve[curve["part"] == part].assign(series=key[0], seed=cell.seed))
    if not curves or all(c.empty for c in curves):
        raise ValueError(f"no conflict measurements of the {part} in the runs given")
    return pd.concat(curves).melt(id_vars=["series", "seed", "step"], value_vars=list(MEASURES),
                                  var_name="measure")


def conflict_lines(runs: list[tuple[Cell, pd.DataFrame]], series: Callable[[Cell], str],
                   keep: Callable[[Cell], bool], part: str = "encoder") -> pd.DataFrame:
    """The lines of `conflict_values`: per series, measure and step, mean, min and max over
    seeds, and the seed count. Columns series, measure, step, mean, low, high, seeds."""
    return seed_stats(conflict_values(runs, series, keep, part), ["series", "measure", "step"])


def _figure2_keep(cell: Cell) -> bool:
    return cell.variant == main_variant(cell.architecture)


def figure2_data(runs: list[tuple[Cell, pd.DataFrame]], part: str = "encoder") -> pd.DataFrame:
    """Figure 2's lines: `conflict_lines` per architecture, over the default-variant runs."""
    data = conflict_lines(runs, lambda c: c.architecture, _figure2_keep, part)
    return data.rename(columns={"series": "architecture"})


def _legend_labels(values: pd.DataFrame, factor: Factor) -> dict[str, str]:
    """Legend words of each series in `values`, in the factor's order: its label and the seed
    count, e.g. "default prompts (n=2)"."""
    seeds = values.groupby(["series", "measure", "step"])["seed"].count().groupby("series").max()
    return {name: f"{factor.label(name)} (n={seeds[name]})" for name in factor.names
            if name in seeds.index}


def _draw_lines(ax: Axes, values: pd.DataFrame, measure: str, factor: Factor,
                legend: bool) -> None:
    """One line per series (the factor's levels, in its order and colours): the mean over
    seeds, with the min-max over seeds as a band."""
    labels = _legend_labels(values, factor)
    d = values[values["measure"] == measure]
    d = d.assign(legend=d["series"].map(labels))
    sns.lineplot(d, x="step", y="value", hue="legend", hue_order=list(labels.values()),
                 palette={label: factor.color(name) for name, label in labels.items()},
                 estimator="mean", errorbar=SEED_BAND, err_kws={"alpha": 0.2, "linewidth": 0},
                 legend=legend, ax=ax)
    if measure == "c_dir":
        ax.axhline(0.0, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel("training step")
    ax.grid(alpha=0.3)


def _legend(ax: Axes, factor: Factor) -> None:
    sns.move_legend(ax, "best", title=f"{factor.title}: mean over seeds; band: {BAND}",
                    fontsize="small", title_fontsize="small")


def _save(fig: Figure, out_png: Path, out_pdf: Path) -> None:
    for path, fmt, metadata in ((out_png, "png", {"Software": None}),
                                (out_pdf, "pdf", {"CreationDate": None})):
        with atomic_path(Path(path)) as tmp:
            fig.savefig(tmp, format=fmt, dpi=150, metadata=metadata)


def _benchmarks(runs: Sequence[tuple]) -> str:
    return ", ".join(sorted({cell.benchmark.upper() for cell, *_ in runs if cell.multi_task}))


def figure2(
    runs: list[tuple[Cell, pd.DataFrame]], out_png: Path, out_pdf: Path, part: str = "encoder"
) -> Figure:
    """Draw Figure 2 (one panel per measure, one line per architecture) and save PNG and PDF.
    Returns the figure so callers can inspect it."""
    values = conflict_values(runs, lambda c: c.architecture, _figure2_keep, part)
    title = (f"Figure 2: task conflict in the {part} during multi-task training "
             f"({_benchmarks(runs)})")
    return _conflict_figure(values, ARCHITECTURE, title, out_png, out_pdf)


def _conflict_figure(values: pd.DataFrame, factor: Factor, title: str, out_png: Path,
                     out_pdf: Path) -> Figure:
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(MEASURES))
    for i, (ax, (measure, (panel, ylabel))) in enumerate(zip(axes, MEASURES.items(),
                                                              strict=True)):
        _draw_lines(ax, values, measure, factor, legend=i == 0)
        ax.set_title(panel)
        ax.set_ylabel(ylabel)
    _legend(axes[0], factor)
    fig.suptitle(title)
    _save(fig, out_png, out_pdf)
    return fig


def _figure3_keep(cell: Cell) -> bool:
    return cell.architecture == "text-to-text" and cell.variant == main_variant(
        cell.architecture, prompts=cell.prompts)


def figure3(runs: list[tuple[Cell, pd.DataFrame]], out_png: Path, out_pdf: Path) -> Figure:
    """Figure 3: encoder conflict of text-to-text multi-task training per prompt style."""
    values = conflict_values(runs, lambda c: c.prompts, _figure3_keep)
    return _conflict_figure(values, PROMPTS, "Figure 3: task conflict in the encoder per "
                            "prompt style (text-to-text multi-task)", out_png, out_pdf)


def classification_accuracy(metrics: dict) -> float:
    """Mean test accuracy over a run's classification tasks (Figure 4's bars)."""
    values = [splits["test"]["accuracy"] for task, splits in metrics["tasks"].items()
              if TASKS[task].kind == CLASSIFICATION and "accuracy" in splits.get("test", {})]
    if not values:
        raise ValueError(f"{metrics.get('cell')}: no classification accuracy in metrics")
    return float(np.mean(values))


def _figure4_keep(cell: Cell) -> bool:
    return cell.architecture == "text-to-text" and cell.variant == main_variant(
        cell.architecture, output_space=cell.output_space)


def figure4(runs: list[tuple[Cell, pd.DataFrame, dict]], out_png: Path, out_pdf: Path
            ) -> tuple[Figure, pd.DataFrame, pd.DataFrame]:
    """Figure 4: decoder C_dir over training per output space, and average classification
    accuracy per output space (mean over seeds, with each seed's value as a dot). Returns the
    figure, its lines (`conflict_lines`) and its bars (series, seed, accuracy)."""
    conflict = [(c, f) for c, f, _ in runs]
    values = conflict_values(conflict, lambda c: c.output_space, _figure4_keep, "decoder")
    lines = seed_stats(values, ["series", "measure", "step"])
    bars = pd.DataFrame([{"series": c.output_space, "seed": c.seed,
                          "accuracy": classification_accuracy(m)}
                         for c, _, m in runs if c.multi_task and _figure4_keep(c)])
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, width_ratios=(2, 1))
    _draw_lines(left, values, "c_dir", OUTPUT_SPACE, legend=True)
    left.set_title("Directional conflict in the decoder")
    left.set_ylabel(MEASURES["c_dir"][1])
    _legend(left, OUTPUT_SPACE)
    order = [s for s in OUTPUT_SPACE.names if s in set(bars["series"])]
    labels = {s: textwrap.fill(OUTPUT_SPACE.label(s), 12) for s in order}  # two lines each
    ticks = list(labels.values())
    bars_drawn = bars.assign(space=bars["series"].map(labels))
    sns.barplot(bars_drawn, x="space", y="accuracy", hue="space", order=ticks, hue_order=ticks,
                palette={labels[s]: OUTPUT_SPACE.color(s) for s in order}, estimator="mean",
                errorbar=None, saturation=1, alpha=0.7, legend=False, ax=right)
    sns.stripplot(bars_drawn, x="space", y="accuracy", order=ticks, color="black", size=3.5,
                  jitter=False, zorder=3, ax=right)
    right.set_xlabel(OUTPUT_SPACE.title)
    right.set_title("Average classification accuracy")
    right.set_ylabel("test accuracy ×100 (mean over tasks)")
    right.grid(alpha=0.3, axis="y")
    fig.suptitle("Figure 4: output spaces (text-to-text multi-task)")
    _save(fig, out_png, out_pdf)
    return fig, lines, bars


def loss_values(runs: list[tuple[Cell, pd.DataFrame]]) -> pd.DataFrame:
    """Per architecture, decoder init (series), seed and step: the mean over tasks of the
    logged training loss of each multi-task run with a pre-trained or re-initialised decoder
    (default prompts and output space). Columns architecture, series, seed, step, loss."""
    rows = []
    for cell, log in runs:
        if not cell.multi_task or cell.variant != variant_name(decoder=cell.decoder):
            continue
        per_step = log.groupby("step")["loss"].mean()
        rows += [{"architecture": cell.architecture, "series": cell.decoder, "seed": cell.seed,
                  "step": int(step), "loss": float(loss)} for step, loss in per_step.items()]
    if not rows:
        raise ValueError("no multi-task training logs with a pre-trained or re-initialised "
                         "decoder in the runs given")
    return pd.DataFrame(rows)


def loss_lines(runs: list[tuple[Cell, pd.DataFrame]]) -> pd.DataFrame:
    """Figure 5's lines: per architecture, decoder init and step, the mean over tasks of the
    logged training loss, then mean/min/max over seeds."""
    return seed_stats(loss_values(runs), ["architecture", "series", "step"], "loss")


def figure5(runs: list[tuple[Cell, pd.DataFrame]], out_png: Path, out_pdf: Path) -> Figure:
    """Figure 5: average training loss over steps, pre-trained vs. re-initialised decoder,
    one panel per architecture."""
    values = loss_values(runs).rename(columns={"loss": "value"}).assign(measure="loss")
    architectures = [a for a in ARCHITECTURE.names if a in set(values["architecture"])]
    fig = Figure(figsize=(5.5 * len(architectures), 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    axes = np.atleast_1d(fig.subplots(1, len(architectures)))
    for ax, architecture in zip(axes, architectures, strict=True):
        _draw_lines(ax, values[values["architecture"] == architecture], "loss", DECODER,
                    legend=True)
        ax.set_title(ARCHITECTURE.label(architecture))
        ax.set_ylabel("training loss (mean over tasks)")
        ax.set_yscale("log")
        _legend(ax, DECODER)
    fig.suptitle(f"Figure 5: training loss, pre-trained vs. re-initialised decoder "
                 f"({_benchmarks(runs)})")
    _save(fig, out_png, out_pdf)
    return fig


def _figure6_keep(cell: Cell) -> bool:
    return cell.variant == main_variant(cell.architecture, aggregator=cell.aggregator)


def figure6(runs: list[tuple[Cell, pd.DataFrame]], out_png: Path, out_pdf: Path) -> Figure:
    """Figure 6: encoder conflict over training per aggregator (one line each), one row of
    panels per architecture that ran."""
    architectures = [a for a in ARCHITECTURE.names
                     if any(c.architecture == a and c.multi_task and _figure6_keep(c)
                            for c, _ in runs)]
    if not architectures:
        raise ValueError("no multi-task runs of Figure 6's variants in the runs given")
    fig = Figure(figsize=(11, 3.8 * len(architectures)), layout="constrained")
    FigureCanvasAgg(fig)
    axes = np.atleast_2d(fig.subplots(len(architectures), len(MEASURES)))
    for row, architecture in zip(axes, architectures, strict=True):
        values = conflict_values(runs, lambda c: c.aggregator,
                                 lambda c, a=architecture: c.architecture == a
                                 and _figure6_keep(c))
        for i, (ax, (measure, (panel, ylabel))) in enumerate(zip(row, MEASURES.items(),
                                                                  strict=True)):
            _draw_lines(ax, values, measure, AGGREGATOR, legend=i == 0)
            ax.set_title(f"{panel}: {architecture}")
            ax.set_ylabel(ylabel)
        _legend(row[0], AGGREGATOR)
    fig.suptitle(f"Figure 6: task conflict in the encoder per multi-task aggregator "
                 f"({_benchmarks(runs)})")
    _save(fig, out_png, out_pdf)
    return fig


@dataclass(frozen=True)
class FigureSpec:
    number: int
    experiment: str
    """The config experiment whose multi-task runs it draws."""
    files: tuple[str, ...]
    """The files of each multi-task run it reads, in the order `draw` takes them: its runs
    are `(cell, <file 1>, <file 2>, ...)` tuples."""
    draw: Callable[[list[tuple], Path, Path], object]


FIGURES: dict[int, FigureSpec] = {spec.number: spec for spec in (
    FigureSpec(2, "table1", ("conflict.parquet",), figure2),
    FigureSpec(3, "table2", ("conflict.parquet",), figure3),
    FigureSpec(4, "figure4", ("conflict.parquet", "metrics.json"), figure4),
    FigureSpec(5, "table3", ("train_log.parquet",), figure5),
    FigureSpec(6, "table5", ("conflict.parquet",), figure6),
)}


def cosine_snapshots(frame: pd.DataFrame, part: str = "encoder"
                     ) -> list[tuple[int, tuple[str, ...], np.ndarray]]:
    """The pairwise task-gradient cosines at the first, middle and last measurement."""
    grams = {step: value for (step, p), value in frame_to_grams(frame).items() if p == part}
    if not grams:
        raise ValueError(f"no conflict measurements of the {part}")
    steps = sorted(grams)
    picked = sorted({steps[0], steps[len(steps) // 2], steps[-1]})
    return [(step, grams[step][0], conflict_measures(grams[step][1]).cosine) for step in picked]


def cosine_heatmaps(cell: Cell, frame: pd.DataFrame, out_png: Path) -> Figure:
    """Which tasks conflict: the cosine matrix at the start, middle and end of training."""
    snapshots = cosine_snapshots(frame)
    fig = Figure(figsize=(4.2 * len(snapshots) + 0.8, 4.0), layout="constrained")
    FigureCanvasAgg(fig)
    axes = np.atleast_1d(fig.subplots(1, len(snapshots)))
    for ax, (step, tasks, cosine) in zip(axes, snapshots, strict=True):
        names = [TASKS[t].display for t in tasks]
        sns.heatmap(cosine, vmin=-1, vmax=1, cmap="RdBu", square=True, cbar=False,
                    annot=True, fmt=".1f", annot_kws={"fontsize": 6},
                    xticklabels=names, yticklabels=names, ax=ax)
        ax.tick_params(axis="x", labelrotation=90, labelsize="small")
        ax.tick_params(axis="y", labelrotation=0, labelsize="small")
        ax.set_title(f"step {step}")
    fig.colorbar(axes[0].collections[0], ax=list(axes), shrink=0.8,
                 label="cosine of task gradients (encoder)")
    fig.suptitle(f"Task-gradient cosines: {cell.id}", fontsize="medium")
    with atomic_path(Path(out_png)) as tmp:
        fig.savefig(tmp, format="png", dpi=120, metadata={"Software": None})
    return fig
