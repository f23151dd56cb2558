"""The figures: task conflict over training (Figures 2-4), training loss (Figure 5) and the
pairwise task-gradient cosines of each multi-task run.

- Figure 2: encoder conflict per architecture;
- Figure 3: encoder conflict per prompt style (text-to-text);
- Figure 4: decoder C_dir per output space, and average classification accuracy per space;
- Figure 5: mean training loss over tasks, pre-trained vs. re-initialised decoder.

The plotted numbers come from tidy frames (`conflict_lines`, `loss_lines`, ...), so tests (and
the report) can check exactly what is drawn. Uses the object-oriented API on an Agg canvas:
no pyplot global state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from taskconflict.conflict import conflict_curve, conflict_measures, frame_to_grams
from taskconflict.grid import Cell, main_variant, variant_name
from taskconflict.io import atomic_path
from taskconflict.registry import CLASSIFICATION, TASKS

ARCHITECTURES = ("canonical", "text-to-text-id", "text-to-text")
COLORS = {"canonical": "tab:blue", "text-to-text-id": "tab:orange", "text-to-text": "tab:green",
          "pretrained": "tab:blue", "reinit": "tab:red"}
MEASURES = {
    "c_mg_normalised": ("Magnitude conflict", r"normalised $C_{\mathrm{mg}}$"),
    "c_dir": ("Directional conflict", r"$C_{\mathrm{dir}}$"),
}
BAND = "min–max over seeds"


def conflict_lines(runs: list[tuple[Cell, pd.DataFrame]], series: Callable[[Cell], str],
                   keep: Callable[[Cell], bool], part: str = "encoder") -> pd.DataFrame:
    """Per series (e.g. architecture), measure and step: mean, min and max over seeds, and
    the seed count. Columns series, measure, step, mean, low, high, seeds.

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
        curves.append(curve[curve["part"] == part].assign(series=key[0]))
    if not curves or all(c.empty for c in curves):
        raise ValueError(f"no conflict measurements of the {part} in the runs given")
    long = pd.concat(curves).melt(
        id_vars=["series", "step"], value_vars=list(MEASURES), var_name="measure"
    )
    stats = long.groupby(["series", "measure", "step"])["value"].agg(
        mean="mean", low="min", high="max", seeds="count"
    )
    return stats.reset_index()


def figure2_data(runs: list[tuple[Cell, pd.DataFrame]], part: str = "encoder") -> pd.DataFrame:
    """Figure 2's lines: `conflict_lines` per architecture, over the default-variant runs."""
    data = conflict_lines(runs, lambda c: c.architecture,
                          lambda c: c.architecture in ARCHITECTURES
                          and c.variant == main_variant(c.architecture), part)
    return data.rename(columns={"series": "architecture"})


def _draw_lines(ax, data: pd.DataFrame, measure: str, order: Sequence[str]) -> None:
    """Mean over seeds as a line, min-max over seeds as a band, one per series."""
    for i, name in enumerate(order):
        d = data[(data["series"] == name) & (data["measure"] == measure)].sort_values("step")
        if d.empty:
            continue
        color = COLORS.get(name, f"C{i}")
        ax.plot(d["step"], d["mean"], color=color, label=f"{name} (n={int(d['seeds'].max())})")
        ax.fill_between(d["step"], d["low"], d["high"], color=color, alpha=0.2, linewidth=0)
    if measure == "c_dir":
        ax.axhline(0.0, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel("training step")
    ax.grid(alpha=0.3)


def _save(fig: Figure, out_png: Path, out_pdf: Path) -> None:
    for path, fmt, metadata in ((out_png, "png", {"Software": None}),
                                (out_pdf, "pdf", {"CreationDate": None})):
        with atomic_path(Path(path)) as tmp:
            fig.savefig(tmp, format=fmt, dpi=150, metadata=metadata)


def figure2(
    runs: list[tuple[Cell, pd.DataFrame]], out_png: Path, out_pdf: Path, part: str = "encoder"
) -> Figure:
    """Draw Figure 2 (one panel per measure, one line per architecture) and save PNG and PDF.

    Lines are the mean over seeds, bands the min-max over seeds (with 2-3 seeds a standard
    deviation would be mostly noise). Returns the figure so callers can inspect it.
    """
    data = figure2_data(runs, part).rename(columns={"architecture": "series"})
    benchmarks = sorted({cell.benchmark for cell, _ in runs if cell.multi_task})
    title = (f"Figure 2: task conflict in the {part} during multi-task training "
             f"({', '.join(b.upper() for b in benchmarks)})")
    return _conflict_figure(data, ARCHITECTURES, title, out_png, out_pdf)


def _conflict_figure(data: pd.DataFrame, order: Sequence[str], title: str, out_png: Path,
                     out_pdf: Path) -> Figure:
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(MEASURES))
    for ax, (measure, (panel, ylabel)) in zip(axes, MEASURES.items(), strict=True):
        _draw_lines(ax, data, measure, order)
        ax.set_title(panel)
        ax.set_ylabel(ylabel)
    axes[0].legend(title=f"mean over seeds; band: {BAND}", fontsize="small",
                   title_fontsize="small")
    fig.suptitle(title)
    _save(fig, out_png, out_pdf)
    return fig


PROMPT_ORDER = ("null", "default", "diverse")
LABEL_ORDER = ("default", "overlapping", "distinct")
DECODER_ORDER = ("pretrained", "reinit")


def figure3(runs: list[tuple[Cell, pd.DataFrame]], out_png: Path, out_pdf: Path) -> Figure:
    """Figure 3: encoder conflict of text-to-text multi-task training per prompt style."""
    data = conflict_lines(runs, lambda c: c.prompts,
                          lambda c: c.architecture == "text-to-text"
                          and c.labels == "default" and c.decoder == "pretrained")
    return _conflict_figure(data, PROMPT_ORDER, "Figure 3: task conflict in the encoder per "
                            "prompt style (text-to-text multi-task)", out_png, out_pdf)


def classification_accuracy(metrics: dict) -> float:
    """Mean test accuracy over a run's classification tasks (Figure 4's bars)."""
    values = [splits["test"]["accuracy"] for task, splits in metrics["tasks"].items()
              if TASKS[task].kind == CLASSIFICATION and "accuracy" in splits.get("test", {})]
    if not values:
        raise ValueError(f"{metrics.get('cell')}: no classification accuracy in metrics")
    return float(np.mean(values))


def figure4(runs: list[tuple[Cell, pd.DataFrame, dict]], out_png: Path, out_pdf: Path
            ) -> tuple[Figure, pd.DataFrame, pd.DataFrame]:
    """Figure 4: decoder C_dir over training per output space, and average classification
    accuracy per output space (mean over seeds, with each seed's value as a dot)."""
    def keep(cell: Cell) -> bool:
        return (cell.architecture, cell.prompts, cell.decoder) == (
            "text-to-text", "default", "pretrained")

    lines = conflict_lines([(c, f) for c, f, _ in runs], lambda c: c.labels, keep, "decoder")
    bars = pd.DataFrame([{"series": c.labels, "seed": c.seed,
                          "accuracy": classification_accuracy(m)}
                         for c, _, m in runs if c.multi_task and keep(c)])
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, width_ratios=(2, 1))
    _draw_lines(left, lines, "c_dir", LABEL_ORDER)
    left.set_title("Directional conflict in the decoder")
    left.set_ylabel(MEASURES["c_dir"][1])
    left.legend(title=f"output space; band: {BAND}", fontsize="small", title_fontsize="small")
    order = [s for s in LABEL_ORDER if s in set(bars["series"])]
    means = [bars.loc[bars["series"] == s, "accuracy"].mean() for s in order]
    right.bar(order, means, color=[f"C{LABEL_ORDER.index(s)}" for s in order], alpha=0.7)
    for i, s in enumerate(order):
        values = bars.loc[bars["series"] == s, "accuracy"]
        right.scatter([i] * len(values), values, color="black", s=12, zorder=3)
    right.set_title("Average classification accuracy")
    right.set_ylabel("test accuracy ×100 (mean over tasks)")
    right.grid(alpha=0.3, axis="y")
    fig.suptitle("Figure 4: output spaces (text-to-text multi-task)")
    _save(fig, out_png, out_pdf)
    return fig, lines, bars


def loss_lines(runs: list[tuple[Cell, pd.DataFrame]]) -> pd.DataFrame:
    """Figure 5's lines: per architecture, decoder init and step, the mean over tasks of the
    logged training loss, then mean/min/max over seeds."""
    rows = []
    for cell, log in runs:
        if not cell.multi_task or cell.variant not in (
                variant_name(decoder="pretrained"), variant_name(decoder="reinit")):
            continue
        per_step = log.groupby("step")["loss"].mean()
        rows += [{"architecture": cell.architecture, "series": cell.decoder, "seed": cell.seed,
                  "step": int(step), "loss": float(loss)} for step, loss in per_step.items()]
    if not rows:
        raise ValueError("no multi-task training logs with a pre-trained or re-initialised "
                         "decoder in the runs given")
    stats = pd.DataFrame(rows).groupby(["architecture", "series", "step"])["loss"].agg(
        mean="mean", low="min", high="max", seeds="count")
    return stats.reset_index()


def figure5(runs: list[tuple[Cell, pd.DataFrame]], out_png: Path, out_pdf: Path) -> Figure:
    """Figure 5: average training loss over steps, pre-trained vs. re-initialised decoder,
    one panel per architecture."""
    data = loss_lines(runs)
    architectures = [a for a in ARCHITECTURES if a in set(data["architecture"])]
    fig = Figure(figsize=(5.5 * len(architectures), 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    axes = np.atleast_1d(fig.subplots(1, len(architectures)))
    for ax, architecture in zip(axes, architectures, strict=True):
        d = data[data["architecture"] == architecture].assign(measure="loss")
        _draw_lines(ax, d, "loss", DECODER_ORDER)
        ax.set_title(architecture)
        ax.set_ylabel("training loss (mean over tasks)")
        ax.set_yscale("log")
        ax.legend(title=f"decoder; band: {BAND}", fontsize="small", title_fontsize="small")
    benchmarks = sorted({cell.benchmark for cell, _ in runs if cell.multi_task})
    fig.suptitle(f"Figure 5: training loss, pre-trained vs. re-initialised decoder "
                 f"({', '.join(b.upper() for b in benchmarks)})")
    _save(fig, out_png, out_pdf)
    return fig


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
    image = None
    for ax, (step, tasks, cosine) in zip(axes, snapshots, strict=True):
        image = ax.imshow(cosine, vmin=-1, vmax=1, cmap="RdBu")
        names = [TASKS[t].display for t in tasks]
        ax.set_xticks(range(len(tasks)), names, rotation=90, fontsize="small")
        ax.set_yticks(range(len(tasks)), names, fontsize="small")
        ax.set_title(f"step {step}")
        for i in range(len(tasks)):
            for j in range(len(tasks)):
                ax.text(j, i, f"{cosine[i, j]:.1f}", ha="center", va="center", fontsize=6)
    fig.colorbar(image, ax=list(axes), shrink=0.8, label="cosine of task gradients (encoder)")
    fig.suptitle(f"Task-gradient cosines: {cell.id}", fontsize="medium")
    with atomic_path(Path(out_png)) as tmp:
        fig.savefig(tmp, format="png", dpi=120, metadata={"Software": None})
    return fig
