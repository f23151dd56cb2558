"""The whole workflow on the smoke preset, run by Snakemake in a temporary directory."""

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from report_browser import check_report, requires_chromium
from transformers import AutoTokenizer, T5ForConditionalGeneration
from workflow_helpers import copy_workflow, planned_jobs, snakemake

from taskconflict import registry
from taskconflict.config import PretrainConfig
from taskconflict.pretrain import span_corruption_eval

pytestmark = pytest.mark.workflow
SMOKE_TASKS = ("cola", "stsb", "mnli", "rte")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> Path:
    workdir = copy_workflow(tmp_path_factory.mktemp("smoke"))
    result = snakemake(workdir, "all", "--config", "preset=smoke")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return workdir


def test_data_and_rendered_prompts_for_every_task(smoke):
    results = smoke / "results" / "smoke"
    for name in SMOKE_TASKS:
        task = registry.get_task(name)
        for split in task.splits:
            data = pd.read_parquet(results / "data" / "glue" / name / f"{split}.parquet")
            assert len(data) > 0 and list(data.columns) == ["idx", *task.fields, "label"]
            for style in ("default", "null", "diverse"):
                rendered = pd.read_parquet(
                    results / "rendered" / "glue" / name / f"{style}-default" / f"{split}.parquet"
                )
                assert len(rendered) == len(data)
                assert rendered["source"].str.startswith(f"{name} ").all() == (
                    style == "default"
                )
            if task.kind == registry.CLASSIFICATION:  # letters, as Figure 4 asks
                distinct = pd.read_parquet(results / "rendered" / "glue" / name
                                           / "default-distinct" / f"{split}.parquet")
                assert distinct["target"].str.fullmatch("[a-z]").all()
    assert (results / "logs" / "prepare_data" / "glue" / "mnli.log").exists()


def test_second_run_has_nothing_to_do(smoke):
    result = snakemake(smoke, "-n", "all", "--config", "preset=smoke")
    assert result.returncode == 0, result.stderr
    assert planned_jobs(result.stdout) == {}
    assert "Nothing to be done" in result.stdout + result.stderr


def test_changing_one_tasks_data_reruns_only_what_depends_on_it(smoke):
    overrides = {"presets": {"smoke": {"data": {"overrides": {"rte": {"train_size": 100}}}}}}
    result = snakemake(smoke, "-n", "all", "--config", "preset=smoke", overrides=overrides)
    assert result.returncode == 0, result.stderr
    # RTE's data and its 5 renderings (default, null, diverse prompts; overlapping, distinct
    # letters). Cells with RTE, per seed (2): Table 1's 2 single-task (the text-to-text one,
    # with null prompts, is Table 2's too) + 3 multi-task, Table 2's null and diverse
    # multi-task, Figure 4's 2 letter spaces, Table 3's 2 re-initialised decoders = 11;
    # Table 4 (1 seed): 2 single-task + 2 multi-task = 4; Table 5's UPGrad cells (canonical
    # and text-to-text) = 4. Then GLUE's 5 tables, 5 figures, the cosines of its 11 x 2 + 2
    # multi-task cells, the comparison, the transfer analysis and the noise scales.
    assert planned_jobs(result.stdout) == {
        "prepare_data": 1, "render_prompts": 5, "train": 30, "table": 5, "figure": 5,
        "cosines": 24, "comparison": 1, "transfer": 1, "noise": 1, "all": 1,
    }
    assert "wildcards: benchmark=glue, task=rte" in result.stdout
    assert "tasks=rte" in result.stdout and "tasks=cola" not in result.stdout


def test_pretraining_loss_falls(smoke):
    for size in ("small", "base"):  # base: Table 4's
        folder = smoke / "results" / "smoke" / "models" / size
        log = pd.read_parquet(folder / "pretrain_log.parquet")
        losses = log["loss"].dropna().to_numpy()
        assert len(losses) >= 10
        assert losses[-3:].mean() < 0.8 * losses[:3].mean(), size


def test_checkpoint_loads_like_a_hub_model_and_knows_the_prompts(smoke):
    folder = smoke / "results" / "smoke" / "models" / "small"
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = T5ForConditionalGeneration.from_pretrained(folder)
    assert model.config.feed_forward_proj == "gated-gelu"
    assert model.config.dropout_rate == 0.0
    assert model.get_input_embeddings().num_embeddings >= len(tokenizer)
    for style in ("default-default", "diverse-default", "default-distinct"):
        rendered = pd.read_parquet(smoke / "results" / "smoke" / "rendered" / "glue" / "mnli"
                                   / style / "train.parquet")
        for text in list(rendered["source"][:20]) + list(rendered["target"][:20]):
            ids = tokenizer(text).input_ids
            assert tokenizer.unk_token_id not in ids, text
            assert tokenizer.decode(ids, skip_special_tokens=True) == text
    for letter in "abcdefghijklmnopqrstuvwxyz":  # a letter label is one decision token
        assert len(tokenizer(letter, add_special_tokens=False).input_ids) == 1, letter


def test_pretrained_checkpoint_reconstructs_spans_better_than_fresh_init(smoke):
    results = smoke / "results" / "smoke"
    folder = results / "models" / "small"
    tokenizer = AutoTokenizer.from_pretrained(folder)
    pretrained = T5ForConditionalGeneration.from_pretrained(folder)
    torch.manual_seed(0)
    fresh = T5ForConditionalGeneration(pretrained.config)
    heldout = (results / "corpus" / "heldout.txt").read_text().splitlines()
    cfg = PretrainConfig(input_length=48)
    ours = span_corruption_eval(pretrained, tokenizer, heldout, cfg, seed=1)
    base = span_corruption_eval(fresh, tokenizer, heldout, cfg, seed=1)
    assert ours["loss"] < base["loss"] - 1.0
    assert ours["accuracy"] > base["accuracy"] + 0.1


def test_every_cell_is_trained_and_evaluated(smoke):
    runs = smoke / "results" / "smoke" / "runs" / "glue" / "small"
    metrics = sorted(runs.glob("*/*/*/seed*/metrics.json"))
    # per seed: Table 1's 4 + 1 + 4 + 1 + 1, Table 2's 2 (its null-prompt single-task cells
    # are Table 1's), Figure 4's 2, Table 3's 2, Table 5's UPGrad 2 (its sum cells are Table 1's)
    assert len(metrics) == 19 * 2
    multi = json.loads((runs / "text-to-text" / "multi" / "default-default-pretrained-sum"
                        / "seed1" / "metrics.json").read_text())
    assert set(multi["tasks"]) == set(SMOKE_TASKS)
    assert multi["tasks"]["mnli"]["test_mismatched"]["examples"] == 60
    conflict = pd.read_parquet(runs / "canonical" / "multi" / "null-default-pretrained-sum"
                               / "seed0" / "conflict.parquet")
    assert sorted(conflict["step"].unique()) == [0, 20, 40]
    assert len(conflict) == 3 * 16 and set(conflict["part"]) == {"encoder"}


def test_table1_and_figure2_are_written(smoke):
    results = smoke / "results" / "smoke"
    table = pd.read_csv(results / "tables" / "table1_glue.csv")
    assert list(table["row"].unique()) == [
        "canonical single-task", "canonical multi-task", "text-to-text single-task",
        "text-to-text-id multi-task", "text-to-text multi-task",
    ]
    assert set(table["task"]) == {*SMOKE_TASKS, "mnli_mismatched", "avg"}
    assert (table["seeds"] == 2).all()
    assert table.loc[table["task"] != "avg", "paper"].notna().all()
    markdown = (results / "tables" / "table1_glue.md").read_text()
    assert "| text-to-text-id multi-task |" in markdown and " ± " in markdown
    assert "\\begin{tabular}" in (results / "tables" / "table1_glue.tex").read_text()
    for ext in ("png", "pdf"):  # Figure 2 sets both benchmarks side by side, as the paper
        assert (results / "figures" / f"figure2_glue-decanlp.{ext}").stat().st_size > 10_000


DECANLP = ("sst", "mnli_deca", "iwslt", "cnn_dm", "wikisql", "squad", "srl", "zre", "winograd")


def test_decanlp_half_runs_every_head_and_metric(smoke):
    results = smoke / "results" / "smoke"
    runs = results / "runs" / "decanlp" / "small"
    canonical = json.loads((runs / "canonical" / "multi" / "null-default-pretrained-sum" / "seed0"
                            / "metrics.json").read_text())["tasks"]
    text = json.loads((runs / "text-to-text" / "multi" / "default-default-pretrained-sum" / "seed0"
                       / "metrics.json").read_text())["tasks"]
    for tasks in (canonical, text):
        assert set(tasks) == set(DECANLP)
        for name in DECANLP:
            test = tasks[name]["test"]
            assert set(registry.get_task(name).metrics) <= set(test), name
            assert test["examples"] == 60
        for span_task in ("squad", "srl", "zre", "winograd"):
            assert tasks[span_task]["test"]["answers_not_in_input"] == 0
    table = pd.read_csv(results / "tables" / "table1_decanlp.csv")
    assert set(table["task"]) == {*DECANLP, "avg"}
    assert table.loc[table["task"] == "cnn_dm", "paper"].notna().all()  # paper's cnn_dailymail
    assert not (results / "figures" / "figure2_decanlp.png").exists()  # in figure2_glue-decanlp


def test_tables_2_to_4_figures_3_to_5_cosines_and_the_comparison(smoke):
    results = smoke / "results" / "smoke"
    table2 = pd.read_csv(results / "tables" / "table2_glue.csv")
    assert list(table2["row"].unique()) == [
        "text-to-text single-task null prompts", "text-to-text multi-task null prompts",
        "text-to-text multi-task default prompts", "text-to-text multi-task diverse prompts"]
    assert (table2["seeds"] == 2).all() and table2["paper"].notna().all()
    for benchmark in ("glue", "decanlp"):
        table3 = pd.read_csv(results / "tables" / f"table3_{benchmark}.csv")
        assert (table3["seeds"] == 2).all(), benchmark
        assert "re-init decoder" in " ".join(table3["row"])
    table4 = pd.read_csv(results / "tables" / "table4_glue.csv")
    assert (table4["seeds"] == 1).all()  # the smoke preset's Table 4 seed count
    assert "Model: base: T5 v1.1-style 64-d" in (results / "tables" / "table4_glue.md").read_text()
    for name in ("figure3_glue", "figure4_glue", "figure5_glue",
                 "figure5_decanlp"):
        assert (results / "figures" / f"{name}.png").stat().st_size > 10_000, name
    decoder = pd.read_parquet(results / "runs" / "glue" / "small" / "text-to-text" / "multi"
                              / "default-distinct-pretrained-sum" / "seed0" / "conflict.parquet")
    assert set(decoder["part"]) == {"encoder", "decoder"}  # Figure 4 measures the decoder
    cosines = sorted((results / "figures" / "cosines").rglob("*.png"))
    assert len(cosines) == 34  # every multi-task cell of both benchmarks
    comparison = (results / "tables" / "paper_comparison.md").read_text()
    assert "## Table 4 — GLUE" in comparison and "| difference (points) |" in comparison
    page = (results / "tables" / "paper_comparison.html").read_text()  # the report's view
    assert "<h3>Table 4 — GLUE: model size: the larger model</h3>" in page
    assert "<th>difference (points)</th>" in page and "for layout only: not comparable" in page


def test_table5_figure6_the_noise_scales_and_the_transfer_analysis(smoke):
    """Beyond the paper: the smoke preset runs UPGrad beside the paper's sum on GLUE."""
    results = smoke / "results" / "smoke"
    table5 = pd.read_csv(results / "tables" / "table5_glue.csv")
    assert list(table5["row"].unique()) == [
        "canonical single-task", "canonical multi-task sum", "canonical multi-task UPGrad",
        "text-to-text single-task", "text-to-text multi-task sum",
        "text-to-text multi-task UPGrad"]
    assert (table5["seeds"] == 2).all() and table5["paper"].isna().all()
    table1 = pd.read_csv(results / "tables" / "table1_glue.csv")
    same = table1[table1["row"] == "canonical multi-task"].set_index("task")["mean"]
    pd.testing.assert_series_equal(  # the sum cells are Table 1's, trained once
        table5[table5["row"] == "canonical multi-task sum"].set_index("task")["mean"], same)
    assert table5["transfer_pct"].notna().sum() > 0
    assert (results / "figures" / "figure6_glue.png").stat().st_size > 10_000
    upgrad = results / "runs" / "glue" / "small" / "text-to-text" / "multi" / (
        "default-default-pretrained-upgrad") / "seed0"
    norms = pd.read_parquet(upgrad / "probe_norms.parquet")
    assert set(norms["task"]) == set(SMOKE_TASKS) and (norms["sq_norm"] > 0).all()
    noise = pd.read_csv(results / "analysis" / "noise.csv")
    assert noise["cell"].nunique() == 34  # every multi-task cell, a row per task and part
    assert noise.groupby("cell").size().min() >= len(SMOKE_TASKS)
    assert noise["noise_scale"].notna().any()
    points = pd.read_csv(results / "analysis" / "transfer.csv")
    assert points["cell"].nunique() >= 20 and set(points["architecture"]) >= {
        "canonical", "text-to-text"}
    text = (results / "analysis" / "transfer.md").read_text()
    assert "relation" in text or "no estimate" in text


@pytest.fixture(scope="module")
def smoke_report(smoke) -> Path:
    report = smoke / "report.html"
    result = snakemake(smoke, "--report", str(report), "--config", "preset=smoke")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return report


def test_report_is_one_html_file_with_every_table_and_figure(smoke_report):
    html = smoke_report.read_text(encoding="utf-8", errors="replace")
    for name in ("table1_glue.html", "table4_glue.html", "figure5_decanlp.png",
                 "figure2_glue-decanlp.png", "paper_comparison.html", "table5_glue.html",
                 "figure6_glue.png", "transfer.html", "transfer.png", "noise.html"):
        assert name in html, name
    assert "Model: base: T5 v1.1-style 64-d" in html  # Table 4's caption says what was run


@requires_chromium
def test_every_report_entry_renders_in_a_real_browser(smoke_report, tmp_path):
    """Headless Chromium walks the report as a reader does: every entry of every category
    shows an image or a table (none only downloads), its labels are words, no console error;
    the home page and every caption say the data were generated."""
    check = check_report(smoke_report, tmp_path / "screenshots")
    assert check.ok, check.summary()
    counts = check.counts()
    assert set(counts) == {"Tables", "Figures", "Task-gradient cosines",
                           "This run vs. the paper", "Beyond the paper"}, counts
    results = smoke_report.parent / "results" / "smoke"
    marked = [*(results / "tables").glob("table*.html"), *(results / "figures").glob("*.png"),
              *(results / "figures" / "cosines").rglob("*.png"), *(results / "analysis").glob(
                  "*.html"), results / "analysis" / "transfer.png",
              results / "tables" / "paper_comparison.html"]
    assert len(check.entries) == len(marked) == 7 + 6 + 34 + 3 + 1, sorted(map(str, marked))
    assert {e.kind for e in check.entries} == {"image", "html"}
    assert "generated GLUE-like data (made by the workflow, not the real GLUE)" in (
        check.home_text)
    assert "for layout only: not comparable" in check.home_text
    for entry in check.entries:
        assert "generated GLUE-like data" in entry.caption or (
            "generated DecaNLP-like data" in entry.caption), (entry.path, entry.caption)
    tables = [e for e in check.entries if e.category == "Tables"]
    assert all(e.rows >= 4 for e in tables), [(e.name, e.rows) for e in tables]
    figure2 = next(e for e in check.entries if e.name == "figure2_glue-decanlp.png")
    assert figure2.labels == {"figure": "Figure 2: encoder conflict per architecture",
                              "benchmark": "GLUE and DecaNLP"}
