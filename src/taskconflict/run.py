"""One training job: claim a device, train the cell, evaluate its final model, and record in
`run_info.json` what it ran on and what each phase cost.

Training and evaluation share one process: starting Python with torch and transformers
costs seconds, more than many small cells take to evaluate.
"""

from __future__ import annotations

from pathlib import Path

import torch

from taskconflict import checkpoint, devices
from taskconflict.config import TrainConfig
from taskconflict.evaluate import evaluate_cell
from taskconflict.gpu_claim import claim_device
from taskconflict.grid import Cell
from taskconflict.io import write_json
from taskconflict.train import train_cell

RUN_INFO = "run_info.json"


def run_cell(cell: Cell, cfg: TrainConfig, model_dir: str | Path, data: dict[str, Path],
             out_dir: str | Path) -> dict:
    """Train and evaluate the cell ({task: rendered-split folder}) on `cfg.device`; with
    several GPUs visible and `device: auto` or `cuda`, on one no other job holds."""
    out_dir = Path(out_dir)
    with claim_device(str(devices.resolve_device(cfg.device))) as claimed:
        device = torch.device(claimed)
        costs = train_cell(cell, cfg, model_dir,
                           {task: Path(folder) / "train.parquet" for task, folder in data.items()},
                           out_dir, device)
        costs |= evaluate_cell(cell, cfg, model_dir, out_dir / "model.safetensors", data,
                               out_dir / "metrics.json", device)
        info = run_info(cell, cfg, device, costs)
    write_json(info, out_dir / RUN_INFO)
    checkpoint.remove(out_dir / checkpoint.CHECKPOINT)  # the outputs are complete
    return info


def run_info(cell: Cell, cfg: TrainConfig, device: torch.device, costs: dict) -> dict:
    """The run's device, versions, steps, wall time per phase, throughput and peak memory, and
the number of tensors and parameters in each part that conflict is measured in.
    Times and throughput cover the steps this process ran (`steps_timed`: fewer than `steps`
    after a resume)."""
    return {
        "cell": cell.id,
        **devices.describe(device, cfg.precision),
        "step_mode": costs["step_mode"],
        "steps": costs["steps"],
        "steps_timed": costs["steps_timed"],
        "wall_s": {"train": costs["train_s"], "conflict": costs["conflict_s"],
                   "evaluation": costs["evaluation_s"]},
        "steps_per_s": costs["steps_per_s"],
        "examples_per_s": costs["examples_per_s"],
        "input_tokens_per_s": costs["input_tokens_per_s"],
        "evaluation_examples_per_s": costs["evaluation_examples"] / max(
            costs["evaluation_s"], 1e-9),
        "peak_memory_mb": {"train": costs["train_peak_memory_mb"],
                           "evaluation": costs["evaluation_peak_memory_mb"]},
        "conflict_parameters": {"rule": cfg.conflict_parameters,
                                **costs["conflict_parameters"]},
    }
