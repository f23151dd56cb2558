"""Configuration: schema validation and the typed config, failing early with the key named."""

import copy
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate
from workflow_helpers import ROOT, copy_workflow, planned_jobs, snakemake

from taskconflict.config import ConfigError, TaskDataConfig, from_json, load_config, to_json

SCHEMA = str(ROOT / "workflow" / "schemas" / "config.schema.yaml")


def validated(raw):
    """As the Snakefile does: the JSON schema, then load (defaults come from the typed config)."""
    raw = copy.deepcopy(raw)
    validate(raw, SCHEMA)
    return raw


@pytest.fixture(scope="module")
def raw():
    return validated(yaml.safe_load((ROOT / "config.yaml").read_text()))


def test_every_preset_loads(raw):
    for name in ("smoke", "demo", "paper"):
        cfg = load_config(validated({**raw, "preset": name}))
        assert cfg.preset.name == name
        assert cfg.results == f"results/{name}"
    demo = load_config(raw)
    assert demo.preset.name == "demo"
    # every table and figure; Table 3 on GLUE only
    assert list(demo.experiments) == ["table1", "table2", "figure4", "table3", "table4",
                                      "table5"]
    assert demo.experiments["table3"].benchmarks == ("glue",)
    smoke = load_config(validated({**raw, "preset": "smoke"}))
    assert list(smoke.experiments) == ["table1", "table2", "figure4", "table3", "table4",
                                       "table5"]
    # a preset's selection keeps a few of an experiment's levels
    table5 = demo.experiments["table5"]
    assert table5.benchmarks == ("glue",)
    assert [run.levels["aggregator"] for run in table5.runs] == [("sum", "pcgrad", "upgrad")] * 2
    assert demo.preset.data.task_names == (*benchmark("glue"), *benchmark("decanlp"))
    assert demo.preset.models["base"].shape.d_model > demo.preset.models["small"].shape.d_model
    paper = load_config(validated({**raw, "preset": "paper"}))
    assert paper.preset.models["small"].checkpoint == "google/t5-v1_1-small"
    assert not paper.preset.generated
    # the paper's code: cosine schedule with 500 warm-up steps, conflict over the encoder
    # blocks without layer norms, decoder.init_weights() (blocks only) for the re-init rows
    train = paper.preset.train
    assert (train.schedule, train.warmup_steps) == ("cosine", 500)
    assert (train.conflict_parameters, train.decoder_reinit) == ("blocks-without-norms", "blocks")


def test_canonical_runs_read_the_bare_input_unless_told_otherwise(raw):
    """The paper's canonical runs use the bare input ('{}', '{} {}'); text-to-text T5's
    prefixes. An explicit `prompts` still wins."""
    from taskconflict.grid import all_cells

    cells = all_cells(load_config(raw)).values()
    canonical = {c.prompts for c in cells if c.architecture == "canonical"}
    t2t_multi = {c.prompts for c in cells
                 if c.architecture == "text-to-text-id" and c.multi_task}
    assert canonical == {"null"} and t2t_multi == {"default"}
    raw["experiments"]["table1"]["runs"][0]["prompts"] = ["default"]
    table1 = load_config(validated(raw)).experiments["table1"]
    assert table1.runs[0].levels["prompts"] == ("default",)
    assert table1.runs[1].levels["prompts"] == ("null",)


def benchmark(name):
    from taskconflict.registry import BENCHMARKS

    return BENCHMARKS[name]


def test_per_task_overrides_apply_to_that_task_only(raw):
    data = load_config(raw).preset.data
    assert data.for_task("rte").train_size == 800
    assert data.for_task("cola").train_size == 3000
    assert data.for_task("rte").seed == data.for_task("cola").seed


def test_job_parameters_round_trip_through_json(raw):
    task = load_config(raw).preset.data.for_task("mnli")
    assert from_json(TaskDataConfig, to_json(task)) == task


def test_a_preset_can_run_an_experiment_on_some_of_its_benchmarks(raw):
    some = copy.deepcopy(raw)
    some["presets"]["demo"]["experiments"] = ["table1", {"table3": ["glue"]}]
    demo = load_config(some).experiments
    assert demo["table3"].benchmarks == ("glue",)
    assert demo["table1"].benchmarks == ("glue", "decanlp")
    smoke = load_config({**raw, "preset": "smoke"}).experiments
    assert smoke["table3"].benchmarks == ("glue", "decanlp")


def test_experiments_expand_factor_lists(raw):
    table2 = load_config({**raw, "preset": "smoke"}).experiments["table2"]
    assert table2.runs[1].levels["prompts"] == ("null", "default", "diverse")
    assert table2.runs[0].levels["output_space"] == ("default",)  # the factor's default
    figure4 = load_config({**raw, "preset": "smoke"}).experiments["figure4"]
    assert figure4.runs[0].levels["output_space"] == ("default", "overlapping", "distinct")


@pytest.mark.parametrize(
    "mutate, key",
    [
        (lambda c: c["presets"]["demo"]["data"]["tasks"]["glue"].append("colaa"),
         "presets.demo.data.tasks.glue[8]"),
        (lambda c: c["presets"]["demo"]["data"]["overrides"].update({"boolq": {}}),
         "presets.demo.data.overrides.boolq"),
        (lambda c: c["experiments"]["table1"].update(model="huge"), "experiments.table1.model"),
        (lambda c: c["presets"]["demo"].update(experiments=["table1", "table9"]),
         "presets.demo.experiments[1]"),
        (lambda c: c["experiments"]["table4"].update(seeds="many"), "experiments.table4.seeds"),
        (lambda c: c["presets"]["demo"].update(experiments=["table1", {"table2": ["decanlp"]}]),
         "presets.demo.experiments[1].table2: decanlp is not a benchmark"),
    ],
)
def test_references_the_schema_cannot_check_name_the_key(raw, mutate, key):
    bad = copy.deepcopy(raw)
    mutate(bad)
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        load_config(bad)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return copy_workflow(tmp_path_factory.mktemp("config"))


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ({"presets": {"demo": {"data": {"tasks": {"glue": ["cola", "colaa"]}}}}},
         "presets.demo.data.tasks.glue[1]: unknown task 'colaa'"),
        ({"presets": {"demo": {"pretrain": {"steps": -5}}}},
         "On instance['presets']['demo']['pretrain']['steps']"),
        ({"preset": "huge"}, "On instance['preset']"),
        ({"experiments": {"table1": {"runs": [{"architecture": "rnn", "mode": "multi-task"}]}}},
         "On instance['experiments']['table1']['runs'][0]['architecture']"),
        ({"presets": {"demo": {"data": {"train_size": "many"}}}},
         "On instance['presets']['demo']['data']['train_size']"),
    ],
)
def test_bad_config_stops_snakemake_before_any_job(workdir, overrides, expected):
    result = snakemake(workdir, "all", overrides=overrides)
    assert result.returncode != 0
    assert expected in result.stderr + result.stdout
    assert not (workdir / "results").exists()


def test_preset_switch_on_the_command_line(workdir):
    result = snakemake(workdir, "-n", "all", "--config", "preset=smoke")
    assert result.returncode == 0, result.stderr
    jobs = planned_jobs(result.stdout)
    assert jobs["pretrain"] == 2
    # the four GLUE and nine DecaNLP tasks of the smoke preset
    assert jobs["prepare_data"] + jobs["prepare_data_with_test_mismatched"] == 4 + 9
    assert "results/smoke/" in result.stdout and "results/demo/" not in result.stdout


@pytest.mark.parametrize("key, value", [
    ("schedule", "step"), ("conflict_parameters", "all"), ("decoder_reinit", "half"),
    ("warmup_steps", -1),
])
def test_schema_rejects_an_unknown_recipe_choice(raw, key, value):
    bad = copy.deepcopy(raw)
    bad["presets"]["demo"]["train"][key] = value
    with pytest.raises(Exception, match=key):
        validated(bad)
