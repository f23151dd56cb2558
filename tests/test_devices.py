"""Where and in what precision a cell runs (devices.py), tested on the CPU: device and
precision resolution, bf16 autocast against fp32, every tensor of a step on the model's
device, resuming under another device setting, run_info.json, and length-sorted evaluation
that scores exactly what file-order evaluation scores."""

import copy
import dataclasses
import json
import math
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import torch
import transformers
import yaml
from safetensors.torch import load_file
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from toy_models import (
    TASKS,
    Interrupted,
    interrupt_after_checkpoint,
    random_batches,
    step_with_gradients,
    tiny_t5,
)
from transformers import AutoTokenizer
from workflow_helpers import ROOT

from taskconflict import checkpoint, devices, evaluate, metrics, registry
from taskconflict.batches import TaskData, eval_batches
from taskconflict.config import ConfigError, TrainConfig, load_config, to_json
from taskconflict.evaluate import evaluate_cell, max_answer_tokens, predict_split
from taskconflict.grid import Cell
from taskconflict.models import build_model, fp32, load_model
from taskconflict.run import RUN_INFO
from taskconflict.train import multitask_step, train_cell

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
CELL = Cell("glue", "small", "text-to-text", "multi", seed=5)
SHORT = TrainConfig(steps=6, batch_size=4, max_input_length=48, log_every=2, conflict_every=3,
                    conflict_batches=2, conflict_batch_size=4, eval_batch_size=16,
                    checkpoint_every=2)
"""Multi-task with conflict measured, so that every phase of run_info has a time."""


@pytest.fixture
def no_cuda(monkeypatch):
    """This machine as one without a CUDA GPU, whatever it has."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def train_paths(data: dict[str, Path]) -> dict[str, Path]:
    return {task: folder / "train.parquet" for task, folder in data.items()}


# -- devices and precisions ---------------------------------------------------------------


def test_cpu_resolves_to_the_cpu():
    assert devices.resolve_device("cpu") == torch.device("cpu")


def test_auto_is_the_cpu_on_a_machine_without_cuda(no_cuda):
    assert devices.resolve_device("auto") == torch.device("cpu")


@pytest.mark.parametrize("spec", ["cuda", "cuda:0"])
def test_cuda_on_a_machine_without_cuda_is_an_error_not_a_cpu_fallback(no_cuda, spec):
    with pytest.raises(RuntimeError, match=rf"device '{spec}': this machine has no CUDA GPU"):
        devices.resolve_device(spec)


@pytest.mark.parametrize("spec", ["gpu", "cuda:x", "cuda:", ""])
def test_a_malformed_device_is_a_value_error(spec):
    with pytest.raises(ValueError, match=f"device '{spec}': expected auto, cpu, cuda or cuda:N"):
        devices.resolve_device(spec)


def test_fp16_is_refused_saying_why():
    with pytest.raises(ValueError, match=r"fp16 is refused.*overflow fp16"):
        devices.check_precision("fp16")


def test_an_unknown_precision_names_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown precision 'fp8'; known: fp32, bf16"):
        devices.check_precision("fp8")
    for known in devices.PRECISIONS:
        devices.check_precision(known)


def schema_validate(raw: dict) -> dict:
    """As the Snakefile does: the JSON schema, which also fills in defaults."""
    validate = pytest.importorskip("snakemake.utils").validate
    raw = copy.deepcopy(raw)
    validate(raw, str(SCHEMA))
    return raw


@pytest.fixture(scope="module")
def raw_config() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def test_fp16_passes_the_schema_but_load_config_refuses_it_naming_the_key(raw_config):
    """The schema lists fp16 so that its refusal can say why, instead of 'not one of'."""
    raw = copy.deepcopy(raw_config)
    raw["presets"]["demo"]["train"]["precision"] = "fp16"
    valid = schema_validate(raw)
    with pytest.raises(ConfigError) as error:
        load_config(valid)
    assert "presets.demo.train.precision" in str(error.value)
    assert "fp16 is refused" in str(error.value)


def test_a_bad_device_is_rejected_by_the_schema(raw_config):
    raw = copy.deepcopy(raw_config)
    raw["presets"]["demo"]["train"]["device"] = "gpu"
    with pytest.raises(Exception, match="'gpu' does not match"):
        schema_validate(raw)


# -- bf16 autocast on the CPU -------------------------------------------------------------


@pytest.mark.parametrize("architecture", ["text-to-text", "canonical"])
def test_bf16_step_is_close_to_fp32_and_keeps_fp32_weights_and_moments(architecture):
    model = build_model(architecture, tiny_t5(), TASKS)
    bf16_model = copy.deepcopy(model)
    batches = random_batches(generative=architecture != "canonical")
    losses32, _, grads32, _ = step_with_gradients(model, batches, "fp32")
    losses16, _, grads16, optimizer = step_with_gradients(bf16_model, batches, "bf16")

    assert set(losses16) == set(TASKS) and all(map(math.isfinite, losses16.values()))
    assert losses16 == pytest.approx(losses32, rel=0.02)
    assert grads16.keys() == grads32.keys() and len(grads32) > 10
    a = torch.cat([grads32[name].flatten() for name in grads32])
    b = torch.cat([grads16[name].flatten() for name in grads32])
    assert all(g.dtype == torch.float32 for g in grads16.values())
    assert not torch.equal(a, b), "bf16 gave the fp32 gradient: autocast did not run"
    assert torch.nn.functional.cosine_similarity(a, b, dim=0) > 0.99
    assert abs(b.norm() - a.norm()) / a.norm() < 0.05

    assert all(p.dtype == torch.float32 for p in bf16_model.parameters())
    moments = [state[key] for state in optimizer.state.values()
               for key in ("exp_avg", "exp_avg_sq")]
    assert len(moments) == 2 * len(grads16)
    assert all(m.dtype == torch.float32 for m in moments)


def test_task_heads_score_in_fp32_under_bf16():
    """bf16 keeps 3 significant digits: STS-B's predicted scores would tie."""
    model = build_model("canonical", tiny_t5(), TASKS)
    batch = random_batches(generative=False)["stsb"]
    with devices.autocast(torch.device("cpu"), "bf16"):
        _, pooled = model._encode(batch.input_ids, batch.attention_mask)
        scores = fp32(model.heads["stsb"], pooled)
        rounded = model.heads["stsb"](pooled)
    assert pooled.dtype == torch.float32 and rounded.dtype == torch.bfloat16
    assert scores.dtype == torch.float32
    assert torch.equal(scores, model.heads["stsb"](pooled.float()))
    assert not torch.equal(scores, rounded.float())


# -- every tensor of a step on the model's device -----------------------------------------


def test_batch_to_the_cpu_is_the_same_batch():
    batch = random_batches(generative=True)["cola"]
    assert batch.to(torch.device("cpu")) is batch


class DeviceRecorder(TorchDispatchMode):
    """The device of every tensor that an op takes or returns, by op name."""

    def __init__(self):
        super().__init__()
        self.seen: Counter = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for leaf in tree_leaves((args, kwargs, out)):
            if isinstance(leaf, torch.Tensor):
                self.seen[(func.overloadpacket.__name__, str(leaf.device))] += 1
        return out

    def devices(self) -> set[str]:
        return {device for _, device in self.seen}

    def ops(self) -> set[str]:
        return {op for op, _ in self.seen}


def test_the_device_recorder_sees_a_tensor_on_another_device():
    """The check below could fail: a tensor off the model's device shows up."""
    with DeviceRecorder() as recorder:
        torch.ones(2, device="meta") + 1
    assert recorder.devices() == {"meta"}


@pytest.mark.parametrize("architecture", ["text-to-text", "canonical"])
def test_every_tensor_of_a_step_is_on_the_models_device(architecture):
    model = build_model(architecture, tiny_t5(), TASKS)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=True)
    device = next(model.parameters()).device
    batches = {task: batch.to(device) for task, batch in
               random_batches(generative=architecture != "canonical").items()}
    with DeviceRecorder() as recorder:
        multitask_step(model, optimizer, batches, "per-task", "bf16", 1.0)
    # the forward, the backward, the clipping and the fused update all went through it
    assert {"embedding_dense_backward", "_fused_adamw_"} <= recorder.ops()
    assert recorder.devices() == {str(device)}


# -- resuming under another device setting ------------------------------------------------


def test_checkpoint_load_maps_everything_to_the_cpu(tmp_path, monkeypatch):
    """So that a checkpoint written on a GPU loads on a machine without one."""
    checkpoint.save(tmp_path / "c.pt", "key", {"weights": torch.ones(3)})
    calls = []
    real_load = torch.load

    def recording_load(*args, **kwargs):
        calls.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", recording_load)
    state = checkpoint.load(tmp_path / "c.pt", "key")
    assert [call.get("map_location") for call in calls] == ["cpu"]
    assert state["weights"].device == torch.device("cpu")


def test_a_run_resumes_when_only_the_device_setting_changed(toy_run_inputs, tmp_path,
                                                           monkeypatch, capfd, no_cuda):
    """The device is not part of the checkpoint's fingerprint: `auto` and `cpu` resume each
    other's checkpoints, to the same bytes as a run that was never interrupted."""
    folder, data = toy_run_inputs
    auto, cpu = (dataclasses.replace(SHORT, device=d) for d in ("auto", "cpu"))
    stop_at = interrupt_after_checkpoint(monkeypatch, 4)
    with pytest.raises(Interrupted):
        train_cell(CELL, auto, folder, train_paths(data), tmp_path / "resumed")
    assert not (tmp_path / "resumed" / "model.safetensors").exists()
    stop_at.clear()
    capfd.readouterr()
    costs = train_cell(CELL, cpu, folder, train_paths(data), tmp_path / "resumed")
    assert f"{CELL.id}: resuming after step 4" in capfd.readouterr().err
    assert costs["steps_timed"] == SHORT.steps - 4

    train_cell(CELL, cpu, folder, train_paths(data), tmp_path / "whole")
    a, b = tmp_path / "whole", tmp_path / "resumed"
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()
    for name in ("train_log.parquet", "conflict.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(a / name), pd.read_parquet(b / name),
                                      check_exact=True)


# -- run_info.json ------------------------------------------------------------------------


def test_train_command_writes_run_info_and_removes_its_checkpoint(toy_run_inputs, tmp_path):
    folder, data = toy_run_inputs
    cfg = dataclasses.replace(SHORT, precision="bf16")  # device and step_mode: auto
    command = [sys.executable, "-m", "taskconflict", "train", "--cell", to_json(CELL),
               "--config", to_json(cfg), "--model", str(folder),
               "--data", *(f"{t}={d}" for t, d in data.items()), "--out", str(tmp_path)]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # a CPU run, even on a GPU machine
    subprocess.run(command, check=True, capture_output=True, env=env)

    info = json.loads((tmp_path / RUN_INFO).read_text())
    assert info["cell"] == CELL.id
    assert info["device"] == "cpu" and info["device_name"]
    assert info["precision"] == "bf16" and info["tf32"] is False
    assert info["torch"] == torch.__version__
    assert info["transformers"] == transformers.__version__
    assert info["step_mode"] == "per-task"  # auto on the CPU
    assert info["steps"] == info["steps_timed"] == cfg.steps
    assert set(info["wall_s"]) == {"train", "conflict", "evaluation"}
    assert all(seconds > 0 for seconds in info["wall_s"].values())
    assert info["steps_per_s"] > 0 and info["input_tokens_per_s"] > 0
    # every step draws batch_size examples of every task
    assert info["examples_per_s"] == pytest.approx(
        info["steps_per_s"] * cfg.batch_size * len(TASKS))
    assert info["evaluation_examples_per_s"] > 0
    assert set(info["peak_memory_mb"]) == {"train", "evaluation"}
    assert all(mb > 0 for mb in info["peak_memory_mb"].values())
    assert not (tmp_path / checkpoint.CHECKPOINT).exists()
    assert (tmp_path / "metrics.json").exists()


# -- evaluation order ---------------------------------------------------------------------


def test_eval_batches_yield_every_row_once_longest_first():
    lengths = [3, 9, 1, 9, 5, 2, 7, 7, 4, 6, 8]
    inputs = [torch.arange(2, 2 + n) for n in lengths]
    data = TaskData(registry.get_task("cola"), inputs, torch.arange(len(lengths)),
                    pd.DataFrame({"source": ["x"] * len(lengths)}))
    batches = list(eval_batches(data, 3))
    order = [row for rows, _ in batches for row in rows]
    assert sorted(order) == list(range(len(lengths)))
    assert [lengths[row] for row in order] == sorted(lengths, reverse=True)
    assert [len(rows) for rows, _ in batches] == [3, 3, 3, 2]
    for rows, batch in batches:
        assert batch.input_ids.shape == (len(rows), max(lengths[row] for row in rows))
        assert batch.targets.tolist() == rows  # each row's own target
        for i, row in enumerate(rows):
            assert batch.attention_mask[i].sum() == lengths[row]
            assert torch.equal(batch.input_ids[i, : lengths[row]], inputs[row])


def in_file_order(data: TaskData, batch_size: int):
    """eval_batches without the sorting: the reference that sorting must not change."""
    for start in range(0, len(data), batch_size):
        rows = list(range(start, min(start + batch_size, len(data))))
        yield rows, data.batch(rows)


@pytest.mark.parametrize("architecture", ["canonical", "text-to-text"])
def test_sorted_batched_evaluation_scores_what_file_order_scores(toy_run_inputs, monkeypatch,
                                                                 architecture):
    """Rows go back to their own place, and padding a row to its batch changes no result."""
    folder, data = toy_run_inputs
    torch.manual_seed(0)  # the canonical heads' initialisation
    model = load_model(Cell("glue", "small", architecture, "multi"), folder, list(TASKS)).eval()
    if architecture == "text-to-text":  # large random weights: answers that depend on the input
        with torch.no_grad():
            for p in model.parameters():
                p.normal_(0, 1)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    cfg = TrainConfig(max_input_length=48, device="cpu")

    texts: list[str] = []  # generated answers, in the order they are scored
    parse = metrics.parse_prediction
    monkeypatch.setattr(metrics, "parse_prediction",
                        lambda task, text, words: texts.append(text) or parse(task, text, words))

    def scores(batch_size: int) -> tuple[dict, list[str]]:
        batch_cfg = dataclasses.replace(cfg, eval_batch_size=batch_size)
        texts.clear()
        return {task: predict_split(model, registry.get_task(task), data[task] / "test.parquet",
                                    tokenizer, batch_cfg) for task in TASKS}, list(texts)

    sorted_1, sorted_64 = scores(1), scores(64)
    with monkeypatch.context() as patch:
        patch.setattr(evaluate, "eval_batches", in_file_order)
        reference, reference_texts = scores(1)
    for got, got_texts in (sorted_1, sorted_64):
        assert got_texts == reference_texts
        for task in TASKS:
            assert got[task].keys() == reference[task].keys()
            assert got[task] == pytest.approx(reference[task], rel=1e-6, abs=1e-6, nan_ok=True)
    if architecture == "canonical":  # untrained heads still predict, so rows matter here
        assert reference["stsb"]["pearson"] != 0
    else:
        assert len(set(reference_texts)) > len(reference_texts) // 2


@pytest.mark.parametrize("name", ["squad", "iwslt"])
def test_text_answers_get_room_for_the_longest_target_at_most_the_cap(name):
    task = registry.get_task(name)
    targets = [torch.ones(n, dtype=torch.long) for n in (3, 7, 5)]
    assert max_answer_tokens(task, None, 256, targets=targets) == 7
    assert max_answer_tokens(task, None, 6, targets=targets) == 6
    assert max_answer_tokens(task, None, 16) == 16  # no targets (span heads): the cap


# -- bf16 end to end ----------------------------------------------------------------------


def test_bf16_training_and_evaluation_complete_with_finite_results(toy_run_inputs, tmp_path):
    folder, data = toy_run_inputs
    cell = Cell("glue", "small", "canonical", "multi", seed=2)
    cfg = dataclasses.replace(SHORT, precision="bf16", device="cpu")
    costs = train_cell(cell, cfg, folder, train_paths(data), tmp_path)
    costs |= evaluate_cell(cell, cfg, folder, tmp_path / "model.safetensors", data,
                           tmp_path / "metrics.json")

    log = pd.read_parquet(tmp_path / "train_log.parquet")
    assert set(log["task"]) == set(TASKS) and log["step"].max() == cfg.steps
    assert log["loss"].map(math.isfinite).all() and log["grad_norm"].map(math.isfinite).all()
    conflict = pd.read_parquet(tmp_path / "conflict.parquet")
    assert not conflict.empty and conflict["dot"].map(math.isfinite).all()
    weights = load_file(tmp_path / "model.safetensors")
    assert {w.dtype for w in weights.values()} == {torch.float32}
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics["tasks"]) == set(TASKS)
    assert metrics["tasks"]["cola"]["test"]["examples"] == 24
    assert all(math.isfinite(value) for task in metrics["tasks"].values()
               for split in task.values() for value in split.values())
    assert costs["step_mode"] == "per-task" and costs["evaluation_examples"] > 0
