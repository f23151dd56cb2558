"""Conflict vs. transfer on constructed runs whose answer is known.

- a 3-task Gram matrix at two steps, mean cosine and norm share worked out by hand;
- runs whose transfer is a strictly increasing function of the task's mean cosine (rho = 1);
- runs whose transfer is independent of conflict, and points with an exactly zero rank
  correlation (the CI contains 0: "no detectable relation");
- the baseline rule (canonical vs. canonical single, text-to-text(-id) vs. text-to-text single
  with null prompts), the floor on |baseline|, the cluster bootstrap, the figure's bytes.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from taskconflict import transfer
from taskconflict.conflict import gram_to_frame
from taskconflict.factors import variant_name
from taskconflict.grid import Cell, main_variant
from taskconflict.provenance import DataSource, Provenance
from taskconflict.registry import TASKS
from taskconflict.tables import TABLES
from taskconflict.transfer import (
    BASELINES,
    POINT_COLUMNS,
    POOLED,
    baseline_key,
    cluster_draws,
    correlations,
    scatter_figure,
    summary_paragraph,
    task_conflict_stats,
    transfer_points,
    write_transfer_analysis,
)

TASK_NAMES = ("cola", "sst2", "mrpc", "rte")
NULL = variant_name(prompts="null")
DEFAULT = variant_name(prompts="default")
BASELINE = 50.0
"""Every task's single-task score: 40 and 60 over two seeds."""


def metrics(cell: Cell, scores: dict[str, float]) -> dict:
    """metrics.json of a cell; the validation split carries decoy values."""
    return {"cell": cell.id, "tasks": {
        task: {"validation": {TASKS[task].metric: -99.0},
               "test": {TASKS[task].metric: score, "examples": 100}}
        for task, score in scores.items()}}


def single_runs(architecture: str = "canonical", variant: str = NULL,
                scores: tuple[float, float] = (40.0, 60.0), tasks=TASK_NAMES,
                model: str = "small") -> list[tuple[Cell, dict]]:
    runs = []
    for task in tasks:
        for seed, score in enumerate(scores):
            cell = Cell("glue", model, architecture, task, variant, seed)
            runs.append((cell, metrics(cell, {task: score})))
    return runs


def all_singles() -> list[tuple[Cell, dict]]:
    return single_runs("canonical", main_variant("canonical")) + single_runs("text-to-text", NULL)


def conflict_frame(vectors_per_step: list[np.ndarray], tasks=TASK_NAMES) -> pd.DataFrame:
    """conflict.parquet of gradients (one K x P matrix per step), plus a decoy decoder part."""
    frames = []
    for step, v in enumerate(vectors_per_step):
        frames.append(gram_to_frame(10 * step, "encoder", tasks, v @ v.T))
        frames.append(gram_to_frame(10 * step, "decoder", tasks, np.eye(len(tasks))))
    return pd.concat(frames, ignore_index=True)


def mean_cosines(vectors_per_step: list[np.ndarray]) -> np.ndarray:
    """Independent arithmetic: per task, the mean over steps of its mean cosine with the
    others, from the gradients themselves."""
    per_step = []
    for v in vectors_per_step:
        u = v / np.linalg.norm(v, axis=1, keepdims=True)
        c = u @ u.T
        k = len(v)
        per_step.append((c.sum(axis=1) - 1.0) / (k - 1))
    return np.mean(per_step, axis=0)


def multi_cell(architecture: str, seed: int, variant: str | None = None) -> Cell:
    variant = variant or (main_variant("canonical") if architecture == "canonical" else DEFAULT)
    return Cell("glue", "small", architecture, "multi", variant, seed)


def monotone_runs(n_seeds: int = 6, seed: int = 0, slope: float = 40.0,
                  independent: bool = False) -> list[tuple[Cell, pd.DataFrame, dict]]:
    """Multi-task runs of two architectures with random gradients; each task's transfer is
    `slope` x its mean cosine (strictly increasing), or random when `independent`."""
    rng = np.random.default_rng(seed)
    runs = []
    for architecture in ("canonical", "text-to-text"):
        for s in range(n_seeds):
            steps = [rng.normal(size=(len(TASK_NAMES), 6)) + 0.3 for _ in range(3)]
            pct = (rng.normal(scale=10, size=len(TASK_NAMES)) if independent
                   else slope * mean_cosines(steps))
            cell = multi_cell(architecture, s)
            scores = {t: BASELINE * (1 + p / 100) for t, p in zip(TASK_NAMES, pct, strict=True)}
            runs.append((cell, conflict_frame(steps), metrics(cell, scores)))
    return runs


# --- conflict per task -------------------------------------------------------------------------

def test_hand_computed_mean_cosine_and_norm_share() -> None:
    # step 0: g_a = (3, 0), g_b = (0, 4), g_c = (3, 4): norms^2 9, 16, 25;
    #   cos_ab = 0, cos_ac = 9 / 15 = 0.6, cos_bc = 16 / 20 = 0.8
    #   mean cosine a 0.3, b 0.4, c 0.7; shares 9/50, 16/50, 25/50
    # step 1 (stored in the order c, a, b): g_a = (1, 0), g_b = (-1, 0), g_c = (0, 2):
    #   cos_ab = -1, cos_ac = cos_bc = 0; mean cosine a -0.5, b -0.5, c 0; shares 1/6, 1/6, 4/6
    tasks = ("cola", "sst2", "mrpc")
    v0 = np.array([[3.0, 0.0], [0.0, 4.0], [3.0, 4.0]])
    v1 = np.array([[0.0, 2.0], [1.0, 0.0], [-1.0, 0.0]])  # c, a, b
    frame = pd.concat([
        gram_to_frame(0, "encoder", tasks, v0 @ v0.T),
        gram_to_frame(5, "encoder", ("mrpc", "cola", "sst2"), v1 @ v1.T),
        gram_to_frame(0, "decoder", tasks, np.diag([1.0, 1.0, 100.0])),  # another part: ignored
    ], ignore_index=True)
    cell = multi_cell("text-to-text", 0)
    stats = task_conflict_stats(cell, frame).set_index("task")
    assert list(stats.index) == list(tasks)
    assert stats.loc["cola", "mean_cosine"] == pytest.approx((0.3 - 0.5) / 2, abs=1e-12)
    assert stats.loc["sst2", "mean_cosine"] == pytest.approx((0.4 - 0.5) / 2, abs=1e-12)
    assert stats.loc["mrpc", "mean_cosine"] == pytest.approx((0.7 + 0.0) / 2, abs=1e-12)
    assert stats.loc["cola", "norm_share"] == pytest.approx((9 / 50 + 1 / 6) / 2, abs=1e-12)
    assert stats.loc["sst2", "norm_share"] == pytest.approx((16 / 50 + 1 / 6) / 2, abs=1e-12)
    assert stats.loc["mrpc", "norm_share"] == pytest.approx((25 / 50 + 4 / 6) / 2, abs=1e-12)
    assert stats["norm_share"].sum() == pytest.approx(1.0)
    assert (stats["steps"] == 2).all()
    assert (stats["cell"] == cell.id).all()
    decoder = task_conflict_stats(cell, frame, part="decoder").set_index("task")
    assert decoder.loc["mrpc", "norm_share"] == pytest.approx(100 / 102)
    assert decoder["mean_cosine"].tolist() == pytest.approx([0.0, 0.0, 0.0])


def test_conflict_stats_refuse_single_task_and_missing_part() -> None:
    frame = gram_to_frame(0, "encoder", ("cola", "sst2"), np.eye(2))
    with pytest.raises(ValueError, match="single-task"):
        task_conflict_stats(Cell("glue", "small", "canonical", "cola"), frame)
    with pytest.raises(ValueError, match="decoder"):
        task_conflict_stats(multi_cell("canonical", 0), frame, part="decoder")


# --- baselines and points ----------------------------------------------------------------------

def test_baseline_rule_is_the_tables() -> None:
    assert BASELINES == {"canonical": ("canonical", main_variant("canonical")),
                         "text-to-text-id": ("text-to-text", NULL),
                         "text-to-text": ("text-to-text", NULL)}
    for spec in TABLES.values():
        rows = {row.label: row for row in spec.rows}
        for row in spec.rows:
            if row.baseline:
                base = rows[row.baseline]
                cell = Cell("glue", "small", row.architecture, "multi", row.variant)
                assert baseline_key(cell, "cola") == (
                    "glue", "small", base.architecture, "cola", base.variant)


def test_baseline_canonical_vs_text_to_text_null_single() -> None:
    singles = (single_runs("canonical", main_variant("canonical"), (40.0, 60.0))  # mean 50
               + single_runs("text-to-text", NULL, (20.0, 30.0))  # mean 25
               # decoys: default-prompt text-to-text singles, the base model, a canonical
               # single with another variant
               + single_runs("text-to-text", DEFAULT, (90.0, 90.0))
               + single_runs("text-to-text", NULL, (5.0, 5.0), model="base")
               + single_runs("canonical", DEFAULT, (7.0, 7.0)))
    frame = gram_to_frame(0, "encoder", TASK_NAMES, np.eye(4) + 0.5)
    scores = dict.fromkeys(TASK_NAMES, 55.0)
    cells = [multi_cell("canonical", 0), multi_cell("text-to-text", 0),
             multi_cell("text-to-text-id", 0),
             multi_cell("text-to-text", 1, variant_name(prompts="diverse", decoder="reinit"))]
    runs = [(c, frame, metrics(c, scores)) for c in cells]
    points, skipped = transfer_points(runs, singles)
    assert skipped.empty
    assert list(points.columns) == list(POINT_COLUMNS)
    assert len(points) == 4 * len(TASK_NAMES)
    base = points.groupby("architecture")["baseline"].unique()
    assert base["canonical"].tolist() == [50.0]
    assert base["text-to-text"].tolist() == [25.0]
    assert base["text-to-text-id"].tolist() == [25.0]
    assert (points["baseline_seeds"] == 2).all()
    canonical = points[points["architecture"] == "canonical"]
    assert canonical["transfer_pct"].tolist() == pytest.approx([10.0] * 4)  # (55-50)/50
    t2t = points[points["architecture"] != "canonical"]
    assert t2t["transfer_pct"].tolist() == pytest.approx([120.0] * 12)  # (55-25)/25
    assert set(points["seed"]) == {0, 1}


def test_floor_and_missing_baseline_are_skipped_and_counted() -> None:
    singles = single_runs("canonical", main_variant("canonical"), tasks=("cola", "sst2"))
    singles += single_runs("canonical", main_variant("canonical"), (0.4, 0.6), tasks=("mrpc",))
    frame = gram_to_frame(0, "encoder", TASK_NAMES, np.eye(4) + 0.5)
    cell = multi_cell("canonical", 0)
    scores = {"cola": 60.0, "sst2": math.nan, "mrpc": 10.0, "rte": 60.0}
    points, skipped = transfer_points([(cell, frame, metrics(cell, scores))], singles)
    assert points["task"].tolist() == ["cola"]
    assert points["transfer_pct"].tolist() == pytest.approx([20.0])
    reasons = dict(zip(skipped["task"], skipped["reason"], strict=True))
    assert reasons == {"sst2": "no test score", "mrpc": "|baseline| < 1",
                       "rte": "no single-task baseline"}
    assert skipped.set_index("task").loc["mrpc", "baseline"] == pytest.approx(0.5)
    # a lower floor keeps mrpc: (10 - 0.5) / 0.5 = 1900%
    points, skipped = transfer_points([(cell, frame, metrics(cell, scores))], singles,
                                      floor=0.1)
    assert points.set_index("task").loc["mrpc", "transfer_pct"] == pytest.approx(1900.0)
    assert len(skipped) == 2


def test_a_baseline_at_its_metrics_floor_is_skipped_as_the_tables_flag_it() -> None:
    """CoLA's MCC floor is 0 and SST-2's majority class is 70%: baselines of 3.0 MCC and 72%
    accuracy are within FLOOR_MARGIN (5 points) of them, so they learnt nothing to transfer
    from; RTE's 50% is clear of its 40% majority."""
    singles = single_runs("canonical", main_variant("canonical"), (2.0, 4.0), tasks=("cola",))
    singles += single_runs("canonical", main_variant("canonical"), (70.0, 74.0),
                           tasks=("sst2",))
    singles += single_runs("canonical", main_variant("canonical"), tasks=("rte",))
    frame = gram_to_frame(0, "encoder", TASK_NAMES, np.eye(4) + 0.5)
    cell = multi_cell("canonical", 0)
    run = (cell, frame, metrics(cell, dict.fromkeys(TASK_NAMES, 60.0)))
    floors = {"cola": 0.0, "sst2": 70.0, "mrpc": 68.0, "rte": 40.0}
    points, skipped = transfer_points([run], singles, floors=floors)
    assert points["task"].tolist() == ["rte"]
    assert points["transfer_pct"].tolist() == pytest.approx([20.0])  # (60 - 50) / 50
    reasons = dict(zip(skipped["task"], skipped["reason"], strict=True))
    assert reasons == {"cola": "baseline at its metric's floor",
                       "sst2": "baseline at its metric's floor",
                       "mrpc": "no single-task baseline"}
    # without the data's floors, accuracy's floor is unknown: SST-2 counts again
    points, _ = transfer_points([run], singles)
    assert points["task"].tolist() == ["rte", "sst2"]


def test_duplicate_runs_are_refused() -> None:
    frame = gram_to_frame(0, "encoder", TASK_NAMES, np.eye(4))
    cell = multi_cell("canonical", 0)
    run = (cell, frame, metrics(cell, dict.fromkeys(TASK_NAMES, 1.0)))
    with pytest.raises(ValueError, match="two multi-task runs"):
        transfer_points([run, run], all_singles())
    with pytest.raises(ValueError, match="two single-task runs"):
        transfer_points([run], all_singles() + all_singles()[:1])


# --- correlations ------------------------------------------------------------------------------

def test_monotone_construction_gives_rho_one() -> None:
    points, skipped = transfer_points(monotone_runs(), all_singles())
    assert skipped.empty and len(points) == 12 * len(TASK_NAMES)
    corr = correlations(points, n_boot=300, seed=0).set_index(["architecture", "measure"])
    assert list(corr.index.get_level_values(0).unique()) == ["canonical", "text-to-text", POOLED]
    for scope in ("canonical", "text-to-text", POOLED):
        line = corr.loc[(scope, "mean_cosine")]
        assert line["rho"] == pytest.approx(1.0)
        assert line["ci_low"] == pytest.approx(1.0) and line["ci_high"] == pytest.approx(1.0)
        assert line["n_boot"] == 300 and line["reason"] == ""
    assert corr.loc[(POOLED, "mean_cosine"), "n_points"] == 48
    assert corr.loc[(POOLED, "mean_cosine"), "n_cells"] == 12
    assert corr.loc[("canonical", "mean_cosine"), "n_cells"] == 6
    text = summary_paragraph(correlations(points, n_boot=300).reset_index(drop=True))
    assert "mean cosine with the other tasks shows a positive relation" in text
    assert "ρ = +1.00, 95% CI [+1.00, +1.00]" in text
    assert "12 multi-task cells and 48 (cell, task) points" in text
    assert "Caution: the canonical and text-to-text estimates rest on fewer than 10 cells" in text
    assert "pooled" not in text.split("Caution")[1]  # 12 cells pooled


def test_negative_slope_gives_negative_relation() -> None:
    points, _ = transfer_points(monotone_runs(slope=-40.0), all_singles())
    corr = correlations(points, n_boot=200)
    pooled = corr[(corr["architecture"] == POOLED) & (corr["measure"] == "mean_cosine")].iloc[0]
    assert pooled["rho"] == pytest.approx(-1.0)
    assert transfer.verdict(pooled) == "a negative relation"


def test_independent_construction_no_detectable_relation() -> None:
    points, _ = transfer_points(monotone_runs(n_seeds=10, independent=True), all_singles())
    corr = correlations(points, n_boot=500, seed=0)
    for _, line in corr.iterrows():
        assert line["ci_low"] < 0 < line["ci_high"], line.to_dict()
        assert transfer.verdict(line) == "no detectable relation"
    text = summary_paragraph(corr)
    assert text.count("no detectable relation") == 6  # 2 measures x (2 architectures + pooled)
    assert "Caution" not in text  # 10 cells per architecture, 20 pooled


def test_exactly_zero_rank_correlation() -> None:
    # x symmetric about 0 and y = x^2: every (-d, d^2) cancels (+d, d^2), so rho = 0 exactly.
    # Each cell holds one side (x > 0: y rises with x; x < 0: it falls), its mirror another.
    offsets = np.linspace(0.0, 0.5, 8)
    x = np.concatenate([np.concatenate([[1 + e, 3 + e], [-1 - e, -3 - e]]) for e in offsets])
    points = pd.DataFrame({
        "architecture": "text-to-text", "cell": np.repeat([f"c{i:02d}" for i in range(16)], 2),
        "mean_cosine": x, "norm_share": np.abs(x), "transfer_pct": x**2})
    corr = correlations(points, n_boot=400).set_index(["architecture", "measure"])
    line = corr.loc[(POOLED, "mean_cosine")]
    assert line["rho"] == pytest.approx(0.0, abs=1e-12)
    assert line["ci_low"] < 0 < line["ci_high"]
    assert corr.loc[(POOLED, "norm_share"), "rho"] == pytest.approx(1.0)  # |x| vs x^2
    text = summary_paragraph(corr.reset_index())
    assert "mean cosine with the other tasks shows no detectable relation" in text
    assert "share of the squared-norm mass shows a positive relation" in text


def test_bootstrap_reproducible_for_a_seed() -> None:
    points, _ = transfer_points(monotone_runs(independent=True), all_singles())
    a = correlations(points, n_boot=300, seed=7)
    b = correlations(points, n_boot=300, seed=7)
    pd.testing.assert_frame_equal(a, b)
    c = correlations(points, n_boot=300, seed=8)
    assert not np.allclose(a["ci_low"], c["ci_low"])
    pd.testing.assert_series_equal(a["rho"], c["rho"])  # the estimate does not depend on it
    # an architecture's CI does not depend on the other architectures being there
    alone = correlations(points[points["architecture"] == "canonical"], n_boot=300, seed=7)
    first = alone[alone["architecture"] == "canonical"].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, a[a["architecture"] == "canonical"]
                                  .reset_index(drop=True))


def test_cluster_draws_keep_a_cells_tasks_together() -> None:
    clusters = ["a", "b", "b", "c", "c", "c"]  # cells with 1, 2 and 3 tasks
    members = {"a": [0], "b": [1, 2], "c": [3, 4, 5]}
    draws = cluster_draws(clusters, 200, np.random.default_rng(0))
    sizes = set()
    for draw in draws:
        counts = np.bincount(draw, minlength=6)
        picked = {name: counts[idx[0]] for name, idx in members.items()}
        for name, idx in members.items():
            assert (counts[idx] == picked[name]).all()  # all of a cell's tasks, or none
        assert sum(picked.values()) == 3  # as many cells drawn as there are
        sizes.add(len(draw))
    assert sizes == {3, 4, 5, 6, 7, 8, 9}  # whole cells: the sample size varies
    again = cluster_draws(clusters, 200, np.random.default_rng(0))
    assert all((x == y).all() for x, y in zip(draws, again, strict=True))


def test_correlations_resample_cells(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def spy(clusters, n_boot, rng):
        calls.append(list(clusters))
        return cluster_draws(clusters, n_boot, rng)

    monkeypatch.setattr(transfer, "cluster_draws", spy)
    points, _ = transfer_points(monotone_runs(n_seeds=3), all_singles())
    correlations(points, n_boot=50)
    assert calls[-1] == points["cell"].tolist()  # pooled: clusters are the cells
    assert len(calls) == 3  # once per scope, shared by both measures


def test_too_few_points_and_constant_values() -> None:
    few = pd.DataFrame({"architecture": "canonical", "cell": ["x", "x"],
                        "mean_cosine": [0.1, 0.2], "norm_share": [0.5, 0.5],
                        "transfer_pct": [1.0, 2.0]})
    corr = correlations(few, n_boot=50)
    assert corr["rho"].isna().all()
    assert set(corr["reason"]) == {"fewer than 3 points"}
    flat = pd.DataFrame({"architecture": "canonical", "cell": ["x", "x", "y", "y"],
                         "mean_cosine": [0.1, 0.2, 0.3, 0.4], "norm_share": 0.25,
                         "transfer_pct": [1.0, 2.0, 3.0, 5.0]})
    corr = correlations(flat, n_boot=50).set_index(["architecture", "measure"])
    assert math.isnan(corr.loc[(POOLED, "norm_share"), "rho"])
    assert corr.loc[(POOLED, "norm_share"), "reason"] == "constant norm_share"
    assert corr.loc[(POOLED, "mean_cosine"), "rho"] == pytest.approx(1.0)
    one_cell = flat.assign(cell="x")
    line = correlations(one_cell, n_boot=50).iloc[0]
    assert line["rho"] == pytest.approx(1.0) and math.isnan(line["ci_low"])
    assert "one cell" in line["reason"]
    text = summary_paragraph(correlations(one_cell, n_boot=50))
    assert "no verdict without a confidence interval" in text
    assert "no estimate (constant norm_share)" in text
    assert "Caution: the canonical and pooled estimates rest on fewer than 10 cells" in text
    empty = correlations(pd.DataFrame(columns=list(POINT_COLUMNS)), n_boot=10)
    assert list(empty["architecture"]) == [POOLED, POOLED]
    assert "nothing can be said" in summary_paragraph(empty, skipped=3)


# --- figure and entry point --------------------------------------------------------------------

def test_scatter_figure_is_deterministic(tmp_path: Path) -> None:
    points, _ = transfer_points(monotone_runs(n_seeds=3), all_singles())
    corr = correlations(points, n_boot=50)
    fig = scatter_figure(points, tmp_path / "a.png", tmp_path / "a.pdf", corr)
    scatter_figure(points, tmp_path / "b.png", tmp_path / "b.pdf", corr)
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()
    left, right = fig.axes[:2]
    assert left.get_xlabel().startswith("mean cosine") and right.get_xlabel().startswith("share")
    assert "ρ = +1.00" in left.get_title()
    drawn = sum(len(c.get_offsets()) for c in left.collections)
    assert drawn == len(points)  # one point per (cell, task)
    scatter_figure(points.iloc[:0], tmp_path / "e.png", tmp_path / "e.pdf")  # no points: drawn


def test_write_transfer_analysis(tmp_path: Path) -> None:
    def write_run(cell: Cell, m: dict, frame: pd.DataFrame | None = None) -> Path:
        folder = tmp_path / "runs" / cell.id
        folder.mkdir(parents=True)
        (folder / "metrics.json").write_text(json.dumps(m))
        if frame is not None:
            frame.to_parquet(folder / "conflict.parquet", index=False)
        return folder / "metrics.json"

    multi = [write_run(c, m, f) for c, f, m in monotone_runs(n_seeds=3)]
    singles = [write_run(c, m) for c, m in all_singles()]
    out = tmp_path / "out"
    points, corr = write_transfer_analysis(
        multi, singles, out / "transfer.csv", out / "transfer.md", out / "fig" / "transfer.png",
        out / "fig" / "transfer.pdf", n_boot=100, out_corr_csv=out / "corr.csv")
    assert len(points) == 6 * len(TASK_NAMES)
    pd.testing.assert_frame_equal(pd.read_csv(out / "transfer.csv"), points,
                                  check_dtype=False)
    assert len(pd.read_csv(out / "corr.csv")) == len(corr) == 6
    md = (out / "transfer.md").read_text(encoding="utf-8")
    assert md.startswith("# Does conflict predict transfer?")
    assert summary_paragraph(corr) in md
    assert "| pooled | mean cosine with the other tasks | +1.00 | [+1.00, +1.00] | 24 | 6 |" in md
    assert "![conflict vs. transfer](fig/transfer.png)" in md
    assert (out / "fig" / "transfer.pdf").exists()
    # the report's page: a standalone document that says what was run
    provenance = Provenance("demo", (DataSource("glue", "generated"),), "small: tiny", True,
                            200, 16, 3)
    write_transfer_analysis(multi, singles, out / "t.csv", out / "t.md", out / "t.png",
                            out / "t.pdf", n_boot=100, out_html=out / "t.html",
                            provenance=provenance)
    page = (out / "t.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "<style>" in page
    assert provenance.sentence() in page and "generated GLUE-like data" in page
    assert '<td class="num">+1.000</td><td class="num">[+1.000, +1.000]</td>' in page
    with pytest.raises(ValueError, match="not a multi-task cell"):
        write_transfer_analysis(singles[:1], singles, out / "x.csv", out / "x.md",
                                out / "x.png", out / "x.pdf")
