"""Figure 2: magnitude and directional conflict during multi-task training, per architecture.

The plotted numbers come from `figure2_data`, a tidy frame, so tests (and the report) can check
exactly what is drawn. Uses the object-oriented API on an Agg canvas: no pyplot global state.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from taskconflict.conflict import conflict_curve
from taskconflict.grid import Cell
from taskconflict.io import atomic_path

ARCHITECTURES = ("canonical", "text-to-text-id", "text-to-text")
COLORS = {"canonical": "tab:blue", "text-to-text-id": "tab:orange", "text-to-text": "tab:green"}
MEASURES = {
    "c_mg_normalised": ("Magnitude conflict", r"normalised $C_{\mathrm{mg}}$"),
    "c_dir": ("Directional conflict", r"$C_{\mathrm{dir}}$"),
}
BAND = "min–max over seeds"


def figure2_data(runs: list[tuple[Cell, pd.DataFrame]], part: str = "encoder") -> pd.DataFrame:
    """Per architecture, measure and step: mean, min and max over seeds, and the seed count.

    Columns architecture, measure, step, mean, low, high, seeds. Single-task cells and
    architectures outside Figure 2 are skipped; two runs of one architecture and seed (e.g.
    two prompt styles) are an error, since averaging them would mix experiments.
    """
    curves, seen = [], set()
    for cell, frame in runs:
        if not cell.multi_task or cell.architecture not in ARCHITECTURES:
            continue
        if (cell.architecture, cell.seed) in seen:
            raise ValueError(f"two runs of {cell.architecture} seed {cell.seed} (last: {cell.id})")
        seen.add((cell.architecture, cell.seed))
        curve = conflict_curve(frame)
        curves.append(curve[curve["part"] == part].assign(architecture=cell.architecture))
    if not curves or all(c.empty for c in curves):
        raise ValueError(f"no conflict measurements of the {part} in the runs given")
    long = pd.concat(curves).melt(
        id_vars=["architecture", "step"], value_vars=list(MEASURES), var_name="measure"
    )
    stats = long.groupby(["architecture", "measure", "step"])["value"].agg(
        mean="mean", low="min", high="max", seeds="count"
    )
    return stats.reset_index()


def figure2(
    runs: list[tuple[Cell, pd.DataFrame]], out_png: Path, out_pdf: Path, part: str = "encoder"
) -> Figure:
    """Draw Figure 2 (one panel per measure, one line per architecture) and save PNG and PDF.

    Lines are the mean over seeds, bands the min-max over seeds (with 2-3 seeds a standard
    deviation would be mostly noise). Returns the figure so callers can inspect it.
    """
    data = figure2_data(runs, part)
    benchmarks = sorted({cell.benchmark for cell, _ in runs if cell.multi_task})
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(MEASURES))
    for ax, (measure, (title, ylabel)) in zip(axes, MEASURES.items(), strict=True):
        for architecture in ARCHITECTURES:
            d = data[(data["architecture"] == architecture) & (data["measure"] == measure)]
            if d.empty:
                continue
            d = d.sort_values("step")
            seeds = int(d["seeds"].max())
            color = COLORS[architecture]
            ax.plot(d["step"], d["mean"], color=color, label=f"{architecture} (n={seeds})")
            ax.fill_between(d["step"], d["low"], d["high"], color=color, alpha=0.2, linewidth=0)
        if measure == "c_dir":
            ax.axhline(0.0, color="grey", linewidth=0.8, linestyle=":")
        ax.set_title(title)
        ax.set_xlabel("training step")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    axes[0].legend(title=f"mean over seeds; band: {BAND}", fontsize="small",
                   title_fontsize="small")
    fig.suptitle(f"Figure 2: task conflict in the {part} during multi-task training "
                 f"({', '.join(b.upper() for b in benchmarks)})")
    for path, fmt, metadata in ((out_png, "png", {"Software": None}),
                                (out_pdf, "pdf", {"CreationDate": None})):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=150, metadata=metadata)
    return fig
