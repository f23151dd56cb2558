"""Real-data sources: where each task and checkpoint comes from, the cache stage that fetches
them once, and the messages when one cannot be read."""

import copy
import json

import pandas as pd
import pytest
import torch
import yaml
from snakemake.utils import validate
from transformers import AutoTokenizer, T5Config, T5ForConditionalGeneration
from workflow_helpers import ROOT, copy_workflow, planned_jobs, snakemake

from taskconflict.cache import ModelSource, SourceError, cache_sources, is_local_checkpoint
from taskconflict.config import ConfigError, TaskDataConfig, load_config
from taskconflict.grid import Cell
from taskconflict.models import load_model

SCHEMA = str(ROOT / "workflow" / "schemas" / "config.schema.yaml")


def paper(**data):
    """The paper preset with its data block updated."""
    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    raw["preset"] = "paper"
    raw["presets"]["paper"]["data"].update(data)
    raw = copy.deepcopy(raw)
    validate(raw, SCHEMA)
    return raw


def test_each_task_reads_its_own_source():
    data = load_config(paper()).preset.data
    assert data.for_task("cola").source == "hub"
    assert data.for_task("cola").location == "nyu-mll/glue"
    assert data.for_task("squad").location == "rajpurkar/squad"
    iwslt = data.for_task("iwslt")  # the hub has only a loading script
    assert (iwslt.source, iwslt.location) == ("local", "data/decanlp")
    mirrored = load_config(paper(hub={"squad": "me/squad-copy"})).preset.data
    assert mirrored.for_task("squad").location == "me/squad-copy"


def test_a_source_that_cannot_serve_a_task_is_a_config_error():
    with pytest.raises(ConfigError, match=r"data.sources.iwslt: the hub has no parquet copy"):
        load_config(paper(sources={"iwslt": "hub"}))
    with pytest.raises(ConfigError, match=r"data.local.glue names no directory"):
        load_config(paper(source="local", local={"decanlp": "d"}))
    with pytest.raises(ConfigError, match=r"data.sources.nope: not a task of this preset"):
        load_config(paper(sources={"nope": "hub"}))


def test_resources_depend_on_model_size_and_mode():
    resources = load_config(paper()).preset.resources
    small_single = resources.for_job("small", multi_task=False)
    base_multi = resources.for_job("base", multi_task=True)
    assert small_single["gpu"] == base_multi["gpu"] == 1
    assert base_multi["mem_mb"] > small_single["mem_mb"]
    assert base_multi["runtime"] > resources.for_job("base", False)["runtime"]
    assert base_multi["runtime"] > resources.for_job("small", True)["runtime"]


def test_hub_ids_and_folders_are_told_apart(tmp_path):
    assert not is_local_checkpoint("google/t5-v1_1-small")
    assert is_local_checkpoint(str(tmp_path))
    assert is_local_checkpoint("./models/t5")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, toy_tokenizer_dir):
    """A tiny T5 checkpoint folder as save_pretrained writes it (google/t5-v1_1 style)."""
    folder = tmp_path_factory.mktemp("checkpoint")
    tokenizer = AutoTokenizer.from_pretrained(toy_tokenizer_dir)
    config = T5Config(vocab_size=len(tokenizer), d_model=16, d_ff=32, d_kv=8, num_heads=2,
                      num_layers=1, feed_forward_proj="gated-gelu", dropout_rate=0.1,
                      decoder_start_token_id=0)
    torch.manual_seed(0)
    T5ForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_a_local_checkpoint_is_used_in_place_with_the_recipes_dropout(checkpoint, tmp_path):
    cache_sources([], [ModelSource("small", str(checkpoint))], tmp_path)
    manifest = json.loads((tmp_path / "models" / "small" / "manifest.json").read_text())
    assert manifest == {"size": "small", "source": "local",
                        "location": str(checkpoint.resolve())}
    model = load_model(Cell("glue", "small", "text-to-text", "cola"), manifest["location"],
                       ["cola"])
    assert model.t5.config.dropout_rate == 0.0  # the checkpoint says 0.1; the paper uses 0


def test_every_unreadable_source_is_named_at_once(tmp_path, monkeypatch):
    """A missing local directory, an unreachable hub dataset and an unreachable hub
    checkpoint: one error that names each and how to provide it, and no manifest."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # as on a compute node: the hub is unreachable
    datasets = [
        TaskDataConfig("cola", "local", 0, 1, 1, 0.05, 0.0, location=str(tmp_path / "nope")),
        TaskDataConfig("squad", "hub", 0, 1, 1, 0.05, 0.0, location="rajpurkar/squad"),
    ]
    models = [ModelSource("small", "google/t5-v1_1-small")]
    with pytest.raises(SourceError) as error:
        cache_sources(datasets, models, tmp_path / "cache", preset="paper")
    message = str(error.value)
    assert message.startswith("3 source(s) cannot be read; nothing was trained")
    assert f"glue/cola: the local directory {tmp_path / 'nope'}" in message
    assert "presets.paper.data.local.glue" in message and "download_glue_data.py" in message
    assert "decanlp/squad: the hub dataset rajpurkar/squad cannot be fetched" in message
    assert "presets.paper.data.sources.squad: local" in message
    assert "model small: the hub checkpoint google/t5-v1_1-small cannot be fetched" in message
    assert "presets.paper.models.small.checkpoint" in message
    assert not list((tmp_path / "cache").rglob("manifest.json"))


def test_a_folder_without_config_is_not_a_checkpoint(tmp_path):
    with pytest.raises(SourceError, match=r"model base: .* is not a checkpoint folder"):
        cache_sources([], [ModelSource("base", str(tmp_path))], tmp_path / "cache")


def test_paper_dry_run_lists_the_whole_grid_offline(tmp_path):
    """`snakemake -n --config preset=paper` needs neither the hub nor the data: one cache job,
    a prepare job per task, and a training job per cell of the grid."""
    from taskconflict.grid import all_cells

    workdir = copy_workflow(tmp_path / "wf")
    run = snakemake(workdir, "-n", "all", "--config", "preset=paper")
    assert run.returncode == 0, run.stderr[-3000:]
    jobs = planned_jobs(run.stdout)
    cfg = load_config(paper())
    cells = [c for c in all_cells(cfg).values() if c.benchmark in cfg.preset.data.tasks]
    assert jobs["cache"] == 1
    assert jobs["train"] == len(cells) > 200
    assert sum(n for rule, n in jobs.items() if rule.startswith("prepare_data")) == 17
    assert jobs["table"] == 8 and jobs["comparison"] == 1  # Tables 1-4 and 5 (both benchmarks)
    # beyond the paper: Table 5's aggregators on both benchmarks and architectures, Figure 6,
    # the noise scales and the transfer analysis
    table5 = [c for c in cells if c.variant.endswith(("-pcgrad", "-upgrad", "-mgda"))]
    assert len(table5) == 2 * 2 * 3 * cfg.preset.seeds["default"]
    # Figures 3-6 per benchmark they run on, Figure 2 one file for both
    assert jobs["figure"] == 7 and jobs["transfer"] == jobs["noise"] == 1


def test_a_missing_glue_directory_stops_the_run_before_any_data_with_one_message(tmp_path):
    workdir = copy_workflow(tmp_path / "wf")
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    data = config["presets"]["paper"]["data"]
    data["source"] = "local"
    data["local"] = {"glue": str(tmp_path / "no_glue_here"), "decanlp": str(tmp_path / "deca")}
    (tmp_path / "deca").mkdir()
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    done = workdir / "results" / "paper" / "tables" / "table1_glue.md"  # an earlier result
    done.parent.mkdir(parents=True)
    done.write_text("computed earlier\n")
    before = done.stat().st_mtime_ns
    run = snakemake(workdir, "all", "--config", "preset=paper")
    assert run.returncode != 0
    output = run.stdout + run.stderr
    assert "source(s) cannot be read; nothing was trained" in output
    assert f"glue/cola: the local directory {tmp_path / 'no_glue_here'}" in output
    assert "presets.paper.data.local.glue" in output
    assert "model small: the hub checkpoint google/t5-v1_1-small cannot be fetched" in output
    assert not (workdir / "results" / "paper" / "data").exists()
    assert not (workdir / "results" / "paper" / "runs").exists()
    assert done.read_text() == "computed earlier\n" and done.stat().st_mtime_ns == before


@pytest.mark.parametrize("source", ["local", "hub"])
def test_prepare_stage_reads_every_glue_task_from_real_files(tmp_path, source):
    """The data stage as the workflow calls it, on GLUE's TSV layout (source local) and on a
    copy of the hub dataset (source hub, the cache stage's folder)."""
    from test_glue_real import cache_hub, write_hub, write_tsv

    from taskconflict import registry
    from taskconflict.cli import main
    from taskconflict.config import to_json

    directory = write_tsv(tmp_path / "glue")
    cached = cache_hub(write_hub(tmp_path / "hub"), tmp_path / "cache") if source == "hub" else {}
    for task in registry.BENCHMARKS["glue"]:
        cfg = TaskDataConfig(task, source, 3, 1, 1, 0.2, 0.0,
                             location=str(directory) if source == "local" else "nyu-mll/glue")
        out = tmp_path / "data" / source / task
        main(["prepare-data", "--config", to_json(cfg), "--out", str(out),
              *(["--source-dir", str(cached[task])] if source == "hub" else [])])
        spec = registry.get_task(task)
        frames = {s: pd.read_parquet(out / f"{s}.parquet") for s in spec.splits}
        assert list(frames["test"].columns) == ["idx", *spec.fields, "label"]
        assert len(frames["validation"]) >= 1 and len(frames["train"]) > len(frames["test"])


def test_paper_style_run_on_local_glue_files_and_a_local_checkpoint(tmp_path, checkpoint):
    """The real-data path end to end, offline: the cache stage checks the local GLUE folder
    and checkpoint, the data stage reads the TSV files, cells train on the checkpoint with
    the hub switched off, and Table 1 is written."""
    from test_glue_real import write_tsv

    workdir = copy_workflow(tmp_path / "wf")
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["presets"]["paper"] = {
        "experiments": ["table1"],
        "seeds": {"default": 1, "table4": 1},
        "data": {"source": "local", "seed": 0, "tasks": {"glue": ["cola", "rte"]},
                 "local": {"glue": str(write_tsv(tmp_path / "glue_data"))},
                 "validation_fraction": 0.2},
        "train": {"steps": 4, "batch_size": 4, "max_input_length": 32, "log_every": 2,
                  "conflict_every": 2, "conflict_batches": 1, "conflict_batch_size": 4},
        "models": {"small": {"checkpoint": str(checkpoint)},
                   "base": {"checkpoint": str(checkpoint)}},  # Table 4's, not run here
    }
    config["experiments"]["table1"]["benchmarks"] = ["glue"]
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    run = snakemake(workdir, "all", "--config", "preset=paper")
    assert run.returncode == 0, run.stderr[-3000:]
    results = workdir / "results" / "paper"
    manifest = json.loads((results / "cache" / "datasets" / "cola" / "manifest.json").read_text())
    assert manifest["source"] == "local"
    assert len(pd.read_parquet(results / "data" / "glue" / "rte" / "test.parquet")) == 5
    table = (results / "tables" / "table1_glue.md").read_text()
    assert "canonical single-task" in table and "text-to-text multi-task" in table


def test_prepare_stage_reads_every_decanlp_task_from_real_files(tmp_path):
    """decaNLP's own files for all nine tasks (source local) and the hub copies of the five
    the hub has (source hub), through the data stage's command."""
    import test_decanlp_real as fixtures

    from taskconflict import registry
    from taskconflict.cli import main
    from taskconflict.config import to_json

    root = fixtures.write_decanlp(tmp_path / "deca")
    hub = fixtures.cache_hub(fixtures.write_hub(tmp_path / "hub"), tmp_path / "cache")
    runs = [(t, "local", root, []) for t in registry.BENCHMARKS["decanlp"]]
    runs += [(t, "hub", registry.get_task(t).hub, ["--source-dir", str(hub[t])])
             for t in fixtures.HUB_TASKS]
    for task, source, location, extra in runs:
        cfg = TaskDataConfig(task, source, 3, 1, 1, 0.2, 0.0, location=str(location))
        out = tmp_path / "data" / source / task
        main(["prepare-data", "--config", to_json(cfg), "--out", str(out), *extra])
        spec = registry.get_task(task)
        test = pd.read_parquet(out / "test.parquet")
        assert {"idx", "context", "question", "answer"} <= set(test.columns), task
        assert len(test) >= 1 and len(pd.read_parquet(out / "validation.parquet")) >= 1
        if spec.kind == "span":
            assert "answer_start" in test.columns


def test_the_cache_stage_names_every_missing_local_file_at_once(tmp_path):
    """One GLUE TSV and one decaNLP file deleted: one error that names each (task, file,
    config key, what to do) before any job runs, and no manifest for either task."""
    from test_decanlp_real import write_decanlp
    from test_glue_real import write_tsv

    glue, deca = write_tsv(tmp_path / "glue"), write_decanlp(tmp_path / "deca")
    (glue / "RTE" / "dev.tsv").unlink()
    (deca / "squad" / "dev-v1.1.json").unlink()
    datasets = [TaskDataConfig(task, "local", 0, 1, 1, 0.05, 0.0, location=str(root))
                for task, root in (("cola", glue), ("rte", glue), ("squad", deca))]
    with pytest.raises(SourceError) as error:
        cache_sources(datasets, [], tmp_path / "cache", preset="paper")
    message = str(error.value)
    assert message.startswith("2 source(s) cannot be read; nothing was trained")
    assert (f"- glue/rte: no {glue / 'RTE' / 'dev.tsv'} (presets.paper.data.local.glue: "
            f"{glue}); point data.local.glue at") in message
    assert "download_glue_data.py" in message
    assert (f"- decanlp/squad: no {deca / 'squad' / 'dev-v1.1.json'} (presets.paper.data.local"
            f".decanlp: {deca}); point data.local.decanlp at") in message
    assert message.count("\n- ") == 2
    manifests = {p.parent.name for p in (tmp_path / "cache").rglob("manifest.json")}
    assert manifests == {"cola"}


def test_the_cache_stage_copies_a_hub_dataset_at_its_revision_for_offline_jobs(
        tmp_path, monkeypatch):
    """The hub path of the cache stage, offline: `load_dataset(id, config, revision=sha)` (here
    answered from a folder laid out as the hub stores nyu-mll/glue) saved into the workflow's
    cache with the revision in the manifest; the data stage, offline, reads that copy."""
    import datasets
    from test_glue_real import write_hub

    from taskconflict import cache
    from taskconflict.data.prepare import load_splits

    snapshot = write_hub(tmp_path / "hub")
    calls = []
    real = datasets.load_dataset

    def load_dataset(path, name=None, revision=None, **kwargs):
        calls.append((path, name, revision))
        return real(str(snapshot), name, **{**kwargs, "cache_dir": str(tmp_path / "hf")})

    monkeypatch.setattr(cache, "_revision", lambda repo, kind: "f" * 40)
    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    cfg = TaskDataConfig("mnli", "hub", 0, 1, 1, 0.2, 0.0, location="nyu-mll/glue")
    cache_sources([cfg], [], tmp_path / "cache")
    folder = tmp_path / "cache" / "datasets" / "mnli"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest == {"task": "mnli", "source": "hub", "repo": "nyu-mll/glue", "config": "mnli",
                        "revision": "f" * 40, "location": str(folder.resolve())}
    assert calls == [("nyu-mll/glue", "mnli", "f" * 40)]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    splits = load_splits(cfg, folder)
    assert [len(splits[s]) for s in ("test", "test_mismatched")] == [5, 5]
    assert splits["test"]["premise"][0] == 'he said "hi mnli validation_matched premise number 0 .'
