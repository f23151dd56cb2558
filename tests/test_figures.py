"""Figure 2 on fake conflict.parquet frames whose measures are known by construction.

Two tasks with squared norms 1 and x and cosine rho give C_dir = rho / 2 and
normalised C_mg = ((x - 1) / (x + 1))^2, so x = 1 -> 0, x = 3 -> 1/4, x = 5 -> 4/9.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from taskconflict.conflict import gram_to_frame
from taskconflict.figures import figure2, figure2_data
from taskconflict.grid import Cell

STEPS = (0, 10, 20)
# architecture -> seed -> (C_dir per step, x per step)
TARGETS = {
    "canonical": {0: ([0.1, 0.2, 0.3], [1, 1, 1]), 1: ([0.3, 0.4, 0.5], [3, 3, 3])},
    "text-to-text-id": {0: ([-0.1, 0.0, 0.1], [3, 5, 5]), 1: ([-0.3, 0.0, 0.3], [3, 1, 5])},
    "text-to-text": {0: ([0.2, 0.2, 0.2], [5, 5, 1]), 1: ([0.4, 0.2, 0.0], [5, 3, 1])},
}
C_MG = {1: 0.0, 3: 0.25, 5: 4 / 9}


def gram(c_dir: float, x: float) -> np.ndarray:
    rho = 2 * c_dir
    return np.array([[1.0, rho * math.sqrt(x)], [rho * math.sqrt(x), x]])


def fake_runs() -> list[tuple[Cell, pd.DataFrame]]:
    runs = []
    for architecture, seeds in TARGETS.items():
        for seed, (c_dirs, xs) in seeds.items():
            parts = []
            for step, c_dir, x in zip(STEPS, c_dirs, xs, strict=True):
                parts.append(gram_to_frame(step, "encoder", ("cola", "rte"), gram(c_dir, x)))
                # the decoder gets other numbers: they must not leak into the encoder figure
                parts.append(gram_to_frame(step, "decoder", ("cola", "rte"), gram(-0.45, 9)))
            runs.append((Cell("glue", "small", architecture, "multi", seed=seed),
                         pd.concat(parts, ignore_index=True)))
    return runs


def expected(architecture: str, measure: str) -> np.ndarray:
    per_seed = [np.array(c_dirs) if measure == "c_dir" else np.array([C_MG[x] for x in xs])
                for c_dirs, xs in TARGETS[architecture].values()]
    return np.mean(per_seed, axis=0)


def test_figure2_data() -> None:
    data = figure2_data(fake_runs())
    assert set(data["architecture"]) == set(TARGETS)
    assert (data["seeds"] == 2).all()
    d = data[(data["architecture"] == "canonical") & (data["measure"] == "c_dir")]
    np.testing.assert_allclose(d["mean"], [0.2, 0.3, 0.4])
    np.testing.assert_allclose(d["low"], [0.1, 0.2, 0.3])
    np.testing.assert_allclose(d["high"], [0.3, 0.4, 0.5])
    d = data[(data["architecture"] == "text-to-text-id") & (data["measure"] == "c_mg_normalised")]
    np.testing.assert_allclose(d["mean"], [0.25, (4 / 9) / 2, 4 / 9])


def test_figure2_files_and_plotted_means(tmp_path: Path) -> None:
    png, pdf = tmp_path / "fig" / "figure2.png", tmp_path / "fig" / "figure2.pdf"
    fig = figure2(fake_runs(), png, pdf)
    assert png.stat().st_size > 10_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert not list(png.parent.glob(".*.tmp"))

    mg_ax, dir_ax = fig.axes[:2]
    assert (mg_ax.get_title(), dir_ax.get_title()) == ("Magnitude conflict", "Directional conflict")
    assert mg_ax.get_xlabel() == "training step"
    assert "min–max" in mg_ax.get_legend().get_title().get_text()
    for ax, measure in ((mg_ax, "c_mg_normalised"), (dir_ax, "c_dir")):
        lines = {line.get_label(): line for line in ax.get_lines()}
        for architecture in TARGETS:
            line = lines[f"{architecture} (n=2)"]
            np.testing.assert_allclose(line.get_xdata(), STEPS)
            np.testing.assert_allclose(line.get_ydata(), expected(architecture, measure))


def test_decoder_part() -> None:
    data = figure2_data(fake_runs(), part="decoder")
    np.testing.assert_allclose(data.loc[data["measure"] == "c_dir", "mean"], -0.45)
    np.testing.assert_allclose(data.loc[data["measure"] == "c_mg_normalised", "mean"], 0.64)


def test_missing_part_and_duplicates_are_errors(tmp_path: Path) -> None:
    runs = fake_runs()
    with pytest.raises(ValueError, match="no conflict measurements"):
        figure2_data(runs, part="nonexistent")
    with pytest.raises(ValueError, match="two runs"):
        figure2_data([*runs, runs[0]])
