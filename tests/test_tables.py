"""Table 1 arithmetic on fake metrics.json files with hand-chosen scores.

Per seed (seed 0, seed 1) on the test split:
- canonical single-task:   CoLA 40, 50; MNLI-mm 70, 80; every other task 80, 90
- canonical multi-task:    CoLA 54, 54; every other task 0.9 x canonical single
- text-to-text single:     every task 60, 70
- text-to-text multi:      every task 66, 77 (1.1 x text-to-text single)
- text-to-text-id multi:   every task 30, 40, but no STS-B at all
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from taskconflict.factors import variant_name
from taskconflict.grid import Cell, main_variant
from taskconflict.paper import load_paper_results, paper_score
from taskconflict.registry import BENCHMARKS, TASKS
from taskconflict.tables import (
    TABLE1,
    TABLE2,
    TABLE3,
    TABLE4,
    build_table,
    caption,
    tex_escape,
    write_table,
)

COLUMNS = ["cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "mnli_mismatched", "qnli", "rte"]


def canonical_single(column: str, seed: int) -> float:
    return {"cola": [40.0, 50.0], "mnli_mismatched": [70.0, 80.0]}.get(column, [80.0, 90.0])[seed]


SCORES = {
    ("canonical", "single-task"): canonical_single,
    ("canonical", "multi-task"): lambda c, s: 54.0 if c == "cola" else 0.9 * canonical_single(c, s),
    ("text-to-text", "single-task"): lambda c, s: [60.0, 70.0][s],
    ("text-to-text", "multi-task"): lambda c, s: [66.0, 77.0][s],
    ("text-to-text-id", "multi-task"): lambda c, s: [30.0, 40.0][s],
}


def task_metrics(task: str, score: float) -> dict:
    """metrics.json entry of one task; validation and extra metrics carry decoy values."""
    t = TASKS[task]
    split = {t.metric: score, "bad_outputs": 0, "examples": 100}
    split.update({m: -1.0 for m in t.extra_metrics})
    entry = {"validation": {t.metric: -5.0, "bad_outputs": 0, "examples": 10}, "test": split}
    for extra in t.test_splits[1:]:
        entry[extra] = dict(split)
    return entry


def metrics_for(cell: Cell) -> dict:
    score = SCORES[(cell.architecture, cell.mode)]
    tasks = BENCHMARKS["glue"] if cell.multi_task else (cell.tasks,)
    if cell.architecture == "text-to-text-id":
        tasks = tuple(t for t in tasks if t != "stsb")
    out = {}
    for task in tasks:
        out[task] = task_metrics(task, score(task, cell.seed))
        if task == "mnli":
            out[task]["test_mismatched"][TASKS[task].metric] = score("mnli_mismatched", cell.seed)
    return {"cell": cell.id, "tasks": out}


def fake_runs(seeds: tuple[int, ...] = (0, 1)) -> list[tuple[Cell, dict]]:
    runs = []
    for architecture, mode in SCORES:
        targets = ["multi"] if mode == "multi-task" else list(BENCHMARKS["glue"])
        for target in targets:
            for seed in seeds:
                single_t2t = (architecture, mode) == ("text-to-text", "single-task")
                bare = single_t2t or architecture == "canonical"  # the bare input
                cell = Cell("glue", "small", architecture, target, seed=seed,
                            variant=variant_name(prompts="null" if bare else "default"))
                runs.append((cell, metrics_for(cell)))
    # Runs that Table 1 must ignore: other prompt styles and the base model.
    decoy = metrics_for(Cell("glue", "small", "text-to-text", "multi"))
    null = variant_name(prompts="null")
    runs.append((Cell("glue", "small", "text-to-text", "multi", null), decoy))
    runs.append((Cell("glue", "small", "text-to-text", "cola"), decoy))
    runs.append((Cell("glue", "base", "text-to-text", "multi"), decoy))
    return runs


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return build_table(TABLE1, fake_runs(), "glue")


def at(frame: pd.DataFrame, row: str, task: str) -> pd.Series:
    lines = frame[(frame["row"] == row) & (frame["task"] == task)]
    assert len(lines) == 1
    return lines.iloc[0]


def test_layout(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == ["row", "architecture", "mode", "variant", "task", "mean",
                                   "std", "seeds", "paper", "transfer_pct"]
    assert list(pd.unique(frame["row"])) == [
        "canonical single-task", "canonical multi-task", "text-to-text single-task",
        "text-to-text-id multi-task", "text-to-text multi-task"]
    assert list(pd.unique(frame["task"])) == [*COLUMNS, "avg"]
    assert len(frame) == 5 * 10


def test_cells_mean_std_seeds(frame: pd.DataFrame) -> None:
    cola = at(frame, "canonical single-task", "cola")
    assert cola["mean"] == pytest.approx(45.0)
    assert cola["std"] == pytest.approx(math.sqrt(50.0))  # sample std (ddof=1) of 40, 50: 7.07
    assert cola["seeds"] == 2
    assert math.isnan(cola["transfer_pct"])
    mm = at(frame, "canonical single-task", "mnli_mismatched")
    assert mm["mean"] == pytest.approx(75.0)
    assert at(frame, "canonical single-task", "mnli")["mean"] == pytest.approx(85.0)
    multi_cola = at(frame, "canonical multi-task", "cola")
    assert (multi_cola["mean"], multi_cola["std"]) == (pytest.approx(54.0), pytest.approx(0.0))


def test_avg(frame: pd.DataFrame) -> None:
    # seed 0: (40 + 7*80 + 70) / 9 = 670/9; seed 1: (50 + 7*90 + 80) / 9 = 760/9
    avg = at(frame, "canonical single-task", "avg")
    assert avg["mean"] == pytest.approx(715 / 9)
    assert avg["std"] == pytest.approx(10 / math.sqrt(2))
    # seed 0: (54 + 7*72 + 63) / 9 = 69; seed 1: (54 + 7*81 + 72) / 9 = 77
    multi = at(frame, "canonical multi-task", "avg")
    assert multi["mean"] == pytest.approx(73.0)
    assert multi["std"] == pytest.approx(math.sqrt(32.0))
    assert multi["transfer_pct"] == pytest.approx((73 - 715 / 9) / (715 / 9) * 100)


def test_transfer(frame: pd.DataFrame) -> None:
    assert at(frame, "canonical multi-task", "cola")["transfer_pct"] == pytest.approx(20.0)
    assert at(frame, "canonical multi-task", "rte")["transfer_pct"] == pytest.approx(-10.0)
    assert at(frame, "text-to-text multi-task", "sst2")["transfer_pct"] == pytest.approx(10.0)
    # text-to-text-id is compared with the text-to-text single-task row: (35 - 65) / 65
    tid = at(frame, "text-to-text-id multi-task", "sst2")
    assert tid["transfer_pct"] == pytest.approx(-30 / 65 * 100)
    assert frame.loc[frame["mode"] == "single-task", "transfer_pct"].isna().all()


def test_missing_task_is_nan(frame: pd.DataFrame) -> None:
    stsb = at(frame, "text-to-text-id multi-task", "stsb")
    assert math.isnan(stsb["mean"]) and stsb["seeds"] == 0 and math.isnan(stsb["transfer_pct"])
    assert stsb["paper"] == pytest.approx(62.08)
    avg = at(frame, "text-to-text-id multi-task", "avg")  # no seed has every column
    assert math.isnan(avg["mean"]) and avg["seeds"] == 0


def test_paper_column(frame: pd.DataFrame) -> None:
    assert at(frame, "canonical single-task", "cola")["paper"] == pytest.approx(36.20)
    assert at(frame, "canonical single-task", "mnli_mismatched")["paper"] == pytest.approx(80.72)
    assert at(frame, "text-to-text-id multi-task", "rte")["paper"] == pytest.approx(65.70)
    paper_avg = at(frame, "canonical single-task", "avg")["paper"]
    assert paper_avg == pytest.approx(693.71 / 9)  # 77.08, not the printed 78.06
    assert paper_avg != pytest.approx(78.06, abs=0.5)
    assert at(frame, "text-to-text single-task", "avg")["paper"] == pytest.approx(670.81 / 9)


def test_paper_module() -> None:
    paper = load_paper_results()
    assert list(paper.columns) == ["table", "benchmark", "model", "architecture", "variant",
                                   "task", "score"]
    glue = paper[(paper["table"] == 1) & (paper["benchmark"] == "glue")]
    assert set(glue["task"]) - {"avg", "mnli_mismatched"} == set(BENCHMARKS["glue"])
    assert paper_score(1, "glue", "canonical", "single-task", "cola") == pytest.approx(36.20)
    assert paper_score(1, "glue", "canonical", "single-task", "avg") == pytest.approx(693.71 / 9)
    assert paper_score(1, "glue", "canonical", "text-to-text", "cola") is None
    assert paper_score(4, "glue", "canonical", "single-task", "cola", "t5-v1_1-base") is not None


def test_single_seed_has_no_std() -> None:
    frame = build_table(TABLE1, fake_runs(seeds=(0,)), "glue")
    cola = at(frame, "canonical single-task", "cola")
    assert cola["mean"] == 40.0 and math.isnan(cola["std"]) and cola["seeds"] == 1


def test_only_present_tasks_are_columns() -> None:
    runs = [(c, m) for c, m in fake_runs() if c.multi_task or c.tasks in ("rte", "cola")]
    runs = [(c, {**m, "tasks": {t: v for t, v in m["tasks"].items() if t in ("rte", "cola")}})
            for c, m in runs]
    frame = build_table(TABLE1, runs, "glue")
    assert list(pd.unique(frame["task"])) == ["cola", "rte", "avg"]
    avg = at(frame, "canonical single-task", "avg")
    assert avg["mean"] == pytest.approx(((40 + 80) / 2 + (50 + 90) / 2) / 2)
    assert avg["paper"] == pytest.approx((36.20 + 61.25) / 2)


def test_duplicate_runs_are_an_error() -> None:
    runs = fake_runs()
    with pytest.raises(ValueError, match="two runs"):
        build_table(TABLE1, [*runs, runs[0]], "glue")


def test_write_table(frame: pd.DataFrame, tmp_path: Path) -> None:
    stem = tmp_path / "tables" / "table1_glue"
    write_table(frame, stem)
    csv = pd.read_csv(stem.with_name("table1_glue.csv"))
    pd.testing.assert_frame_equal(csv, frame, check_dtype=False)

    md = stem.with_name("table1_glue.md").read_text(encoding="utf-8")
    assert "CoLA Matthews corr." in md and "STS-B Spearman" in md and "ddof=1" in md
    assert "| canonical single-task | 45.0 ± 7.1 [paper 36.20] |" in md
    assert "54.0 ± 0.0 (+20.0%) [paper 30.27]" in md
    assert "| MNLI | MNLI-mm |" in md and "| Avg |" in md
    assert "79.4 ± 7.1 [paper 77.08]" in md
    assert "| text-to-text-id multi-task | 35.0 ± 7.1 (-46.2%) [paper 28.64] |" in md
    tid = next(line for line in md.splitlines() if line.startswith("| text-to-text-id"))
    assert tid.count("–") == 2  # STS-B and Avg
    assert len([line for line in md.splitlines() if line.startswith("| ")]) == 6

    tex = stem.with_name("table1_glue.tex").read_text(encoding="utf-8")
    assert r"\begin{tabular}{lcccccccccc}" in tex and r"\end{tabular}" in tex
    assert r"45.0 $\pm$ 7.1 [paper 36.20]" in tex
    assert r"(+20.0\%)" in tex and "%" not in tex.replace(r"\%", "").split("\n", 1)[1]
    assert tex.count(r" \\") == 6
    html = stem.with_name("table1_glue.html").read_text(encoding="utf-8")
    assert html.startswith("<p>Table 1 (GLUE)") and html.count("<tr") == 6  # header + 5 rows
    assert "45.0 ± 7.1 [paper 36.20]" in html
    assert not list(stem.parent.glob(".*.tmp"))


def test_tex_escape() -> None:
    assert tex_escape("mnli_mismatched 5% & more") == r"mnli\_mismatched 5\% \& more"


def test_no_runs_does_not_crash(tmp_path: Path) -> None:
    frame = build_table(TABLE1, [], "glue")
    assert frame["mean"].isna().all() and len(frame) == 5
    write_table(frame, tmp_path / "empty")
    assert "–" in (tmp_path / "empty.md").read_text(encoding="utf-8")
    assert (tmp_path / "empty.tex").exists() and (tmp_path / "empty.csv").exists()


# --- Tables 2-4: the same builder with other rows ----------------------------------------------

def variant_runs(architecture: str, mode: str, score: float, model: str = "small",
                 benchmark: str = "glue", **variant: str) -> list[tuple[Cell, dict]]:
    targets = ["multi"] if mode == "multi-task" else list(BENCHMARKS[benchmark])
    runs = []
    for target in targets:
        cell = Cell(benchmark, model, architecture, target, main_variant(architecture, **variant))
        tasks = BENCHMARKS[benchmark] if cell.multi_task else (target,)
        runs.append((cell, {"cell": cell.id, "tasks": {t: task_metrics(t, score)
                                                       for t in tasks}}))
    return runs


def test_table2_compares_prompt_styles_with_the_null_prompt_single_task_baseline():
    runs = [*variant_runs("text-to-text", "single-task", 50.0, prompts="null"),
            *variant_runs("text-to-text", "single-task", 99.0),  # default prompts: no row's
            *variant_runs("text-to-text", "multi-task", 40.0, prompts="null"),
            *variant_runs("text-to-text", "multi-task", 55.0),
            *variant_runs("text-to-text", "multi-task", 60.0, prompts="diverse")]
    frame = build_table(TABLE2, runs, "glue")
    rows = list(pd.unique(frame["row"]))
    assert rows == ["text-to-text single-task null prompts",
                    "text-to-text multi-task null prompts",
                    "text-to-text multi-task default prompts",
                    "text-to-text multi-task diverse prompts"]
    assert at(frame, rows[0], "rte")["mean"] == 50.0
    assert at(frame, rows[1], "avg")["transfer_pct"] == pytest.approx(-20.0)
    assert at(frame, rows[3], "cola")["transfer_pct"] == pytest.approx(20.0)
    assert at(frame, rows[3], "cola")["paper"] == paper_score(
        2, "glue", "text-to-text", "multi-task diverse-prompt", "cola")
    assert "Table 2 (GLUE), prompt styles" in caption(frame, TABLE2, "demo preset")


def test_table3_rows_by_decoder_and_table4_on_the_base_model():
    runs = [r for a, d, s in (("text-to-text-id", "pretrained", 50.0),
                              ("text-to-text-id", "reinit", 40.0),
                              ("text-to-text", "pretrained", 60.0),
                              ("text-to-text", "reinit", 30.0))
            for r in variant_runs(a, "multi-task", s, benchmark="decanlp", decoder=d)]
    runs += variant_runs("text-to-text", "single-task", 60.0, benchmark="decanlp", prompts="null")
    frame = build_table(TABLE3, runs, "decanlp")
    reinit = at(frame, "text-to-text multi-task re-init decoder", "avg")
    assert reinit["mean"] == 30.0 and reinit["transfer_pct"] == pytest.approx(-50.0)
    assert math.isfinite(reinit["paper"])  # the paper has DecaNLP's Table 3
    base = [*variant_runs("canonical", "single-task", 70.0, model="base"),
            *variant_runs("canonical", "multi-task", 77.0, model="base"),
            *variant_runs("canonical", "multi-task", 1.0)]  # the small model's: ignored
    frame = build_table(TABLE4, base, "glue", model="base")
    assert at(frame, "canonical multi-task", "cola")["transfer_pct"] == pytest.approx(10.0)
    assert at(frame, "canonical single-task", "cola")["paper"] == paper_score(
        4, "glue", "canonical", "single-task", "cola", "t5-v1_1-base")
    assert at(frame, "text-to-text multi-task", "cola")["seeds"] == 0
