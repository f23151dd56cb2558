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

from taskconflict.config import default_prompts
from taskconflict.conflict import gram_to_frame
from taskconflict.figures import (
    cosine_heatmaps,
    cosine_snapshots,
    figure2,
    figure2_data,
    figure3,
    figure4,
    figure5,
)
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
            runs.append((Cell("glue", "small", architecture, "multi", seed=seed,
                              prompts=default_prompts(architecture)),
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


# --- Figures 3-5 and the cosine heatmaps ------------------------------------------------------

def conflict_frame(c_dirs: list[float], xs: list[int], part: str = "encoder") -> pd.DataFrame:
    return pd.concat([gram_to_frame(step, part, ("cola", "rte"), gram(c_dir, x))
                      for step, c_dir, x in zip(STEPS, c_dirs, xs, strict=True)],
                     ignore_index=True)


def test_figure3_has_one_line_per_prompt_style(tmp_path: Path) -> None:
    runs = [(Cell("glue", "small", "text-to-text", "multi", prompts=style),
             conflict_frame([c] * 3, [1, 1, 1]))
            for style, c in (("null", 0.1), ("default", 0.2), ("diverse", 0.3))]
    runs.append((Cell("glue", "small", "text-to-text-id", "multi"),  # not Figure 3's
                 conflict_frame([0.4] * 3, [1, 1, 1])))
    fig = figure3(runs, tmp_path / "f3.png", tmp_path / "f3.pdf")
    lines = {line.get_label(): line for line in fig.axes[1].get_lines()
             if not line.get_label().startswith("_")}
    assert set(lines) == {"null (n=1)", "default (n=1)", "diverse (n=1)"}
    np.testing.assert_allclose(lines["diverse (n=1)"].get_ydata(), [0.3] * 3)


def test_figure4_decoder_conflict_and_accuracy_per_output_space(tmp_path: Path) -> None:
    def metrics(acc: float) -> dict:
        return {"cell": "x", "tasks": {"rte": {"test": {"accuracy": acc}},
                                       "cola": {"test": {"mcc": 10.0, "accuracy": acc + 10}},
                                       "stsb": {"test": {"spearman": 99.0}}}}
    runs = [(Cell("glue", "small", "text-to-text", "multi", labels=space, seed=seed),
             pd.concat([conflict_frame([0.0] * 3, [1, 1, 1]),
                        conflict_frame([c_dir + seed / 10] * 3, [1, 1, 1], "decoder")]),
             metrics(acc + seed))
            for space, c_dir, acc in (("default", 0.1, 80.0), ("overlapping", 0.3, 60.0),
                                      ("distinct", 0.2, 70.0)) for seed in (0, 1)]
    fig, lines, bars = figure4(runs, tmp_path / "f4.png", tmp_path / "f4.pdf")
    c_dir = lines[lines["measure"] == "c_dir"].groupby("series")["mean"].first()
    np.testing.assert_allclose(c_dir[["default", "overlapping", "distinct"]], [0.15, 0.35, 0.25])
    accuracy = bars.groupby("series")["accuracy"].mean()  # mean of rte and cola accuracy
    np.testing.assert_allclose(accuracy[["default", "overlapping", "distinct"]],
                               [85.5, 65.5, 75.5])
    heights = [p.get_height() for p in fig.axes[1].patches]
    np.testing.assert_allclose(heights, [85.5, 65.5, 75.5])


def test_figure5_mean_training_loss_pretrained_vs_reinit(tmp_path: Path) -> None:
    def log(losses: dict[str, list[float]]) -> pd.DataFrame:
        return pd.DataFrame([{"step": step, "task": task, "loss": loss}
                             for task, values in losses.items()
                             for step, loss in zip((10, 20), values, strict=True)])
    runs = [(Cell("glue", "small", "text-to-text", "multi", decoder="pretrained"),
             log({"cola": [1.0, 0.5], "rte": [3.0, 1.5]})),
            (Cell("glue", "small", "text-to-text", "multi", decoder="reinit"),
             log({"cola": [4.0, 2.0], "rte": [6.0, 4.0]})),
            (Cell("glue", "small", "text-to-text", "cola"), log({"cola": [9.0, 9.0]}))]
    fig = figure5(runs, tmp_path / "f5.png", tmp_path / "f5.pdf")
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    np.testing.assert_allclose(lines["pretrained (n=1)"].get_ydata(), [2.0, 1.0])
    np.testing.assert_allclose(lines["reinit (n=1)"].get_ydata(), [5.0, 3.0])
    assert fig.axes[0].get_title() == "text-to-text"


def test_cosine_heatmaps_at_start_middle_and_end(tmp_path: Path) -> None:
    frame = pd.concat([gram_to_frame(step, "encoder", ("cola", "rte"), gram(c, 1))
                       for step, c in ((0, 0.1), (10, 0.2), (20, 0.3), (30, 0.4), (40, 0.5))])
    snapshots = cosine_snapshots(frame)
    assert [step for step, _, _ in snapshots] == [0, 20, 40]
    np.testing.assert_allclose(snapshots[1][2], [[1.0, 0.6], [0.6, 1.0]])  # cos = 2 C_dir
    out = tmp_path / "cos.png"
    fig = cosine_heatmaps(Cell("glue", "small", "text-to-text", "multi"), frame, out)
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert [ax.get_title() for ax in fig.axes[:3]] == ["step 0", "step 20", "step 40"]
