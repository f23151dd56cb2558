"""Table 1 arithmetic on fake metrics.json files with hand-chosen scores.

Per seed (seed 0, seed 1) on the test split:
- canonical single-task:   CoLA 40, 50; MNLI-mm 70, 80; every other task 80, 90
- canonical multi-task:    CoLA 54, 54; every other task 0.9 x canonical single
- text-to-text single:     every task 60, 70
- text-to-text multi:      every task 66, 77 (1.1 x text-to-text single)
- text-to-text-id multi:   every task 30, 40, but no STS-B at all
"""

from __future__ import annotations

import json
import math
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from taskconflict.factors import variant_name
from taskconflict.grid import Cell, main_variant
from taskconflict.paper import load_paper_results, paper_score
from taskconflict.provenance import NOT_COMPARABLE, DataSource, Provenance
from taskconflict.registry import BENCHMARKS, TASKS
from taskconflict.report import comparison, write_comparison, write_table_files
from taskconflict.tables import (
    TABLE1,
    TABLE2,
    TABLE3,
    TABLE4,
    build_table,
    caption,
    tex_escape,
    title,
    write_table,
)

DEMO = Provenance("demo", (DataSource("glue", "generated"),),
                  "small: T5 v1.1-style 128-d, 2+2 layers, pre-trained here", True, 200, 16, 1)
REAL = Provenance("paper", (DataSource("glue", "hub", ("nyu-mll/glue",)),),
                  "small: google/t5-v1_1-small", False, 262144, 128, 3)
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
                                   "std", "seeds", "paper", "transfer_pct", "transfer_points",
                                   "baseline", "baseline_at_floor", "floor", "at_floor"]
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
    # the same differences in points, and the baseline they are taken against
    cola = at(frame, "canonical multi-task", "cola")
    assert (cola["transfer_points"], cola["baseline"]) == (pytest.approx(9.0), 45.0)
    assert tid["transfer_points"] == pytest.approx(-30.0) and tid["baseline"] == 65.0
    single = frame[frame["mode"] == "single-task"]
    assert single["transfer_points"].isna().all() and single["baseline"].isna().all()
    assert not frame["baseline_at_floor"].any()


def test_default_floors(frame: pd.DataFrame) -> None:
    """Without test files: 0 for correlations, unknown (NaN, never at floor) for accuracy."""
    assert at(frame, "canonical single-task", "cola")["floor"] == 0.0
    assert at(frame, "canonical single-task", "stsb")["floor"] == 0.0
    assert math.isnan(at(frame, "canonical single-task", "rte")["floor"])
    assert math.isnan(at(frame, "canonical single-task", "avg")["floor"])
    assert not frame["at_floor"].any()


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
    assert md.startswith("# Table 1 — GLUE: single- vs. multi-task training")
    assert "CoLA Matthews corr." in md and "STS-B Spearman" in md and "ddof=1" in md
    assert "| canonical single-task | 45.0 ± 7.1 [paper 36.20] |" in md
    assert "54.0 ± 0.0 (+9.0 pts, +20.0%) [paper 30.27]" in md
    assert "| MNLI | MNLI-mm |" in md and "| Avg |" in md
    assert "79.4 ± 7.1 [paper 77.08]" in md
    assert "| text-to-text-id multi-task | 35.0 ± 7.1 (−30.0 pts, −46.2%) [paper 28.64] |" in md
    tid = next(line for line in md.splitlines() if line.startswith("| text-to-text-id"))
    assert tid.count("–") == 2  # STS-B and Avg
    assert len([line for line in md.splitlines() if line.startswith("| ")]) == 6
    assert "[paper x] = paper: the paper's Table 1" in md  # no provenance: a plain label

    tex = stem.with_name("table1_glue.tex").read_text(encoding="utf-8")
    assert r"\begin{tabular}{lcccccccccc}" in tex and r"\end{tabular}" in tex
    assert r"\toprule" in tex and r"\midrule" in tex and r"\bottomrule" in tex
    assert r"\shortstack{45.0 $\pm$ 7.1\\{\scriptsize [paper 36.20]}}" in tex
    assert r"($+$9.0 pts, $+$20.0\%)" in tex
    body = [line for line in tex.splitlines() if not line.startswith("%")]
    assert "%" not in "\n".join(body).replace(r"\%", "")
    assert sum(line.endswith(r" \\") for line in body) == 6
    html = stem.with_name("table1_glue.html").read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and "<style>" in html
    assert "<h2>Table 1 — GLUE: single- vs. multi-task" in html
    assert html.count("<tr") == 6  # header + 5 rows
    assert ('<span class="line">45.0 ± 7.1</span>'
            '<span class="line paper">paper 36.20</span>') in html
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
    assert title(frame, TABLE2, DEMO).startswith("Table 2 — GLUE: prompt styles")
    assert "demo preset. Data: generated GLUE-like data" in caption(frame, TABLE2, DEMO)


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


# --- floors: transfer that stays meaningful ----------------------------------------------------
#
# Canonical single- vs. multi-task on four columns, one seed, with these floors:
#   column  floor  single  multi   points          %
#   cola     0.0   -64.5   10.0    +74.5            none: -64.5 MCC is at its floor
#   mrpc    68.4    70.6   71.6     +1.0            none: 2.2 points above the majority class
#   stsb     0.0     0.0    3.0     +3.0            none: 0.0 Spearman is at its floor
#   rte     50.0    60.0   66.0     +6.0   6 / 60 = +10.0: 10 points above its floor
#   avg     29.6  16.525  37.65   +21.125           none: 16.525 <= 29.6 + 5
# (avg floor (0 + 68.4 + 0 + 50) / 4; single avg (-64.5 + 70.6 + 0 + 60) / 4;
#  multi avg (10 + 71.6 + 3 + 66) / 4)

FLOORS = {"cola": 0.0, "mrpc": 68.4, "stsb": 0.0, "rte": 50.0}
SINGLE = {"cola": -64.5, "mrpc": 70.6, "stsb": 0.0, "rte": 60.0}
MULTI = {"cola": 10.0, "mrpc": 71.6, "stsb": 3.0, "rte": 66.0}


def floor_runs() -> list[tuple[Cell, dict]]:
    variant = main_variant("canonical")
    runs = []
    for task, score in SINGLE.items():
        cell = Cell("glue", "small", "canonical", task, variant)
        runs.append((cell, {"cell": cell.id, "tasks": {task: task_metrics(task, score)}}))
    cell = Cell("glue", "small", "canonical", "multi", variant)
    runs.append((cell, {"cell": cell.id,
                        "tasks": {t: task_metrics(t, s) for t, s in MULTI.items()}}))
    return runs


@pytest.fixture(scope="module")
def floored() -> pd.DataFrame:
    return build_table(TABLE1, floor_runs(), "glue", floors=FLOORS)


def test_floor_columns(floored: pd.DataFrame) -> None:
    assert list(pd.unique(floored["task"])) == ["cola", "mrpc", "stsb", "rte", "avg"]
    single = floored[floored["row"] == "canonical single-task"].set_index("task")
    assert single["floor"].to_dict() == pytest.approx({**FLOORS, "avg": 29.6})
    assert single["at_floor"].to_dict() == {"cola": True, "mrpc": True, "stsb": True,
                                            "rte": False, "avg": True}
    multi = floored[floored["row"] == "canonical multi-task"].set_index("task")
    # 10.0 > 0 + 5 and 66 > 55 clear their floors; 71.6 <= 73.4 and 3.0 <= 5 do not
    assert multi["at_floor"].to_dict() == {"cola": False, "mrpc": True, "stsb": True,
                                           "rte": False, "avg": False}


def test_transfer_points_always_pct_only_above_the_floor(floored: pd.DataFrame) -> None:
    multi = floored[floored["row"] == "canonical multi-task"].set_index("task")
    assert multi["baseline"].to_dict() == pytest.approx({**SINGLE, "avg": 16.525})
    assert multi["transfer_points"].to_dict() == pytest.approx(
        {"cola": 74.5, "mrpc": 1.0, "stsb": 3.0, "rte": 6.0, "avg": 21.125})
    assert multi["baseline_at_floor"].to_dict() == {"cola": True, "mrpc": True, "stsb": True,
                                                    "rte": False, "avg": True}
    assert multi.loc["rte", "transfer_pct"] == pytest.approx(10.0)
    assert multi.drop(index="rte")["transfer_pct"].isna().all()
    single = floored[floored["row"] == "canonical single-task"]
    assert not single["baseline_at_floor"].any() and single["transfer_points"].isna().all()


def test_a_baseline_of_60_over_a_zero_floor_gives_both() -> None:
    runs = [r for r in floor_runs() if r[0].tasks in ("rte", "multi")]
    frame = build_table(TABLE1, runs, "glue", floors={"rte": 0.0})
    rte = at(frame, "canonical multi-task", "rte")
    assert (rte["transfer_points"], rte["transfer_pct"]) == (pytest.approx(6.0),
                                                             pytest.approx(10.0))


def test_every_format_flags_the_floor_and_says_why_no_pct(floored: pd.DataFrame,
                                                          tmp_path: Path) -> None:
    stem = tmp_path / "table1_glue"
    write_table(floored, stem, TABLE1, DEMO)
    md = stem.with_name("table1_glue.md").read_text(encoding="utf-8")
    rows = {line.split(" | ")[0][2:]: line for line in md.splitlines() if line.startswith("| c")}
    assert rows["canonical single-task"].startswith(
        "| canonical single-task | −64.5 ‡ [paper 36.20] | 70.6 ‡ [paper 80.80] | 0.0 ‡ ")
    assert ("| canonical multi-task | 10.0 (+74.5 pts; no %: baseline at floor) [paper 30.27] "
            "| 71.6 ‡ (+1.0 pts; no %: baseline at floor) [paper 82.60] "
            "| 3.0 ‡ (+3.0 pts; no %: baseline at floor) [paper 87.58] "
            "| 66.0 (+6.0 pts, +10.0%) [paper 64.98] ") in rows["canonical multi-task"]
    assert "‡ at floor = the mean is at most 5 points above the floor" in md
    assert "Floors: MRPC 68.4; RTE 50.0; 0 for CoLA, STS-B; Avg 29.6." in md
    assert f"[paper x] = paper ({NOT_COMPARABLE})" in md
    assert f"> **paper ({NOT_COMPARABLE}): this run uses generated data" in md

    html = stem.with_name("table1_glue.html").read_text(encoding="utf-8")
    assert ('<td class="num at-floor"><span class="line">3.0 <span class="flag" title="within 5 '
            'points of its floor 0.0">‡ at floor</span></span><span class="line transfer">+3.0 '
            'pts; no %: baseline at floor</span><span class="line paper">paper 87.58</span>'
            '</td>') in html
    assert ('<td class="num"><span class="line">66.0</span><span class="line transfer">+6.0 '
            'pts, +10.0%</span>') in html
    assert f"paper ({NOT_COMPARABLE})" in html and 'class="banner"' in html
    assert balanced(html)

    tex = stem.with_name("table1_glue.tex").read_text(encoding="utf-8")
    assert r"\shortstack{3.0 \ddag{}\\($+$3.0 pts; no \%: baseline at floor)" in tex
    assert r"\shortstack{$-$64.5 \ddag{}\\{\scriptsize [paper 36.20]}}" in tex
    assert r"($+$6.0 pts, $+$10.0\%)" in tex
    assert f"paper ({NOT_COMPARABLE})" in tex.split(r"\begin{tabular}")[0]


def test_provenance_in_title_and_caption(floored: pd.DataFrame, tmp_path: Path) -> None:
    write_table(floored, tmp_path / "t", TABLE1, DEMO)
    md = (tmp_path / "t.md").read_text(encoding="utf-8")
    heading = ("Table 1 — GLUE: single- vs. multi-task training in three architectures "
               "(demo preset, generated data, model small)")
    assert md.splitlines()[0] == f"# {heading}"
    assert DEMO.sentence() in md
    html = (tmp_path / "t.html").read_text(encoding="utf-8")
    assert f"<title>{heading}</title>" in html and f"<h2>{heading}</h2>" in html
    assert '<p class="provenance">demo preset. Data: generated GLUE-like data' in html
    tex = (tmp_path / "t.tex").read_text(encoding="utf-8")
    assert tex.startswith("% Table 1 — GLUE: single- vs. multi-task training")
    assert "(demo preset, generated" in tex.split(r"\begin{tabular}")[0]
    # a comparable run: a plain "paper" label and no banner
    write_table(floored, tmp_path / "r", TABLE1, REAL)
    real = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "(paper preset, real data, model small)" in real.splitlines()[0]
    assert NOT_COMPARABLE not in real and "[paper x] = paper: the paper's" in real
    assert 'class="banner"' not in (tmp_path / "r.html").read_text(encoding="utf-8")


class TagChecker(HTMLParser):
    """Collects the tags that close out of order or stay open."""

    VOID = frozenset({"meta", "br", "link", "img", "hr", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.wrong: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag) -> None:
        if self.open and self.open[-1] == tag:
            self.open.pop()
        else:
            self.wrong.append(tag)


def balanced(html: str) -> bool:
    checker = TagChecker()
    checker.feed(html)
    return not checker.open and not checker.wrong


def write_parquet(path: Path, frame: pd.DataFrame) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    return path


def test_write_table_files_reads_floors_from_the_test_files(tmp_path: Path) -> None:
    metrics = []
    for i, (_cell, values) in enumerate(floor_runs()):
        metrics.append(tmp_path / "runs" / f"{i}.json")
        metrics[-1].parent.mkdir(parents=True, exist_ok=True)
        metrics[-1].write_text(json.dumps(values), encoding="utf-8")
    data = tmp_path / "data" / "glue"
    tests = [write_parquet(data / "mrpc" / "test.parquet", pd.DataFrame({"label": [1, 1, 0, 1]})),
             write_parquet(data / "rte" / "test.parquet", pd.DataFrame({"label": [0, 1]})),
             write_parquet(data / "cola" / "test.parquet", pd.DataFrame({"label": [0, 1, 1]}))]
    stem = tmp_path / "tables" / "table1_glue"
    stem.parent.mkdir()
    write_table_files(1, "glue", "small", metrics, stem, DEMO, tests)
    frame = pd.read_csv(stem.with_name("table1_glue.csv"))
    single = frame[frame["row"] == "canonical single-task"].set_index("task")
    # mrpc 3 of 4 = 75.0; rte 1 of 2 = 50.0; cola MCC and stsb (no file) 0
    assert single["floor"].to_dict() == pytest.approx(
        {"cola": 0.0, "mrpc": 75.0, "stsb": 0.0, "rte": 50.0, "avg": 31.25})
    assert bool(single.loc["mrpc", "at_floor"])  # 70.6 <= 80
    multi = frame[frame["row"] == "canonical multi-task"].set_index("task")
    assert math.isnan(multi.loc["mrpc", "transfer_pct"])
    assert multi.loc["rte", "transfer_pct"] == pytest.approx(10.0)
    md = stem.with_name("table1_glue.md").read_text(encoding="utf-8")
    assert "(demo preset, generated data, model small)" in md.splitlines()[0]


def test_comparison_page(frame: pd.DataFrame, floored: pd.DataFrame, tmp_path: Path) -> None:
    write_table(frame, tmp_path / "table1_glue")
    write_table(floored, tmp_path / "table4_glue")
    csvs = [tmp_path / "table1_glue.csv", tmp_path / "table4_glue.csv"]
    cmp = comparison(csvs)
    cola = cmp[(cmp["table"] == "table1_glue") & (cmp["row"] == "canonical single-task")
               & (cmp["task"] == "cola")].iloc[0]
    assert (cola["ours"], cola["paper"]) == (45.0, pytest.approx(36.20))
    assert cola["difference"] == pytest.approx(8.8)
    md_path, html_path = tmp_path / "cmp.md", tmp_path / "cmp.html"
    write_comparison(csvs, md_path, DEMO, html_path)
    md = md_path.read_text(encoding="utf-8")
    assert md.splitlines()[2].startswith(f"> **paper ({NOT_COMPARABLE})")  # a top banner
    assert "## Table 1 — GLUE: single- vs. multi-task" in md and "## Table 4 — GLUE" in md
    assert (f"| row | task | ours | paper ({NOT_COMPARABLE}) | difference (points) |") in md
    assert "| canonical single-task | CoLA | 45.0 | 36.20 | +8.8 |" in md
    # the second file (Table 1's rows under another name) has a CoLA at its floor
    assert "| canonical single-task | CoLA | −64.5 ‡ |" in md
    html = html_path.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and "<style>" in html
    assert '<p class="banner">' in html and "<h3>Table 1 — GLUE: single" in html
    assert balanced(html)
    assert f"<th>paper ({NOT_COMPARABLE})</th><th>difference (points)</th>" in html
    assert ('<tr><th scope="row">canonical single-task</th><td>CoLA</td><td class="num">45.0'
            '</td><td class="num">36.20</td><td class="num">+8.8</td></tr>') in html
    write_comparison(csvs, md_path, REAL, html_path)  # comparable: no banner
    assert 'class="banner"' not in html_path.read_text(encoding="utf-8")
    assert NOT_COMPARABLE not in md_path.read_text(encoding="utf-8")
