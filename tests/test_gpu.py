"""The CUDA path: training, conflict probes and evaluation on a GPU in fp32 and bf16, the
GPU's fp32 step and Gram matrices against the CPU's, checkpoints that cross between GPU and
CPU, and the paper preset resolving to the GPU. Skipped without a CUDA GPU;
tests/gpu_check.sh runs them on a machine that has one."""

import copy
import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from safetensors.torch import load_file
from toy_models import (
    TASKS,
    Interrupted,
    interrupt_after_checkpoint,
    random_batches,
    step_with_gradients,
    tiny_t5,
)
from workflow_helpers import ROOT

from taskconflict import checkpoint, devices, train
from taskconflict.batches import resolve_step_mode
from taskconflict.config import TrainConfig, load_config
from taskconflict.evaluate import evaluate_cell
from taskconflict.factors import ARCHITECTURE
from taskconflict.grid import Cell
from taskconflict.models import build_model
from taskconflict.probe import measure_grams
from taskconflict.run import RUN_INFO, run_cell, run_info
from taskconflict.train import train_cell

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]

CUDA = torch.device("cuda")
CPU = torch.device("cpu")
CELL = Cell("glue", "small", "text-to-text", "multi", seed=5)
SHORT = TrainConfig(steps=6, batch_size=4, max_input_length=48, log_every=2, conflict_every=3,
                    conflict_batches=2, conflict_batch_size=4, eval_batch_size=16,
                    checkpoint_every=2)


@pytest.fixture(autouse=True)
def restore_matmul_settings():
    """devices.configure sets process-wide TF32 flags; each test starts from the same ones."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def train_paths(data):
    return {task: folder / "train.parquet" for task, folder in data.items()}


def record_final_devices(monkeypatch) -> list[set[str]]:
    """The device types of the model's parameters each time train_cell saves its weights."""
    seen: list[set[str]] = []
    real_save = train.save_weights

    def save_weights(model, path):
        seen.append({p.device.type for p in model.parameters()})
        return real_save(model, path)

    monkeypatch.setattr(train, "save_weights", save_weights)
    return seen


def assert_finite_outputs(out, steps: int) -> None:
    log = pd.read_parquet(out / "train_log.parquet")
    assert set(log["task"]) == set(TASKS) and log["step"].max() == steps
    assert log["loss"].map(math.isfinite).all() and log["grad_norm"].map(math.isfinite).all()
    conflict = pd.read_parquet(out / "conflict.parquet")
    assert not conflict.empty and conflict["dot"].map(math.isfinite).all()
    assert {w.dtype for w in load_file(out / "model.safetensors").values()} == {torch.float32}


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_training_and_evaluation_run_on_the_gpu(toy_run_inputs, tmp_path, monkeypatch,
                                                precision):
    folder, data = toy_run_inputs
    cfg = dataclasses.replace(SHORT, device="cuda", precision=precision)
    final_devices = record_final_devices(monkeypatch)
    costs = train_cell(CELL, cfg, folder, train_paths(data), tmp_path)
    costs |= evaluate_cell(CELL, cfg, folder, tmp_path / "model.safetensors", data,
                           tmp_path / "metrics.json")

    assert final_devices == [{"cuda"}]
    assert_finite_outputs(tmp_path, cfg.steps)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics["tasks"]) == set(TASKS)
    assert metrics["tasks"]["cola"]["test"]["examples"] == 24

    info = run_info(CELL, cfg, CUDA, costs)
    assert info["device"] == "cuda" and info["precision"] == precision
    assert info["tf32"] is (precision == "bf16")  # TF32 only with bf16
    assert info["step_mode"] == "fused"  # auto on CUDA
    assert info["steps_timed"] == cfg.steps
    assert all(seconds > 0 for seconds in info["wall_s"].values())
    assert info["steps_per_s"] > 0
    assert info["examples_per_s"] == pytest.approx(
        info["steps_per_s"] * cfg.batch_size * len(TASKS))
    # the CUDA allocator's peaks: above zero only if the model was on the GPU
    assert all(mb > 0 for mb in info["peak_memory_mb"].values())


def test_run_cell_writes_run_info_naming_the_gpu(toy_run_inputs, tmp_path, monkeypatch):
    monkeypatch.setenv("TASKCONFLICT_GPU_LOCKS", str(tmp_path / "locks"))
    folder, data = toy_run_inputs
    cfg = dataclasses.replace(SHORT, precision="bf16")  # device: auto
    run_cell(CELL, cfg, folder, data, tmp_path / "out")

    info = json.loads((tmp_path / "out" / RUN_INFO).read_text())
    assert info["device"].startswith("cuda")
    assert info["device_name"] == torch.cuda.get_device_name(0) != ""
    assert info["cuda"] == torch.version.cuda
    assert info["precision"] == "bf16" and info["tf32"] is True
    assert info["step_mode"] == "fused"
    assert all(mb > 0 for mb in info["peak_memory_mb"].values())
    assert not (tmp_path / "out" / checkpoint.CHECKPOINT).exists()


@pytest.mark.parametrize("architecture", ARCHITECTURE.names)
def test_fp32_step_on_the_gpu_equals_the_cpus(architecture):
    """With TF32 off, the GPU computes the CPU's step up to summation order."""
    devices.configure(CUDA, "fp32")
    assert not torch.backends.cuda.matmul.allow_tf32
    cpu_model = build_model(architecture, tiny_t5(), TASKS)
    gpu_model = copy.deepcopy(cpu_model).to(CUDA)
    batches = random_batches(generative=architecture != "canonical")
    cpu_losses, cpu_norm, cpu_grads, _ = step_with_gradients(cpu_model, batches, "fp32")
    gpu_losses, gpu_norm, gpu_grads, _ = step_with_gradients(
        gpu_model, {task: batch.to(CUDA) for task, batch in batches.items()}, "fp32")

    assert gpu_losses == pytest.approx(cpu_losses, rel=1e-5)
    assert gpu_norm == pytest.approx(cpu_norm, rel=1e-4)
    assert gpu_grads.keys() == cpu_grads.keys()
    for name, grad in cpu_grads.items():
        torch.testing.assert_close(gpu_grads[name].cpu(), grad, atol=1e-5, rtol=1e-4,
                                   msg=lambda m, n=name: f"gradient of {n}: {m}")
    for (name, cpu_p), gpu_p in zip(cpu_model.named_parameters(), gpu_model.parameters(),
                                    strict=True):
        assert gpu_p.device.type == "cuda"
        torch.testing.assert_close(gpu_p.detach().cpu(), cpu_p.detach(), atol=1e-5, rtol=1e-4,
                                   msg=lambda m, n=name: f"updated {n}: {m}")


def test_gram_matrices_on_the_gpu_equal_the_cpus():
    devices.configure(CUDA, "fp32")
    cpu_model = build_model("text-to-text", tiny_t5(), TASKS)
    gpu_model = copy.deepcopy(cpu_model).to(CUDA)
    batches = {task: [batch, random_batches(True, seed=2)[task]]
               for task, batch in random_batches(True).items()}
    grams = {}
    for device, model in ((CPU, cpu_model), (CUDA, gpu_model)):
        parts = {"encoder": list(model.encoder_parameters().values()),
                 "decoder": list(model.decoder_parameters().values())}
        on_device = {task: [b.to(device) for b in bs] for task, bs in batches.items()}
        grams[device.type] = measure_grams(model, on_device, parts, "fp32")
        assert all(p.grad is None for p in model.parameters())
    for part, cpu_gram in grams["cpu"].items():
        gpu_gram = np.asarray(grams["cuda"][part])
        assert gpu_gram.shape == (len(TASKS), len(TASKS))
        # off-diagonal dots can be near zero: tolerance relative to the largest squared norm
        np.testing.assert_allclose(gpu_gram, cpu_gram, rtol=1e-4,
                                   atol=1e-4 * float(np.abs(np.diag(cpu_gram)).max()),
                                   err_msg=part)


@pytest.mark.parametrize(("first", "then"), [("cuda", "cpu"), ("cpu", "cuda")])
def test_a_checkpoint_resumes_on_the_other_device(toy_run_inputs, tmp_path, monkeypatch, capfd,
                                                  first, then):
    folder, data = toy_run_inputs
    stop_at = interrupt_after_checkpoint(monkeypatch, 4)
    with pytest.raises(Interrupted):
        train_cell(CELL, dataclasses.replace(SHORT, device=first), folder, train_paths(data),
                   tmp_path)
    state = torch.load(tmp_path / checkpoint.CHECKPOINT, weights_only=False)  # where saved
    assert {t.device.type for t in state["model"].values()} == {first}
    assert {s["exp_avg"].device.type for s in state["optimizer"]["state"].values()} == {first}

    stop_at.clear()
    capfd.readouterr()
    final_devices = record_final_devices(monkeypatch)
    costs = train_cell(CELL, dataclasses.replace(SHORT, device=then), folder,
                       train_paths(data), tmp_path)
    assert f"{CELL.id}: resuming after step 4" in capfd.readouterr().err
    assert costs["steps_timed"] == SHORT.steps - 4
    assert final_devices == [{then}]
    assert_finite_outputs(tmp_path, SHORT.steps)


def test_the_paper_preset_trains_fused_in_bf16_on_the_gpu():
    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    raw["preset"] = "paper"
    try:  # as the Snakefile does, where snakemake is installed; load_config checks the rest
        from snakemake.utils import validate
    except ImportError:
        pass
    else:
        validate(raw, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    cfg = load_config(raw).preset.train  # builds the config only: no data is prepared
    device = devices.resolve_device(cfg.device)
    assert device.type == "cuda"
    assert resolve_step_mode(cfg.step_mode, device) == "fused"
    assert cfg.precision == "bf16" and torch.cuda.is_bf16_supported()
    devices.configure(device, cfg.precision)
    assert torch.backends.cuda.matmul.allow_tf32
    devices.configure(device, "fp32")
    assert not torch.backends.cuda.matmul.allow_tf32
