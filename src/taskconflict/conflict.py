"""Task-conflict measures of the paper, computed from the Gram matrix of per-task gradients.

Training stores only G = [g_a . g_b] for every ordered task pair (a few numbers per step instead
of K gradient vectors), and everything here is a function of G:

- squared norms n_k = G_kk, cosines cos_ab = G_ab / sqrt(n_a n_b);
- directional conflict C_dir = ||(1/K) sum_k u_k||^2 - 1/K with u_k = g_k / ||g_k||, which equals
  (1/K^2) sum_ab cos_ab - 1/K = (K-1)/K * mean off-diagonal cosine: 1 - 1/K when all gradients
  point the same way, 0 when they are orthogonal, negative when they pull against each other;
- magnitude conflict C_mg = population variance of n_k over tasks, and, to compare models or steps
  whose gradient scales differ, C_mg normalised = C_mg / (mean_k n_k)^2 (scale-free).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

GRAM_COLUMNS = ("step", "part", "task_a", "task_b", "dot")
CURVE_COLUMNS = ("step", "part", "c_dir", "c_mg", "c_mg_normalised")

Grams = dict[tuple[int, str], tuple[tuple[str, ...], np.ndarray]]
"""(step, part) -> (task names in Gram order, K x K Gram matrix)."""


def gram_matrix(vectors: torch.Tensor | Sequence[torch.Tensor],
                chunk: int = 1 << 22) -> np.ndarray:
    """K task-gradient vectors of length P (a K x P matrix or K flat tensors) -> the K x K
    Gram matrix, accumulated in float64 on the vectors' device.

    Gradients are float32, but P is millions: float32 dot products lose the digits that small
    cosines live in. The float64 copy is made `chunk` columns at a time, so a GPU never holds
    a K x P float64 matrix (8 GB for T5-base's encoder and 9 tasks).
    """
    if isinstance(vectors, torch.Tensor):
        if vectors.ndim != 2:
            raise ValueError("expected a K x P matrix of gradients, got shape "
                             f"{tuple(vectors.shape)}")
        vectors = list(vectors)
    lengths = {v.numel() for v in vectors}
    if not vectors or len(lengths) != 1 or any(v.ndim != 1 for v in vectors):
        raise ValueError("expected K flat gradients of one length, got shapes "
                         f"{[tuple(v.shape) for v in vectors]}")
    k, size = len(vectors), lengths.pop()
    gram = torch.zeros(k, k, dtype=torch.float64, device=vectors[0].device)
    for start in range(0, size, chunk):
        block = torch.stack([v[start : start + chunk].detach().to(torch.float64)
                             for v in vectors])
        gram += block @ block.T
    return gram.cpu().numpy()


@dataclass(frozen=True)
class ConflictMeasures:
    """All conflict measures of one Gram matrix."""

    c_dir: float
    c_mg: float
    c_mg_normalised: float
    cosine: np.ndarray
    """K x K pairwise cosines (diagonal 1)."""
    squared_norms: np.ndarray
    """n_k = ||g_k||^2, the Gram diagonal."""


def conflict_measures(gram: np.ndarray) -> ConflictMeasures:
    """Directional and magnitude conflict of K task gradients, given only their Gram matrix.

    A task with a zero gradient has no direction, so C_dir is undefined: this raises ValueError
    naming the task index rather than silently dropping the task (which would change K).
    """
    g = np.asarray(gram, dtype=np.float64)
    if g.ndim != 2 or g.shape[0] != g.shape[1] or g.shape[0] == 0:
        raise ValueError(f"expected a non-empty square Gram matrix, got shape {g.shape}")
    if not np.all(np.isfinite(g)):
        raise ValueError("Gram matrix has non-finite entries")
    k = g.shape[0]
    norms2 = np.diag(g).copy()
    zero = np.flatnonzero(norms2 <= 0.0)
    if zero.size:
        raise ValueError(f"task index {int(zero[0])} has a zero-norm gradient; C_dir is undefined")
    scale = np.sqrt(norms2)
    cosine = g / np.outer(scale, scale)
    np.fill_diagonal(cosine, 1.0)
    c_dir = float(cosine.sum() / k**2 - 1.0 / k)
    c_mg = float(np.var(norms2))  # population variance (ddof=0), as in the paper's definition
    return ConflictMeasures(
        c_dir=c_dir,
        c_mg=c_mg,
        c_mg_normalised=c_mg / float(norms2.mean()) ** 2,
        cosine=cosine,
        squared_norms=norms2,
    )


def gram_to_frame(step: int, part: str, tasks: Sequence[str], gram: np.ndarray) -> pd.DataFrame:
    """One Gram matrix in the long format of conflict.parquet (every ordered pair, diagonal too)."""
    g = np.asarray(gram, dtype=np.float64)
    k = len(tasks)
    if g.shape != (k, k):
        raise ValueError(f"Gram matrix shape {g.shape} does not match {k} tasks")
    a, b = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    names = np.asarray(list(tasks), dtype=object)
    return pd.DataFrame({
        "step": np.full(k * k, step, dtype=np.int64),
        "part": [part] * (k * k),
        "task_a": names[a.ravel()],
        "task_b": names[b.ravel()],
        "dot": g.ravel(),
    })


def frame_to_grams(frame: pd.DataFrame) -> Grams:
    """Inverse of gram_to_frame: (step, part) -> (tasks in first-seen order, K x K Gram)."""
    missing = set(GRAM_COLUMNS) - set(frame.columns)
    if missing:
        raise ValueError(f"conflict frame lacks columns {sorted(missing)}")
    grams: Grams = {}
    for (step, part), group in frame.groupby(["step", "part"], sort=False):
        tasks = tuple(pd.unique(pd.concat([group["task_a"], group["task_b"]])))
        index = {t: i for i, t in enumerate(tasks)}
        g = np.full((len(tasks), len(tasks)), np.nan)
        g[group["task_a"].map(index).to_numpy(), group["task_b"].map(index).to_numpy()] = (
            group["dot"].to_numpy(dtype=np.float64)
        )
        if np.isnan(g).any():
            raise ValueError(f"step {step} part {part!r}: Gram matrix has missing task pairs")
        grams[(int(step), str(part))] = (tasks, g)
    return grams


def conflict_curve(frame: pd.DataFrame) -> pd.DataFrame:
    """Conflict measures over training: one row per (step, part), sorted by part then step."""
    rows = []
    for (step, part), (_, gram) in frame_to_grams(frame).items():
        m = conflict_measures(gram)
        rows.append((step, part, m.c_dir, m.c_mg, m.c_mg_normalised))
    curve = pd.DataFrame(rows, columns=list(CURVE_COLUMNS))
    curve["step"] = curve["step"].astype(np.int64)
    return curve.sort_values(["part", "step"], ignore_index=True)
