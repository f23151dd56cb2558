"""Resumable training and failure behaviour: a killed job resumes to bit-identical results, a
SIGTERM'd one checkpoints first, and a failing one names its cell and cause and writes no
output."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from toy_models import TASKS

from taskconflict import checkpoint
from taskconflict.config import TrainConfig, to_json
from taskconflict.grid import Cell
from taskconflict.models import TextToText
from taskconflict.train import train_cell

CELL = Cell("glue", "small", "text-to-text", "multi", seed=5)
"""A multi-task text-to-text cell with conflict measurement on: every kind of state."""
LONG = TrainConfig(steps=160, batch_size=4, max_input_length=48, log_every=7, conflict_every=15,
                   conflict_batches=2, conflict_batch_size=4, eval_batch_size=16,
                   checkpoint_every=10)
"""Long enough to be killed mid-run; log_every and conflict_every are not multiples of
checkpoint_every, so a resumed run must carry partly summed logs across the restart."""
OUTPUTS = ("model.safetensors", "train_log.parquet", "conflict.parquet", "metrics.json")


def train_command(folder: Path, data: dict[str, Path], out: Path) -> list[str]:
    return [sys.executable, "-m", "taskconflict", "train", "--cell", to_json(CELL),
            "--config", to_json(LONG), "--model", str(folder),
            "--data", *(f"{t}={d}" for t, d in data.items()), "--out", str(out)]


def start(folder, data, out) -> subprocess.Popen:
    return subprocess.Popen(train_command(folder, data, out), stderr=subprocess.PIPE, text=True)


def wait_for_checkpoint(process: subprocess.Popen, path: Path, min_step: int) -> int:
    """Poll until the run has checkpointed at `min_step` or later; that step."""
    seen = None
    while process.poll() is None:
        if path.exists() and path.stat().st_mtime_ns != seen:
            seen = path.stat().st_mtime_ns
            step = torch.load(path, weights_only=False)["loop"]["step"]
            if step >= min_step:
                return step
        time.sleep(0.005)
    pytest.fail(f"the run ended before step {min_step}: {process.stderr.read()[-2000:]}")


def assert_same_outputs(a: Path, b: Path) -> None:
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()
    assert json.loads((a / "metrics.json").read_text()) == json.loads(
        (b / "metrics.json").read_text())
    for name in ("train_log.parquet", "conflict.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(a / name), pd.read_parquet(b / name),
                                      check_exact=True)


@pytest.fixture(scope="module")
def uninterrupted(toy_run_inputs, tmp_path_factory) -> Path:
    folder, data = toy_run_inputs
    out = tmp_path_factory.mktemp("uninterrupted")
    subprocess.run(train_command(folder, data, out), check=True, capture_output=True)
    return out


def test_uninterrupted_run_removes_its_checkpoint_when_done(uninterrupted):
    assert all((uninterrupted / name).exists() for name in OUTPUTS)
    assert not (uninterrupted / checkpoint.CHECKPOINT).exists()
    log = pd.read_parquet(uninterrupted / "train_log.parquet")
    assert log["step"].max() == LONG.steps and set(log["task"]) == set(TASKS)


def test_run_killed_at_a_random_step_resumes_to_identical_results(toy_run_inputs, tmp_path,
                                                                  uninterrupted):
    folder, data = toy_run_inputs
    kill_after = random.Random().randrange(10, LONG.steps - 40)
    process = start(folder, data, tmp_path)
    step = wait_for_checkpoint(process, tmp_path / checkpoint.CHECKPOINT, kill_after)
    time.sleep(random.Random().uniform(0, 0.05))  # somewhere inside a later step
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (tmp_path / "metrics.json").exists()

    resumed = subprocess.run(train_command(folder, data, tmp_path), capture_output=True,
                             text=True, check=True)
    resumed_at = int(resumed.stderr.split("resuming after step ")[1].split()[0])
    assert resumed_at >= step and resumed_at % LONG.checkpoint_every == 0
    assert_same_outputs(uninterrupted, tmp_path)
    assert not (tmp_path / checkpoint.CHECKPOINT).exists()


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGUSR1])
def test_stop_signal_checkpoints_the_current_step_and_resumes(toy_run_inputs, tmp_path,
                                                              uninterrupted, stop_signal):
    """SLURM's pre-emption signals: the job finishes its step, checkpoints it and exits."""
    folder, data = toy_run_inputs
    process = start(folder, data, tmp_path)
    wait_for_checkpoint(process, tmp_path / checkpoint.CHECKPOINT, 20)
    process.send_signal(stop_signal)
    _, stderr = process.communicate()
    assert process.returncode == 128 + stop_signal
    state = torch.load(tmp_path / checkpoint.CHECKPOINT, weights_only=False)["loop"]
    assert 20 <= state["step"] < LONG.steps
    assert f"{signal.Signals(stop_signal).name} after step {state['step']}" in stderr
    assert not any((tmp_path / name).exists() for name in OUTPUTS)

    resumed = subprocess.run(train_command(folder, data, tmp_path), capture_output=True,
                             text=True, check=True)
    assert f"resuming after step {state['step']}" in resumed.stderr
    assert_same_outputs(uninterrupted, tmp_path)


SHORT = TrainConfig(steps=6, batch_size=4, max_input_length=48, log_every=2, conflict_every=3,
                    conflict_batches=2, conflict_batch_size=4, checkpoint_every=2)


def test_checkpoint_of_another_recipe_is_not_resumed(toy_run_inputs, tmp_path, capfd):
    folder, data = toy_run_inputs
    train = {t: d / "train.parquet" for t, d in data.items()}
    train_cell(CELL, SHORT, folder, train, tmp_path / "other")  # leaves its last checkpoint
    os.replace(tmp_path / "other" / checkpoint.CHECKPOINT, tmp_path / checkpoint.CHECKPOINT)
    changed = TrainConfig(**{**SHORT.__dict__, "lr_multi_task": 1e-4})
    train_cell(CELL, changed, folder, train, tmp_path)
    assert "made for another recipe or input; starting from step 0" in capfd.readouterr().err
    train_cell(CELL, changed, folder, train, tmp_path / "fresh")
    assert (tmp_path / "model.safetensors").read_bytes() == (
        tmp_path / "fresh" / "model.safetensors").read_bytes()


def fail_on_pass(monkeypatch, fail_pass: int, fail) -> None:
    """Make the `fail_pass`-th forward pass (counting from 1) go through `fail(losses)`."""
    real, passes = TextToText.task_losses, []

    def task_losses(self, batches):
        passes.append(1)
        if len(passes) == fail_pass:
            return fail(real(self, batches))
        return real(self, batches)

    monkeypatch.setattr(TextToText, "task_losses", task_losses)


def train_expecting(toy_run_inputs, tmp_path, step_mode: str, error: type, match: str) -> None:
    """Train SHORT, expect the error, and check that no output was written."""
    folder, data = toy_run_inputs
    cfg = TrainConfig(**{**SHORT.__dict__, "conflict_every": 0, "step_mode": step_mode})
    with pytest.raises(error, match=match):
        train_cell(CELL, cfg, folder, {t: d / "train.parquet" for t, d in data.items()},
                   tmp_path)
    assert not any((tmp_path / name).exists() for name in OUTPUTS)


def test_out_of_memory_names_the_cell_and_step_and_writes_nothing(toy_run_inputs, tmp_path,
                                                                   monkeypatch):
    def out_of_memory(losses):  # the CPU allocator's own words
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to "
                           "allocate 40000000000000 bytes")

    fail_on_pass(monkeypatch, 3 * len(TASKS) + 1, out_of_memory)  # per-task: step 4's first
    train_expecting(toy_run_inputs, tmp_path, "per-task", MemoryError,
                    rf"{CELL.id}: out of memory at step 4 "
                    r"\(4 examples per task, inputs up to \d+ tokens\)")


def test_nan_loss_stops_within_the_step_naming_the_task(toy_run_inputs, tmp_path,
                                                        monkeypatch):
    def stsb_nan(losses):
        return {**losses, "stsb": losses["stsb"] * float("nan")}

    fail_on_pass(monkeypatch, 3, stsb_nan)  # fused: one pass a step, so step 3
    train_expecting(toy_run_inputs, tmp_path, "fused", FloatingPointError,
                    rf"{CELL.id}: non-finite loss at step 3 \(stsb nan\)")


@pytest.mark.parametrize(("column", "value", "problem"), [
    ("label", 7, "has a label that is not a class of cola"),
    ("source", "  ", "has an empty source"),
])
def test_bad_input_row_stops_the_job_before_training_naming_file_and_row(
        toy_run_inputs, tmp_path, column, value, problem):
    folder, data = toy_run_inputs
    frame = pd.read_parquet(data["cola"] / "train.parquet")
    frame.loc[frame.index[13], column] = value
    bad = tmp_path / "cola.parquet"
    frame.to_parquet(bad)
    cell = Cell("glue", "small", "text-to-text", "cola")
    with pytest.raises(ValueError, match=rf"{bad}: row 13 \(of {len(frame)}, counting from 0\) "
                                         rf"{problem}"):
        train_cell(cell, SHORT, folder, {"cola": bad}, tmp_path / "out")
    assert not (tmp_path / "out").exists()
