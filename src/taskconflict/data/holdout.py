"""The validation split of real data: a seeded random share of the official training rows."""

from __future__ import annotations

import numpy as np


def held_out(rows: int, seed: int, fraction: float, what: str) -> np.ndarray:
    """A boolean mask over `rows` training rows: True for the seeded `fraction` (at least one)
    held out as validation. The rows keep their order; `what` names the task in errors."""
    n_validation = max(1, round(rows * fraction))
    if n_validation >= rows:
        raise ValueError(f"{what}: {rows} usable train rows leave none for training after "
                         f"holding out {n_validation} for validation")
    mask = np.zeros(rows, dtype=bool)
    mask[np.random.default_rng(seed).permutation(rows)[:n_validation]] = True
    return mask
