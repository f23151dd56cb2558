"""Gradient-noise scale per task from the conflict probes (McCandlish et al., 2018, "An
Empirical Model of Large-Batch Training", Appendix A).

At a measurement step each task's gradient is the mean of n micro-batch gradients G_j, the
mean loss of b_j examples each (`probe.py`). Training keeps the big batch's squared norm
|G_big|^2 (the Gram diagonal in conflict.parquet) and each micro-batch's |G_j|^2
(probe_norms.parquet). If the examples' gradients have mean G and covariance Sigma,
E|G_B|^2 = |G|^2 + tr(Sigma) / B for a mean of B of them, so two batch sizes give unbiased
estimates of both terms:

    |G|^2     = (B_big |G_big|^2 - B_small |G_small|^2) / (B_big - B_small)
    tr(Sigma) = (|G_small|^2 - |G_big|^2) / (1 / B_small - 1 / B_big)

with |G_small|^2 the mean of the micro-batch squared norms, and the simple noise scale
B_simple = tr(Sigma) / |G|^2: the batch size beyond which larger batches stop paying off.

Batch sizes. With n micro-batches of b examples each (what the probe streams draw),
B_small = b and B_big = n b, the big batch's example count. In general the big gradient is
the mean of the micro-batch means, so E|G_big|^2 = |G|^2 + tr(Sigma) (1/n^2) sum_j 1/b_j and
E|G_small|^2 = |G|^2 + tr(Sigma) mean_j 1/b_j: the formulas stay unbiased with B_small the
harmonic mean of the b_j and B_big = n B_small, which reduce to b and n b for equal sizes.
The losses are token means within a micro-batch, so an "example" weighs by its target
tokens: the noise model holds for those weighted examples, the counts are examples.

Undefined cases, documented in the output: with one micro-batch (or none) the two sizes
coincide and nothing is estimated (NaN, flag False). Both estimates are unbiased but noisy
and either may come out negative; they are kept as they are (averaging them over steps or
seeds before dividing, `pooled_noise_scale`, is McCandlish's remedy). Where the |G|^2
estimate is not positive B_simple is NaN and `nonpositive_grad_sq_norm` is True.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd

from taskconflict.grid import Cell
from taskconflict.html import number, page
from taskconflict.html import table as html_table
from taskconflict.io import atomic_path
from taskconflict.provenance import Provenance
from taskconflict.registry import TASKS

NORM_COLUMNS = {"step": "int64", "part": "string", "task": "string", "micro_batch": "int64",
                "examples": "int64", "sq_norm": "float64"}
"""probe_norms.parquet: one row per measurement step, part, task and micro-batch."""

NOISE_COLUMNS = {"step": "int64", "part": "string", "task": "string",
                 "micro_batches": "int64", "examples": "int64", "b_small": "float64",
                 "b_big": "float64", "small_sq_norm": "float64", "big_sq_norm": "float64",
                 "grad_sq_norm": "float64", "trace_cov": "float64", "noise_scale": "float64",
                 "nonpositive_grad_sq_norm": "bool"}
"""`noise_scales`: one row per step, part and task. small_sq_norm is |G_small|^2,
big_sq_norm |G_big|^2, grad_sq_norm and trace_cov the estimates of |G|^2 and tr(Sigma),
noise_scale B_simple."""

POOLED_COLUMNS = ("grad_sq_norm", "trace_cov", "noise_scale", "steps")


def empty_frame(columns: Mapping[str, str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})


def norms_to_frame(step: int, micro_norms: Mapping[str, Mapping[str, Sequence[float]]],
                   examples: Mapping[str, Sequence[int]]) -> pd.DataFrame:
    """One measurement's micro-batch squared norms ({part: {task: [|G_j|^2]}}, with
    {task: [b_j]}) as probe_norms.parquet rows (`NORM_COLUMNS`)."""
    rows = []
    for part, by_task in micro_norms.items():
        for task, norms in by_task.items():
            sizes = examples[task]
            if len(sizes) != len(norms):
                raise ValueError(f"{part}/{task}: {len(norms)} micro-batch norms but "
                                 f"{len(sizes)} example counts")
            rows += [(step, part, task, j, int(b), float(v))
                     for j, (b, v) in enumerate(zip(sizes, norms, strict=True))]
    if not rows:
        return empty_frame(NORM_COLUMNS)
    return pd.DataFrame(rows, columns=list(NORM_COLUMNS)).astype(NORM_COLUMNS)


def noise_estimates(small_sq_norm, big_sq_norm, b_small, b_big) -> tuple[np.ndarray, ...]:
    """McCandlish's unbiased |G|^2 and tr(Sigma), and B_simple, elementwise (arrays or
    scalars). NaN where b_big <= b_small (no second batch size); B_simple NaN where the
    |G|^2 estimate is not positive."""
    small, big = np.asarray(small_sq_norm, np.float64), np.asarray(big_sq_norm, np.float64)
    b_small, b_big = np.asarray(b_small, np.float64), np.asarray(b_big, np.float64)
    defined = b_big > b_small
    with np.errstate(divide="ignore", invalid="ignore"):
        grad = np.where(defined, (b_big * big - b_small * small) / (b_big - b_small), np.nan)
        trace = np.where(defined, (small - big) / (1 / b_small - 1 / b_big), np.nan)
        scale = np.where(grad > 0, trace / grad, np.nan)
    return grad, trace, scale


def noise_scales(conflict: pd.DataFrame, norms: pd.DataFrame) -> pd.DataFrame:
    """Per (step, part, task) of `norms` (a probe_norms.parquet frame): the batch sizes, the
    small- and big-batch squared norms (the latter from the Gram diagonal of `conflict`, a
    conflict.parquet frame) and the noise estimates (`NOISE_COLUMNS`). A Gram diagonal with
    no micro-batch norms (a run made before they were kept) gives no row; micro-batch norms
    with no Gram diagonal are an error."""
    for name, frame, columns in (("conflict", conflict, ("step", "part", "task_a", "task_b",
                                                         "dot")),
                                 ("probe norms", norms, NORM_COLUMNS)):
        missing = set(columns) - set(frame.columns)
        if missing:
            raise ValueError(f"{name} frame lacks columns {sorted(missing)}")
    if norms.empty:
        return empty_frame(NOISE_COLUMNS)
    keys = ["step", "part", "task"]
    norms = norms.astype({k: NORM_COLUMNS[k] for k in ("step", "part", "task")})
    if norms.duplicated([*keys, "micro_batch"]).any():
        raise ValueError("probe norms frame has a (step, part, task, micro_batch) twice")
    if (norms["examples"] < 1).any():
        raise ValueError("probe norms frame has a micro-batch of no example")
    groups = (norms.assign(inverse=1.0 / norms["examples"])
              .groupby(keys, sort=False)
              .agg(micro_batches=("sq_norm", "size"), examples=("examples", "sum"),
                   inverse=("inverse", "mean"), small_sq_norm=("sq_norm", "mean"))
              .reset_index())
    groups["b_small"] = 1.0 / groups.pop("inverse")
    groups["b_big"] = groups["micro_batches"] * groups["b_small"]

    diagonal = conflict[conflict["task_a"] == conflict["task_b"]]
    diagonal = pd.DataFrame({"step": diagonal["step"], "part": diagonal["part"],
                             "task": diagonal["task_a"], "big_sq_norm": diagonal["dot"]})
    diagonal = diagonal.astype({k: NORM_COLUMNS[k] for k in keys})
    if diagonal.duplicated(keys).any():
        raise ValueError("conflict frame has a Gram diagonal entry twice")
    merged = groups.merge(diagonal, on=keys, how="left", indicator=True)
    lost = merged[merged["_merge"] != "both"]
    if not lost.empty:
        first = lost.iloc[0]
        raise ValueError(f"probe norms at step {first['step']}, {first['part']}/"
                         f"{first['task']} have no Gram diagonal in the conflict frame")
    grad, trace, scale = noise_estimates(merged["small_sq_norm"], merged["big_sq_norm"],
                                         merged["b_small"], merged["b_big"])
    merged["grad_sq_norm"], merged["trace_cov"], merged["noise_scale"] = grad, trace, scale
    merged["nonpositive_grad_sq_norm"] = (merged["b_big"] > merged["b_small"]) & ~(grad > 0)
    return merged[list(NOISE_COLUMNS)].astype(NOISE_COLUMNS).reset_index(drop=True)


def pooled_noise_scale(scales: pd.DataFrame, by: Sequence[str] = ("part", "task")
                       ) -> pd.DataFrame:
    """B_simple from the estimates averaged over the rows of each `by` group (steps, or
    seeds' runs concatenated) before dividing: the ratio of means, less biased and less
    noisy than a mean of per-step ratios. Rows without an estimate (one micro-batch) are
    left out; `steps` counts the rows used. NaN where the mean |G|^2 is not positive."""
    used = scales.dropna(subset=["grad_sq_norm", "trace_cov"])
    pooled = (used.groupby(list(by), sort=False)
              .agg(grad_sq_norm=("grad_sq_norm", "mean"), trace_cov=("trace_cov", "mean"),
                   steps=("grad_sq_norm", "size"))
              .reset_index())
    grad = pooled["grad_sq_norm"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled["noise_scale"] = np.where(grad > 0, pooled["trace_cov"].to_numpy() / grad,
                                         np.nan)
    return pooled[[*by, *POOLED_COLUMNS]]


def write_noise_table(conflict_files: Sequence[str | Path], out_csv: str | Path,
                      out_html: str | Path, provenance: Provenance | None = None
                      ) -> pd.DataFrame:
    """Per multi-task cell, part and task: the gradient-noise scale B_simple and its parts,
    pooled over the measured steps, from each run folder's conflict.parquet and the
    probe_norms.parquet beside it; as CSV and as an HTML page for the report (cells named in
    words, what was run above the table)."""
    frames = []
    for path in conflict_files:
        folder = Path(path).parent
        scales = noise_scales(pd.read_parquet(path),
                              pd.read_parquet(folder / "probe_norms.parquet"))
        frames.append(pooled_noise_scale(scales).assign(cell=Cell.from_run_file(path).id))
    columns = ["cell", "part", "task", *POOLED_COLUMNS]
    table = (pd.concat(frames, ignore_index=True)[columns] if frames
             else pd.DataFrame(columns=columns))
    with atomic_path(Path(out_csv)) as tmp:
        table.to_csv(tmp, index=False)
    body = html_table(["cell", "part", "task", *POOLED_COLUMNS], (
        [Cell.from_id(line.cell).title, line.part, TASKS[line.task].display,
         *(number(getattr(line, column), ".4g") for column in POOLED_COLUMNS)]
        for line in table.itertuples(index=False)), numeric=range(3, 3 + len(POOLED_COLUMNS)))
    about = f"<p class='provenance'>{escape(provenance.sentence())}</p>\n" if provenance else ""
    text = ("<p>Gradient-noise scale per task (McCandlish et al., 2018, Appendix A): "
            "B_simple = tr(Σ) / |G|², from each probe's micro-batch and big-batch squared "
            "gradient norms, both estimates averaged over the measured steps before dividing. "
            "A task whose B_simple is far above the training batch size per task is "
            "noise-dominated at that batch size.</p>\n")
    title = "Gradient-noise scale per task" + (f" ({provenance.preset} preset)"
                                               if provenance else "")
    with atomic_path(Path(out_html)) as tmp:
        tmp.write_text(page(title, f"<h3>{escape(title)}</h3>\n{about}{text}{body}\n"),
                       encoding="utf-8")
    return table
