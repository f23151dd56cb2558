"""Figure 2 on fake conflict.parquet frames whose measures are known by construction.

Two tasks with squared norms 1 and x and cosine rho give C_dir = rho / 2 and
normalised C_mg = ((x - 1) / (x + 1))^2, so x = 1 -> 0, x = 3 -> 1/4, x = 5 -> 4/9.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from taskconflict.conflict import gram_to_frame
from taskconflict.factors import (
    AGGREGATOR,
    ARCHITECTURE,
    DECODER,
    OUTPUT_SPACE,
    PROMPTS,
    Factor,
    variant_name,
)
from taskconflict.figures import (
    COSINE_DPI,
    FIGURES,
    cosine_annotation,
    cosine_annotations,
    cosine_heatmaps,
    cosine_snapshots,
    figure2,
    figure2_data,
    figure3,
    figure4,
    figure5,
    figure6,
    loss_lines,
)
from taskconflict.grid import Cell, main_variant
from taskconflict.provenance import DataSource, Provenance
from taskconflict.report import figure_runs, write_cosines, write_figure

STEPS = (0, 10, 20)
# architecture -> seed -> (C_dir per step, x per step)
TARGETS = {
    "canonical": {0: ([0.1, 0.2, 0.3], [1, 1, 1]), 1: ([0.3, 0.4, 0.5], [3, 3, 3])},
    "text-to-text-id": {0: ([-0.1, 0.0, 0.1], [3, 5, 5]), 1: ([-0.3, 0.0, 0.3], [3, 1, 5])},
    "text-to-text": {0: ([0.2, 0.2, 0.2], [5, 5, 1]), 1: ([0.4, 0.2, 0.0], [5, 3, 1])},
}
C_MG = {1: 0.0, 3: 0.25, 5: 4 / 9}
PROVENANCE = Provenance("demo", (DataSource("glue", "generated"),), "small: T5 v1.1-style 128-d",
                        True, 200, 16, 1)


def gram(c_dir: float, x: float) -> np.ndarray:
    rho = 2 * c_dir
    return np.array([[1.0, rho * math.sqrt(x)], [rho * math.sqrt(x), x]])


TASK_PAIRS = {"glue": ("cola", "rte"), "decanlp": ("sst", "squad")}


def fake_runs(benchmark: str = "glue", seeds: tuple[int, ...] = (0, 1),
              offset: float = 0.0) -> list[tuple[Cell, pd.DataFrame]]:
    """Runs of every architecture with TARGETS' measures (C_dir shifted by `offset`)."""
    runs = []
    for architecture, targets in TARGETS.items():
        for seed in seeds:
            c_dirs, xs = targets[seed]
            parts = []
            for step, c_dir, x in zip(STEPS, c_dirs, xs, strict=True):
                parts.append(gram_to_frame(step, "encoder", TASK_PAIRS[benchmark],
                                           gram(c_dir + offset, x)))
                # the decoder gets other numbers: they must not leak into the encoder figure
                parts.append(gram_to_frame(step, "decoder", TASK_PAIRS[benchmark],
                                           gram(-0.45, 9)))
            runs.append((Cell(benchmark, "small", architecture, "multi",
                              variant=main_variant(architecture), seed=seed),
                         pd.concat(parts, ignore_index=True)))
    return runs


def drawn_lines(ax: Axes, factor: Factor) -> dict[str, Line2D]:
    """The line drawn for each level of `factor`, found by the factor's colour (seaborn's
    data lines carry no label: its legend entries are empty proxy lines)."""
    lines = {}
    for name in factor.names:
        found = [line for line in ax.get_lines() if len(line.get_xdata())
                 and to_rgba(line.get_color()) == to_rgba(factor.color(name))]
        assert len(found) <= 1, name
        if found:
            lines[name] = found[0]
    return lines


def legend_words(fig: Figure) -> list[str]:
    """The entries of the figure's one legend (a figure legend: no axes has one)."""
    assert len(fig.legends) == 1 and not any(ax.get_legend() for ax in fig.axes)
    return [text.get_text() for text in fig.legends[0].get_texts()]


def legend_text(fig: Figure) -> str:
    legend = fig.legends[0]
    return " ".join([legend.get_title().get_text(), *legend_words(fig)])


def figure_text(fig: Figure) -> list[str]:
    return [text.get_text() for text in fig.texts]


def bands(ax: Axes) -> list[PolyCollection]:
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def band(ax: Axes, factor: Factor, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The low and high edge of the band drawn in the colour of `name`, per x (ascending)."""
    color = to_rgba(factor.color(name))[:3]
    found = [c for c in ax.collections
             if len(c.get_facecolor()) and tuple(c.get_facecolor()[0][:3]) == color]
    assert len(found) == 1, name
    vertices = found[0].get_paths()[0].vertices
    edges = pd.DataFrame(vertices, columns=["x", "y"]).groupby("x")["y"]
    return edges.min().to_numpy(), edges.max().to_numpy()


def expected(architecture: str, measure: str) -> np.ndarray:
    per_seed = [np.array(c_dirs) if measure == "c_dir" else np.array([C_MG[x] for x in xs])
                for c_dirs, xs in TARGETS[architecture].values()]
    return np.mean(per_seed, axis=0)


def test_figure2_data() -> None:
    data = figure2_data(fake_runs())
    assert set(data["architecture"]) == set(TARGETS) and set(data["benchmark"]) == {"glue"}
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

    assert len(fig.axes) == 2
    mg_ax, dir_ax = fig.axes
    assert (mg_ax.get_title(), dir_ax.get_title()) == ("GLUE: Magnitude conflict",
                                                       "GLUE: Directional conflict")
    assert mg_ax.get_xlabel() == "training step"
    assert "min–max" in fig.legends[0].get_title().get_text()
    assert legend_words(fig) == [f"{ARCHITECTURE.label(a)} (n=2)" for a in ARCHITECTURE.names]
    data = figure2_data(fake_runs())
    for ax, measure in ((mg_ax, "c_mg_normalised"), (dir_ax, "c_dir")):
        lines = drawn_lines(ax, ARCHITECTURE)
        assert set(lines) == set(TARGETS)
        for architecture, line in lines.items():
            np.testing.assert_allclose(line.get_xdata(), STEPS)
            np.testing.assert_allclose(line.get_ydata(), expected(architecture, measure))
            d = data[(data["architecture"] == architecture) & (data["measure"] == measure)]
            low, high = band(ax, ARCHITECTURE, architecture)  # min-max over the seeds
            np.testing.assert_allclose(low, d["low"])
            np.testing.assert_allclose(high, d["high"])


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
    runs = [(Cell("glue", "small", "text-to-text", "multi", variant=variant_name(prompts=style)),
             conflict_frame([c] * 3, [1, 1, 1]))
            for style, c in (("null", 0.1), ("default", 0.2), ("diverse", 0.3))]
    runs.append((Cell("glue", "small", "text-to-text-id", "multi"),  # not Figure 3's
                 conflict_frame([0.4] * 3, [1, 1, 1])))
    runs.append((Cell("glue", "small", "text-to-text", "multi",  # nor this: letters
                      variant=variant_name(prompts="null", output_space="distinct")),
                 conflict_frame([0.5] * 3, [1, 1, 1])))
    fig = figure3(runs, tmp_path / "f3.png", tmp_path / "f3.pdf")
    assert legend_words(fig) == ["null prompts (n=1)", "default prompts (n=1)",
                                 "diverse prompts (n=1)"]
    assert figure_text(fig)[0].startswith("Figure 3 (GLUE): ")
    lines = drawn_lines(fig.axes[1], PROMPTS)
    assert set(lines) == {"null", "default", "diverse"}
    np.testing.assert_allclose(lines["diverse"].get_ydata(), [0.3] * 3)
    np.testing.assert_allclose(lines["null"].get_ydata(), [0.1] * 3)


def test_figure4_decoder_conflict_and_accuracy_per_output_space(tmp_path: Path) -> None:
    def metrics(acc: float) -> dict:
        return {"cell": "x", "tasks": {"rte": {"test": {"accuracy": acc}},
                                       "cola": {"test": {"mcc": 10.0, "accuracy": acc + 10}},
                                       "stsb": {"test": {"spearman": 99.0}}}}
    runs = [(Cell("glue", "small", "text-to-text", "multi",
                  variant=variant_name(output_space=space), seed=seed),
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
    assert [t.get_text().replace("\n", " ") for t in fig.axes[1].get_xticklabels()] == [
        OUTPUT_SPACE.label(s) for s in OUTPUT_SPACE.names]
    assert [to_rgba(p.get_facecolor())[:3] for p in fig.axes[1].patches] == [
        to_rgba(OUTPUT_SPACE.color(s))[:3] for s in OUTPUT_SPACE.names]
    dots = np.concatenate([c.get_offsets()[:, 1] for c in fig.axes[1].collections])
    np.testing.assert_allclose(sorted(dots), sorted(bars["accuracy"]))  # each seed a dot
    lines_drawn = drawn_lines(fig.axes[0], OUTPUT_SPACE)
    np.testing.assert_allclose(lines_drawn["overlapping"].get_ydata(), [0.35] * 3)
    assert figure_text(fig)[0].startswith("Figure 4 (GLUE): ")
    assert "min–max" in legend_text(fig) and bands(fig.axes[0])  # two seeds each


def test_figure5_mean_training_loss_pretrained_vs_reinit(tmp_path: Path) -> None:
    def log(losses: dict[str, list[float]]) -> pd.DataFrame:
        return pd.DataFrame([{"step": step, "task": task, "loss": loss}
                             for task, values in losses.items()
                             for step, loss in zip((10, 20), values, strict=True)])
    runs = [(Cell("glue", "small", "text-to-text", "multi",
                  variant=variant_name(decoder="pretrained")),
             log({"cola": [1.0, 0.5], "rte": [3.0, 1.5]})),
            (Cell("glue", "small", "text-to-text", "multi", variant=variant_name(decoder="reinit")),
             log({"cola": [4.0, 2.0], "rte": [6.0, 4.0]})),
            (Cell("glue", "small", "text-to-text", "cola"), log({"cola": [9.0, 9.0]}))]
    fig = figure5(runs, tmp_path / "f5.png", tmp_path / "f5.pdf")
    lines = drawn_lines(fig.axes[0], DECODER)
    np.testing.assert_allclose(lines["pretrained"].get_ydata(), [2.0, 1.0])
    np.testing.assert_allclose(lines["reinit"].get_ydata(), [5.0, 3.0])
    assert legend_words(fig) == ["pre-trained (n=1)", "re-initialised (n=1)"]
    assert fig.axes[0].get_title() == "text-to-text"
    assert figure_text(fig)[0].startswith("Figure 5 (GLUE): ")
    data = loss_lines(runs)
    np.testing.assert_allclose(data.loc[data["series"] == "reinit", "mean"], [5.0, 3.0])


def test_cosine_heatmaps_at_start_middle_and_end(tmp_path: Path) -> None:
    frame = pd.concat([gram_to_frame(step, "encoder", ("cola", "rte"), gram(c, 1))
                       for step, c in ((0, 0.1), (10, 0.2), (20, 0.3), (30, 0.4), (40, 0.5))])
    snapshots = cosine_snapshots(frame)
    assert [step for step, _, _ in snapshots] == [0, 20, 40]
    np.testing.assert_allclose(snapshots[1][2], [[1.0, 0.6], [0.6, 1.0]])  # cos = 2 C_dir
    out = tmp_path / "cos.png"
    cell = Cell("glue", "small", "text-to-text", "multi")
    fig = cosine_heatmaps(cell, frame, out, provenance=PROVENANCE)
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert [ax.get_title() for ax in fig.axes[:3]] == ["step 0", "step 20", "step 40"]
    middle = fig.axes[1]
    np.testing.assert_allclose(middle.collections[0].get_array().reshape(2, 2), snapshots[1][2])
    assert [t.get_text() for t in middle.texts] == ["1.0", "0.6", "0.6", "1.0"]
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["CoLA", "RTE"]
    # the cell in words (not its id) and the provenance, in the title lines
    words = " ".join(figure_text(fig))
    assert cell.title in words and cell.id not in words
    assert PROVENANCE.subtitle() in figure_text(fig)


# --- one figure stage: report.write_figure reads the runs' files and dispatches ----------------

def write_run(root: Path, cell: Cell, files: dict[str, object]) -> list[Path]:
    """The files (name: frame or JSON) in the cell's run folder under `root`."""
    folder = root / "runs" / cell.id
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if isinstance(content, pd.DataFrame):
            content.to_parquet(folder / name)
        else:
            (folder / name).write_text(json.dumps(content))
    return [folder / name for name in files]


def test_every_figure_reads_the_files_its_spec_names():
    assert {n: spec.files for n, spec in FIGURES.items()} == {
        2: ("conflict.parquet",), 3: ("conflict.parquet",),
        4: ("conflict.parquet", "metrics.json"), 5: ("train_log.parquet",),
        6: ("conflict.parquet",)}
    assert [spec.draw for spec in FIGURES.values()] == [figure2, figure3, figure4, figure5,
                                                        figure6]
    # the experiments whose runs they draw (the workflow's figure rule reads this too)
    assert {n: spec.experiment for n, spec in FIGURES.items()} == {
        2: "table1", 3: "table2", 4: "figure4", 5: "table3", 6: "table5"}


def test_write_figure_groups_run_files_by_cell(tmp_path: Path) -> None:
    files = []
    for cell, frame in fake_runs():
        files += write_run(tmp_path / "results", cell, {"conflict.parquet": frame})
    png, pdf = tmp_path / "figures" / "figure2_glue.png", tmp_path / "figures" / "figure2_glue.pdf"
    write_figure(2, list(reversed(files)), png, pdf)
    assert png.read_bytes()[:4] == b"\x89PNG" and pdf.read_bytes()[:5] == b"%PDF-"

    def metrics(cell: Cell) -> dict:
        return {"cell": cell.id, "tasks": {"rte": {"test": {"accuracy": 50.0 + cell.seed}}}}
    files = []
    for cell, frame in fake_runs():
        if cell.architecture == "text-to-text":
            files += write_run(tmp_path / "r4", cell, {"conflict.parquet": frame,
                                                       "metrics.json": metrics(cell)})
    runs = figure_runs(4, files[::-1])  # any order: per run, conflict then metrics
    assert sorted((cell.seed, m["tasks"]["rte"]["test"]["accuracy"]) for cell, _, m in runs) == [
        (0, 50.0), (1, 51.0)]
    assert all(isinstance(frame, pd.DataFrame) for _, frame, _ in runs)
    write_figure(4, files, tmp_path / "f4.png", tmp_path / "f4.pdf")
    with pytest.raises(ValueError, match="needs the metrics.json"):
        figure_runs(4, [f for f in files if f.name == "conflict.parquet"])
    with pytest.raises(ValueError, match="draws the runs' train_log.parquet, not"):
        figure_runs(5, files)
    with pytest.raises(ValueError, match="no Figure 7"):
        figure_runs(7, files)


def test_figure_stage_of_the_command_line(tmp_path: Path) -> None:
    from taskconflict.cli import main

    files = []
    for cell, frame in fake_runs():
        files += write_run(tmp_path / "results", cell, {"conflict.parquet": frame})
    png, pdf = tmp_path / "figure3.png", tmp_path / "figure3.pdf"
    with pytest.raises(SystemExit):  # Figures 2-5 only
        main(["figure", "--number", "9", "--runs", *map(str, files), "--png", str(png),
              "--pdf", str(pdf)])
    main(["figure", "--number", "3", "--runs", *map(str, files), "--png", str(png),
          "--pdf", str(pdf)])
    assert png.stat().st_size > 10_000 and pdf.stat().st_size > 1_000


def test_figures_are_byte_identical_across_runs(tmp_path: Path) -> None:
    for name in ("a", "b"):
        figure2(fake_runs() + fake_runs("decanlp"), tmp_path / f"{name}.png",
                tmp_path / f"{name}.pdf", provenance=PROVENANCE)
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()


def test_figure6_draws_each_aggregator_per_architecture(tmp_path: Path) -> None:
    """Figure 6: one row of panels per architecture, one line per aggregator (the mean over
    seeds of its measured C_dir); a run of another variant is not drawn."""
    numbers = {("canonical", "sum"): "canonical", ("canonical", "pcgrad"): "text-to-text-id",
               ("text-to-text", "sum"): "text-to-text", ("text-to-text", "upgrad"): "canonical"}
    runs = []
    for (architecture, aggregator), source in numbers.items():
        for seed, (c_dirs, xs) in TARGETS[source].items():
            frame = pd.concat([gram_to_frame(step, "encoder", ("cola", "rte"), gram(c, x))
                               for step, c, x in zip(STEPS, c_dirs, xs, strict=True)])
            runs.append((Cell("glue", "small", architecture, "multi",
                              main_variant(architecture, aggregator=aggregator), seed), frame))
    runs.append((Cell("glue", "small", "text-to-text", "multi",  # Table 2's: not Figure 6's
                      main_variant("text-to-text", prompts="diverse"), 0), runs[0][1]))
    fig = figure6(runs, tmp_path / "f6.png", tmp_path / "f6.pdf")
    assert (tmp_path / "f6.png").stat().st_size > 10_000
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:4] == ["Magnitude conflict: canonical", "Directional conflict: canonical",
                          "Magnitude conflict: text-to-text", "Directional conflict: text-to-text"]
    for ax, architecture in ((fig.axes[1], "canonical"), (fig.axes[3], "text-to-text")):
        lines = drawn_lines(ax, AGGREGATOR)
        drawn = {a for (arch, a) in numbers if arch == architecture}
        assert set(lines) == drawn
        for aggregator, line in lines.items():
            c_dirs = [TARGETS[numbers[(architecture, aggregator)]][seed][0] for seed in (0, 1)]
            np.testing.assert_allclose(line.get_ydata(), np.mean(c_dirs, axis=0))
    assert "aggregator" in fig.legends[0].get_title().get_text()
    assert legend_words(fig) == ["sum (the paper) (n=2)", "UPGrad (n=2)", "PCGrad (n=2)"]
    assert figure_text(fig)[0].startswith("Figure 6 (GLUE): ")


# --- issue 17: figures as a reviewer expects ----------------------------------------------------

def test_figure2_lays_out_glue_and_decanlp_as_the_paper(tmp_path: Path) -> None:
    """Two benchmarks: a 2x2 grid, C_mg on top and C_dir below, GLUE's column left of
    DecaNLP's, each drawing its own runs."""
    runs = fake_runs("decanlp", offset=0.05) + fake_runs("glue")  # any order
    fig = figure2(runs, tmp_path / "f2.png", tmp_path / "f2.pdf", provenance=PROVENANCE)
    assert len(fig.axes) == 4
    boxes = [ax.get_position() for ax in fig.axes]
    (top_left, top_right, bottom_left, bottom_right) = boxes
    assert top_left.y0 == pytest.approx(top_right.y0) and top_left.x0 < top_right.x0
    assert bottom_left.x0 == pytest.approx(top_left.x0) and bottom_left.y1 < top_left.y0
    assert bottom_right.x0 == pytest.approx(top_right.x0)
    assert [ax.get_title() for ax in fig.axes] == [
        "GLUE: Magnitude conflict", "DecaNLP: Magnitude conflict",
        "GLUE: Directional conflict", "DecaNLP: Directional conflict"]
    assert figure_text(fig)[0].startswith("Figure 2 (GLUE and DecaNLP): ")
    for ax, offset in ((fig.axes[2], 0.0), (fig.axes[3], 0.05)):
        lines = drawn_lines(ax, ARCHITECTURE)
        np.testing.assert_allclose(lines["canonical"].get_ydata(),
                                   expected("canonical", "c_dir") + offset)
    data = figure2_data(runs)
    assert list(data.columns[:2]) == ["benchmark", "architecture"]
    means = data[data["measure"] == "c_dir"].groupby("benchmark")["mean"].mean()
    assert means["decanlp"] == pytest.approx(means["glue"] + 0.05)


def test_figure2_of_one_benchmark_is_one_column(tmp_path: Path) -> None:
    fig = figure2(fake_runs(), tmp_path / "f2.png", tmp_path / "f2.pdf")
    top, bottom = (ax.get_position() for ax in fig.axes)
    assert len(fig.axes) == 2 and top.x0 == pytest.approx(bottom.x0) and bottom.y1 < top.y0
    assert fig.axes[0].get_title() == "GLUE: Magnitude conflict"


def test_lines_have_a_marker_at_each_measured_step(tmp_path: Path) -> None:
    fig = figure2(fake_runs(), tmp_path / "f2.png", tmp_path / "f2.pdf")
    for ax in fig.axes:
        for line in drawn_lines(ax, ARCHITECTURE).values():
            assert line.get_marker() not in ("None", "", None)
            assert len(line.get_xdata()) == len(STEPS)
    assert all(h.get_marker() not in ("None", "", None) for h in fig.legends[0].legend_handles)


def test_band_and_its_words_only_with_several_seeds(tmp_path: Path) -> None:
    one = figure2(fake_runs(seeds=(0,)), tmp_path / "a.png", tmp_path / "a.pdf")
    assert not any(bands(ax) for ax in one.axes)
    assert "min–max" not in legend_text(one) and "band" not in legend_text(one)
    assert legend_words(one) == [f"{ARCHITECTURE.label(a)} (n=1)" for a in ARCHITECTURE.names]
    two = figure2(fake_runs(seeds=(0, 1)), tmp_path / "b.png", tmp_path / "b.pdf")
    assert all(len(bands(ax)) == len(TARGETS) for ax in two.axes)
    assert "band = min–max over seeds" in legend_text(two)


def test_the_provenance_subtitle_is_under_every_title(tmp_path: Path) -> None:
    subtitle = PROVENANCE.subtitle()
    fig = figure2(fake_runs(), tmp_path / "f2.png", tmp_path / "f2.pdf", provenance=PROVENANCE)
    texts = fig.texts
    assert [t.get_text() for t in texts] == [
        "Figure 2 (GLUE): task conflict in the encoder during multi-task training", subtitle]
    title, sub = texts
    assert sub.get_fontsize() < title.get_fontsize()
    fig.canvas.draw()
    assert sub.get_window_extent().y1 <= title.get_window_extent().y0  # the line below
    assert all(sub.get_window_extent().y0 > ax.get_window_extent().y1 for ax in fig.axes)
    without = figure2(fake_runs(), tmp_path / "f2.png", tmp_path / "f2.pdf")
    assert subtitle not in figure_text(without) and len(without.texts) == 1


def test_legends_are_outside_every_panel(tmp_path: Path) -> None:
    figures = [figure2(fake_runs("decanlp") + fake_runs(), tmp_path / "a.png", tmp_path / "a.pdf",
                       provenance=PROVENANCE),
               figure2(fake_runs(seeds=(0,)), tmp_path / "b.png", tmp_path / "b.pdf")]
    runs = [(Cell("glue", "small", architecture, "multi",
                  main_variant(architecture, aggregator=aggregator), 0),
             conflict_frame([0.1] * 3, [1, 3, 5]))
            for architecture in ("canonical", "text-to-text") for aggregator in AGGREGATOR.names]
    figures.append(figure6(runs, tmp_path / "c.png", tmp_path / "c.pdf", provenance=PROVENANCE))
    for fig in figures:
        fig.canvas.draw()
        assert len(fig.legends) == 1 and not any(ax.get_legend() for ax in fig.axes)
        legend = fig.legends[0].get_window_extent()
        for ax in fig.axes:
            assert not legend.overlaps(ax.get_window_extent()), ax.get_title()
        for text in fig.texts:  # nor over the title lines
            assert not legend.overlaps(text.get_window_extent())


def test_annotation_strings_never_read_minus_zero() -> None:
    assert [cosine_annotation(v) for v in (-0.04, -0.0, 0.0, 0.04, -0.06, 0.96, -1.0)] == [
        "0.0", "0.0", "0.0", "0.0", "-0.1", "1.0", "-1.0"]
    assert cosine_annotation(float("nan")) == ""
    grid = np.linspace(-1, 1, 20001).reshape(-1, 1)
    words = cosine_annotations(grid)
    assert words.shape == grid.shape and "-0.0" not in set(words.ravel())
    assert all(len(w.split(".")[1]) == 1 for w in words.ravel())  # one decimal


def test_cosine_heatmaps_are_legible_at_the_report_width(tmp_path: Path) -> None:
    """9 DecaNLP tasks, two panels a row: shown ~700 px wide in the report (the width beside
    its list of entries on a 1280 px screen), each matrix cell stays >= 28 px and each
    annotation >= 10 px; no "-0.0" drawn."""
    from PIL import Image

    tasks = ("sst", "mnli_deca", "iwslt", "cnn_dm", "wikisql", "squad", "srl", "zre", "winograd")
    rng = np.random.default_rng(0)
    frames = []
    for step in (0, 50, 100):
        g = rng.normal(size=(len(tasks), 32)) * 0.05
        g[:, 0] += 1.0  # mostly aligned, with some cosines just below zero
        frames.append(gram_to_frame(step, "encoder", tasks, g @ g.T))
    out = tmp_path / "cos.png"
    fig = cosine_heatmaps(Cell("decanlp", "small", "text-to-text", "multi"),
                          pd.concat(frames, ignore_index=True), out, provenance=PROVENANCE)
    width, height = Image.open(out).size
    scale = min(1.0, 700 / width, 900 / height)  # fits the report's content area
    panel = fig.axes[0].get_window_extent()
    assert panel.width / len(tasks) * scale >= 28
    texts = [t for ax in fig.axes[:3] for t in ax.texts]
    assert len(texts) == 3 * len(tasks) ** 2
    assert min(t.get_fontsize() for t in texts) * COSINE_DPI / 72 * scale >= 10
    assert "-0.0" not in {t.get_text() for t in texts}
    assert figure_text(fig)[1].startswith("DecaNLP, text-to-text multi-task")
    upper, lower = fig.axes[0].get_position(), fig.axes[2].get_position()
    assert upper.y0 > lower.y1 and abs(upper.x0 - lower.x0) < 0.05  # step 0 above the end


def test_only_figure2_is_joint_and_the_others_refuse_two_benchmarks(tmp_path: Path) -> None:
    assert {n for n, spec in FIGURES.items() if spec.joint_benchmarks} == {2}
    two = fake_runs() + fake_runs("decanlp")
    for draw in (figure3, figure6):
        with pytest.raises(ValueError, match="one benchmark per file.*GLUE and DecaNLP"):
            draw(two, tmp_path / "x.png", tmp_path / "x.pdf")
    with pytest.raises(ValueError, match="Figure 4 draws one benchmark"):
        figure4([(c, f, {}) for c, f in two], tmp_path / "x.png", tmp_path / "x.pdf")
    with pytest.raises(ValueError, match="Figure 5 draws one benchmark"):
        figure5(two, tmp_path / "x.png", tmp_path / "x.pdf")


def test_write_figure_and_cosines_take_the_provenance(tmp_path: Path) -> None:
    files = []
    for cell, frame in fake_runs() + fake_runs("decanlp"):
        files += write_run(tmp_path / "results", cell, {"conflict.parquet": frame})
    png, pdf = tmp_path / "figure2_glue-decanlp.png", tmp_path / "figure2_glue-decanlp.pdf"
    write_figure(2, files, png, pdf, provenance=PROVENANCE)
    assert png.stat().st_size > 10_000 and pdf.read_bytes()[:5] == b"%PDF-"
    with pytest.raises(ValueError, match="one benchmark per file"):
        write_figure(3, files, tmp_path / "f3.png", tmp_path / "f3.pdf", provenance=PROVENANCE)
    write_cosines(files[0], tmp_path / "cos.png", provenance=PROVENANCE)
    assert (tmp_path / "cos.png").read_bytes()[:4] == b"\x89PNG"
