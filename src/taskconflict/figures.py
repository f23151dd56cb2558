"""The figures: task conflict over training (Figures 2-4), training loss (Figure 5) and the
pairwise task-gradient cosines of each multi-task run.

- Figure 2: encoder conflict per architecture, laid out as in the paper: normalised C_mg on
  top, C_dir below, one column per benchmark (GLUE and DecaNLP side by side when both ran);
- Figure 3: encoder conflict per prompt style (text-to-text);
- Figure 4: decoder C_dir per output space, and average classification accuracy per space;
- Figure 5: mean training loss over tasks, pre-trained vs. re-initialised decoder;
- Figure 6 (beyond the paper): encoder conflict per multi-task aggregator, one row of panels
  per architecture: does a method meant to remove conflict remove the measured conflict?

`FIGURES` says which run files each figure reads, which function draws it and whether one
file shows every benchmark (Figure 2) or one (the others). The plotted numbers come from tidy
frames (`conflict_lines`, `loss_lines`, ...), so tests (and the report) can check exactly what
is drawn: lines are the mean over seeds with a dot at each measured step (conflict is measured
at a handful of steps: a dot shows that a spike is one measurement, not a trend), bands the
min-max over seeds (seaborn's `errorbar=("pi", 100)`; with 2-3 seeds a standard deviation would
be mostly noise), drawn only where some line has more than one seed. One legend per figure,
below the panels (never over a curve); its order, words and colours are the factors'
(`factors.py`). Every title names the benchmark, and the provenance's subtitle says what the
curves were computed from. Drawn with seaborn on the object-oriented API (an Agg canvas per
figure): no pyplot global state, no seaborn theme.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

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
from taskconflict.provenance import Provenance
from taskconflict.registry import (
    BENCHMARKS,
    CLASSIFICATION,
    TASKS,
    benchmark_title,
    benchmark_titles,
)

MEASURES = {
    "c_mg_normalised": ("Magnitude conflict", r"normalised $C_{\mathrm{mg}}$"),
    "c_dir": ("Directional conflict", r"$C_{\mathrm{dir}}$"),
}
BAND = "min–max over seeds"
SEED_BAND = ("pi", 100)
"""seaborn's errorbar for the band: the 0-100 percentile interval over seeds, min to max."""
STATS = ["mean", "low", "high", "seeds"]
MARKER_STEPS = 40
"""Lines of at most this many steps get a dot per step: conflict's few measurements do; a
loss logged every few steps of a long run would be a smear of dots."""
MARKER = {"marker": "o", "markersize": 4.5, "markeredgecolor": "white", "markeredgewidth": 0.6}
TITLE_PT, SUBTITLE_PT = 12.0, 9.0
DPI, COSINE_DPI = 150, 100
"""Saved resolution. The cosine heatmaps, 10 in wide at 100 dpi (1000 px), are shown about
700 px wide in the report beside its list of entries, so 11 pt annotations read as ~10 px."""


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


# --- benchmarks: Figure 2 shows each in a column, the others one per file ---------------------

def benchmarks_of(runs: Sequence[tuple]) -> list[str]:
    """The benchmarks of the runs' cells, in the registry's order (GLUE before DecaNLP, as the
    paper's columns)."""
    order = list(BENCHMARKS)
    names = {cell.benchmark for cell, *_ in runs}
    return sorted(names, key=lambda b: (order.index(b) if b in order else len(order), b))


def _by_benchmark(runs: Sequence[tuple]) -> dict[str, list[tuple]]:
    return {b: [run for run in runs if run[0].benchmark == b] for b in benchmarks_of(runs)}


def one_benchmark(runs: Sequence[tuple], number: int) -> str:
    """The benchmark of a figure drawn once per benchmark: runs of two would be averaged into
    one line of tasks that never trained together, so that is an error."""
    names = benchmarks_of(runs)
    if not names:
        raise ValueError(f"Figure {number}: no runs given")
    if len(names) > 1:
        raise ValueError(f"Figure {number} draws one benchmark per file, but its runs hold "
                         f"{benchmark_titles(names)}: pass one benchmark's")
    return names[0]


def _figure2_keep(cell: Cell) -> bool:
    return cell.variant == main_variant(cell.architecture)


def figure2_data(runs: list[tuple[Cell, pd.DataFrame]], part: str = "encoder") -> pd.DataFrame:
    """Figure 2's lines: `conflict_lines` per architecture over the default-variant runs, per
    benchmark (a column of the figure). Columns benchmark, architecture, measure, step, mean,
    low, high, seeds."""
    frames = [conflict_lines(group, lambda c: c.architecture, _figure2_keep, part)
              .assign(benchmark=benchmark) for benchmark, group in _by_benchmark(runs).items()]
    if not frames:
        raise ValueError(f"no conflict measurements of the {part} in the runs given")
    data = pd.concat(frames, ignore_index=True).rename(columns={"series": "architecture"})
    return data[["benchmark", *(c for c in data.columns if c != "benchmark")]]


# --- drawing ------------------------------------------------------------------------------------

def _has_band(values: Iterable[pd.DataFrame]) -> bool:
    """Whether some line has more than one seed at a step. Only then is a band (and the
    legend's words for it) drawn: one seed's min-max is the line itself."""
    return any(int(v.groupby(["series", "measure", "step"])["seed"].count().max()) > 1
               for v in values)


def _marked(values: pd.DataFrame) -> bool:
    """Whether a line's steps are few enough for a dot each (`MARKER_STEPS`)."""
    return values["step"].nunique() <= MARKER_STEPS


def _has_markers(values: Iterable[pd.DataFrame]) -> bool:
    return any(map(_marked, values))


def _legend_labels(values: Iterable[pd.DataFrame], factor: Factor) -> dict[str, str]:
    """Legend words of each series drawn in any of `values` (one frame per panel), in the
    factor's order: its label and the seed count, e.g. "default prompts (n=2)" ("n=1–2"
    where panels differ)."""
    counts: dict[str, set[int]] = {}
    for v in values:
        seeds = v.groupby(["series", "measure", "step"])["seed"].count().groupby("series").max()
        for name, n in seeds.items():
            counts.setdefault(name, set()).add(int(n))

    def n(found: set[int]) -> str:
        return f"n={min(found)}" if len(found) == 1 else f"n={min(found)}–{max(found)}"
    return {name: f"{factor.label(name)} ({n(counts[name])})" for name in factor.names
            if name in counts}


def _draw_lines(ax: Axes, values: pd.DataFrame, measure: str, factor: Factor,
                band: bool) -> None:
    """One line per series (the factor's levels, in its order and colours): the mean over
    seeds, a dot at each step, and, when `band`, the min-max over seeds as a band."""
    d = values[values["measure"] == measure]
    names = [name for name in factor.names if name in set(d["series"])]
    markers = MARKER if _marked(d) else {}
    sns.lineplot(d, x="step", y="value", hue="series", hue_order=names,
                 palette={name: factor.color(name) for name in names}, estimator="mean",
                 errorbar=SEED_BAND if band else None,
                 err_kws={"alpha": 0.2, "linewidth": 0}, legend=False, ax=ax, **markers)
    if measure == "c_dir":
        ax.axhline(0.0, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel("training step")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps: no "2.5"
    ax.grid(alpha=0.3)


def _figure_legend(fig: Figure, labels: dict[str, str], factor: Factor, band: bool,
                   markers: bool) -> None:
    """One legend for all panels, below them (outside every axes, so it hides no curve). Its
    words name the band only when one is drawn."""
    handles = [Line2D([], [], color=factor.color(name), linewidth=1.5,
                      **(MARKER if markers else {})) for name in labels]
    title = f"{factor.title}: line = mean over seeds, band = {BAND}" if band else factor.title
    fig.legend(handles, list(labels.values()), loc="outside lower center",
               ncols=min(len(labels), 5), title=title, fontsize="small",
               title_fontsize="small", frameon=False)


def _wrap(fig: Figure, text: str, points: float, width_in: float) -> list[str]:
    """`text` in lines that fit `width_in` at `points`, measured by the renderer. A line
    breaks between the " · " parts of a subtitle, else between words; each "\n" starts a
    new line."""
    renderer = fig.canvas.get_renderer()
    font = FontProperties(size=points)

    def fits(line: str) -> bool:
        width = renderer.get_text_width_height_descent(line, font, ismath=False)[0]
        return width / fig.dpi <= width_in

    lines = []
    for paragraph in text.split("\n"):
        sep = " · " if " · " in paragraph else " "
        line = ""
        for part in paragraph.split(sep):
            candidate = f"{line}{sep}{part}" if line else part
            if line and not fits(candidate):
                lines.append(line)
                line = part
            else:
                line = candidate
        lines.append(line)
    return lines


def _titles(fig: Figure, title: str, provenance: Provenance | None) -> None:
    """The title and, on a smaller line under it, the provenance's subtitle (what the numbers
    were computed from), in a strip at the top that the constrained layout leaves free (a
    suptitle has one size)."""
    width, height = fig.get_figwidth(), fig.get_figheight()
    lines = [(line, TITLE_PT, "black") for line in _wrap(fig, title, TITLE_PT, width - 0.3)]
    if provenance is not None:
        lines += [(line, SUBTITLE_PT, "dimgray")
                  for line in _wrap(fig, provenance.subtitle(), SUBTITLE_PT, width - 0.3)]
    top = 0.08  # inches from the top edge
    for text, points, color in lines:
        fig.text(0.5, 1 - top / height, text, ha="center", va="top", fontsize=points,
                 color=color)
        top += points * 1.3 / 72
    fig.get_layout_engine().set(rect=(0, 0, 1, 1 - (top + 0.04) / height))


def _save(fig: Figure, out_png: Path, out_pdf: Path) -> None:
    for path, fmt, metadata in ((out_png, "png", {"Software": None}),
                                (out_pdf, "pdf", {"CreationDate": None})):
        with atomic_path(Path(path)) as tmp:
            fig.savefig(tmp, format=fmt, dpi=DPI, metadata=metadata)


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def figure2(runs: list[tuple[Cell, pd.DataFrame]], out_png: Path, out_pdf: Path,
            part: str = "encoder", provenance: Provenance | None = None) -> Figure:
    """Draw Figure 2 in the paper's layout and save PNG and PDF: normalised C_mg (top row)
    and C_dir (bottom row) over training, one line per architecture, one column per benchmark
    of the runs (GLUE and DecaNLP side by side when both ran). Returns the figure so callers
    can inspect it."""
    columns = {benchmark: conflict_values(group, lambda c: c.architecture, _figure2_keep, part)
               for benchmark, group in _by_benchmark(runs).items()}
    if not columns:
        raise ValueError("Figure 2: no runs given")
    band = _has_band(columns.values())
    fig = _new_figure(max(7.2, 5.6 * len(columns) + 0.6), 8.0)
    axes = fig.subplots(len(MEASURES), len(columns), squeeze=False)
    for col, (benchmark, values) in enumerate(columns.items()):
        for row, (measure, (panel, ylabel)) in enumerate(MEASURES.items()):
            ax = axes[row, col]
            _draw_lines(ax, values, measure, ARCHITECTURE, band)
            ax.set_title(f"{benchmark_title(benchmark)}: {panel}")
            ax.set_ylabel(ylabel)
    _figure_legend(fig, _legend_labels(columns.values(), ARCHITECTURE), ARCHITECTURE, band,
                   _has_markers(columns.values()))
    _titles(fig, f"Figure 2 ({benchmark_titles(columns)}): task conflict in the {part} during "
            f"multi-task training", provenance)
    _save(fig, out_png, out_pdf)
    return fig


def _conflict_figure(values: pd.DataFrame, factor: Factor, title: str, out_png: Path,
                     out_pdf: Path, provenance: Provenance | None) -> Figure:
    """Both measures side by side, one line per level of `factor`."""
    band = _has_band([values])
    fig = _new_figure(11, 4.9)
    axes = fig.subplots(1, len(MEASURES))
    for ax, (measure, (panel, ylabel)) in zip(axes, MEASURES.items(), strict=True):
        _draw_lines(ax, values, measure, factor, band)
        ax.set_title(panel)
        ax.set_ylabel(ylabel)
    _figure_legend(fig, _legend_labels([values], factor), factor, band, _has_markers([values]))
    _titles(fig, title, provenance)
    _save(fig, out_png, out_pdf)
    return fig


def _figure3_keep(cell: Cell) -> bool:
    return cell.architecture == "text-to-text" and cell.variant == main_variant(
        cell.architecture, prompts=cell.prompts)


def figure3(runs: list[tuple[Cell, pd.DataFrame]], out_png: Path, out_pdf: Path,
            provenance: Provenance | None = None) -> Figure:
    """Figure 3: encoder conflict of text-to-text multi-task training per prompt style."""
    benchmark = one_benchmark(runs, 3)
    values = conflict_values(runs, lambda c: c.prompts, _figure3_keep)
    return _conflict_figure(values, PROMPTS, f"Figure 3 ({benchmark_title(benchmark)}): task "
                            "conflict in the encoder per prompt style (text-to-text multi-task)",
                            out_png, out_pdf, provenance)


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


def figure4(runs: list[tuple[Cell, pd.DataFrame, dict]], out_png: Path, out_pdf: Path,
            provenance: Provenance | None = None
            ) -> tuple[Figure, pd.DataFrame, pd.DataFrame]:
    """Figure 4: decoder C_dir over training per output space, and average classification
    accuracy per output space (mean over seeds, with each seed's value as a dot). Returns the
    figure, its lines (`conflict_lines`) and its bars (series, seed, accuracy)."""
    benchmark = one_benchmark(runs, 4)
    conflict = [(c, f) for c, f, _ in runs]
    values = conflict_values(conflict, lambda c: c.output_space, _figure4_keep, "decoder")
    lines = seed_stats(values, ["series", "measure", "step"])
    bars = pd.DataFrame([{"series": c.output_space, "seed": c.seed,
                          "accuracy": classification_accuracy(m)}
                         for c, _, m in runs if c.multi_task and _figure4_keep(c)])
    band = _has_band([values])
    fig = _new_figure(11, 5.1)
    left, right = fig.subplots(1, 2, width_ratios=(2, 1))
    _draw_lines(left, values, "c_dir", OUTPUT_SPACE, band)
    left.set_title("Directional conflict in the decoder")
    left.set_ylabel(MEASURES["c_dir"][1])
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
    right.set_ylabel("test accuracy ×100 (mean over tasks)")
    right.grid(alpha=0.3, axis="y")
    _figure_legend(fig, _legend_labels([values], OUTPUT_SPACE), OUTPUT_SPACE, band,
                   _has_markers([values]))
    several = bool((bars.groupby("series")["seed"].count() > 1).any())
    right.set_title("Average classification accuracy" + (
        "\n(bar: mean over seeds, dot: each seed)" if several else ""))
    _titles(fig, f"Figure 4 ({benchmark_title(benchmark)}): output spaces (text-to-text "
            "multi-task)", provenance)
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


def figure5(runs: list[tuple[Cell, pd.DataFrame]], out_png: Path, out_pdf: Path,
            provenance: Provenance | None = None) -> Figure:
    """Figure 5: average training loss over steps, pre-trained vs. re-initialised decoder,
    one panel per architecture."""
    benchmark = one_benchmark(runs, 5)
    values = loss_values(runs).rename(columns={"loss": "value"}).assign(measure="loss")
    architectures = [a for a in ARCHITECTURE.names if a in set(values["architecture"])]
    panels = [values[values["architecture"] == a] for a in architectures]
    band = _has_band(panels)
    fig = _new_figure(max(5.5 * len(architectures), 7.0), 5.0)
    axes = np.atleast_1d(fig.subplots(1, len(architectures)))
    for ax, architecture, panel in zip(axes, architectures, panels, strict=True):
        _draw_lines(ax, panel, "loss", DECODER, band)
        ax.set_title(ARCHITECTURE.label(architecture))
        ax.set_ylabel("training loss (mean over tasks)")
        ax.set_yscale("log")
    _figure_legend(fig, _legend_labels(panels, DECODER), DECODER, band, _has_markers(panels))
    _titles(fig, f"Figure 5 ({benchmark_title(benchmark)}): training loss, pre-trained vs. "
            "re-initialised decoder", provenance)
    _save(fig, out_png, out_pdf)
    return fig


def _figure6_keep(cell: Cell) -> bool:
    return cell.variant == main_variant(cell.architecture, aggregator=cell.aggregator)


def figure6(runs: list[tuple[Cell, pd.DataFrame]], out_png: Path, out_pdf: Path,
            provenance: Provenance | None = None) -> Figure:
    """Figure 6: encoder conflict over training per aggregator (one line each), one row of
    panels per architecture that ran."""
    benchmark = one_benchmark(runs, 6)
    architectures = [a for a in ARCHITECTURE.names
                     if any(c.architecture == a and c.multi_task and _figure6_keep(c)
                            for c, _ in runs)]
    if not architectures:
        raise ValueError("no multi-task runs of Figure 6's variants in the runs given")
    rows = [conflict_values(runs, lambda c: c.aggregator,
                            lambda c, a=architecture: c.architecture == a and _figure6_keep(c))
            for architecture in architectures]
    band = _has_band(rows)
    labels = _legend_labels(rows, AGGREGATOR)
    legend_rows = math.ceil(len(labels) / 5)
    fig = _new_figure(11, 3.8 * len(architectures) + 1.3 + 0.2 * legend_rows)
    axes = np.atleast_2d(fig.subplots(len(architectures), len(MEASURES)))
    for row, architecture, values in zip(axes, architectures, rows, strict=True):
        for ax, (measure, (panel, ylabel)) in zip(row, MEASURES.items(), strict=True):
            _draw_lines(ax, values, measure, AGGREGATOR, band)
            ax.set_title(f"{panel}: {architecture}")
            ax.set_ylabel(ylabel)
    _figure_legend(fig, labels, AGGREGATOR, band, _has_markers(rows))
    _titles(fig, f"Figure 6 ({benchmark_title(benchmark)}): task conflict in the encoder per "
            "multi-task aggregator", provenance)
    _save(fig, out_png, out_pdf)
    return fig


@dataclass(frozen=True)
class FigureSpec:
    number: int
    shows: str
    """What it shows, in a few words (the report's label)."""
    experiment: str
    """The config experiment whose multi-task runs it draws."""
    files: tuple[str, ...]
    """The files of each multi-task run it reads, in the order `draw` takes them: its runs
    are `(cell, <file 1>, <file 2>, ...)` tuples."""
    draw: Callable[..., object]
    """`draw(runs, png, pdf, provenance=None)`: saves the PNG and PDF."""
    joint_benchmarks: bool = False
    """One file for every benchmark's runs, a column each (Figure 2, as in the paper), rather
    than one file per benchmark (whose `draw` refuses runs of several)."""


FIGURES: dict[int, FigureSpec] = {spec.number: spec for spec in (
    FigureSpec(2, "encoder conflict per architecture", "table1", ("conflict.parquet",),
               figure2, joint_benchmarks=True),
    FigureSpec(3, "encoder conflict per prompt style", "table2", ("conflict.parquet",),
               figure3),
    FigureSpec(4, "decoder conflict and accuracy per output space", "figure4",
               ("conflict.parquet", "metrics.json"), figure4),
    FigureSpec(5, "training loss, pre-trained vs. re-initialised decoder", "table3",
               ("train_log.parquet",), figure5),
    FigureSpec(6, "encoder conflict per aggregator (beyond the paper)", "table5",
               ("conflict.parquet",), figure6),
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


def cosine_annotation(value: float) -> str:
    """A heatmap cell's words: one decimal, "0.0" for anything that rounds to zero ("-0.0"
    reads as a conflict where there is none), nothing for a missing value."""
    if not np.isfinite(value):
        return ""
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def cosine_annotations(cosine: np.ndarray) -> np.ndarray:
    """`cosine_annotation` of every entry, in the matrix's shape (seaborn's `annot`)."""
    values = np.asarray(cosine, dtype=float)
    return np.array([cosine_annotation(v) for v in values.ravel()],
                    dtype=object).reshape(values.shape)


def cosine_heatmaps(cell: Cell, frame: pd.DataFrame, out_png: Path,
                    provenance: Provenance | None = None) -> Figure:
    """Which tasks conflict: the cosine matrix at the start, middle and end of training, two
    panels a row and the colour bar in the last slot. The report shows an image beside its
    list of entries, about 700 px wide on a 1280 px screen: side by side, three 9 x 9 matrices
    would shrink to unreadable digits there; two a row keep each cell about 30 px."""
    snapshots = cosine_snapshots(frame)
    size = max(len(tasks) for _, tasks, _ in snapshots)
    annotation_pt = 11 if size <= 10 else 8
    rows = (len(snapshots) + 2) // 2
    fig = _new_figure(10.0, 4.6 * rows + 1.0)
    axes = fig.subplots(rows, 2).ravel()
    for i, (ax, (step, tasks, cosine)) in enumerate(zip(axes, snapshots, strict=False)):
        names = [TASKS[t].display for t in tasks]
        sns.heatmap(cosine, vmin=-1, vmax=1, cmap="RdBu", square=True, cbar=False,
                    annot=cosine_annotations(cosine), fmt="",
                    annot_kws={"fontsize": annotation_pt}, xticklabels=names,
                    yticklabels=names if i % 2 == 0 else False, ax=ax)  # rows: left column
        ax.tick_params(axis="x", labelrotation=90, labelsize=10)
        ax.tick_params(axis="y", labelrotation=0, labelsize=10)
        ax.set_title(f"step {step}", fontsize=12)
    for ax in axes[len(snapshots):]:
        ax.axis("off")
    key = axes[-1].inset_axes((0.1, 0.5, 0.8, 0.07))
    fig.colorbar(axes[0].collections[0], cax=key, orientation="horizontal",
                 label="cosine of task gradients (encoder)")
    key.set_title("red: task pairs whose gradients conflict", fontsize=10)
    _titles(fig, f"Task-gradient cosines in the encoder\n{cell.title}", provenance)
    with atomic_path(Path(out_png)) as tmp:
        fig.savefig(tmp, format="png", dpi=COSINE_DPI, metadata={"Software": None})
    return fig
