"""Train one cell: an architecture on one task (single-task) or all tasks (multi-task).

A multi-task step draws one batch from every task and follows the SUM of the task
gradients (each task's mean loss on its own batch). `step_mode` says how many
forward/backward passes compute it: fused, one over the concatenated batches; per-task, one
per task (as the paper's code); grouped, one per group of tasks whose inputs have similar
lengths (fewer passes than per-task, less padding than fused). Every `conflict_every` steps
the per-task gradients are measured on large batches and their Gram matrix logged.

Outputs (in `out_dir`): `model.safetensors` (final weights), `train_log.parquet` (step, task,
loss, learning_rate, grad_norm) and `conflict.parquet` (step, part, task_a, task_b, dot;
empty for single-task cells).
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm
from transformers import AutoTokenizer, T5ForConditionalGeneration
from transformers.utils import logging as hf_logging

from taskconflict import registry
from taskconflict.batches import BatchStream, load_task_data, step_groups, stream_seed
from taskconflict.config import TrainConfig
from taskconflict.conflict import gram_to_frame
from taskconflict.grid import Cell
from taskconflict.io import write_parquet
from taskconflict.models import MultiTaskModel, build_model
from taskconflict.probe import measure_grams
from taskconflict.weights import save_weights

CONFLICT_COLUMNS = {"step": "int64", "part": "string", "task_a": "string", "task_b": "string",
                    "dot": "float64"}


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_model(cell: Cell, model_dir: str | Path, tasks: list[str],
               dropout: float = 0.0) -> MultiTaskModel:
    """The cell's architecture on the pre-trained checkpoint folder, with the recipe's dropout
    (google/t5-v1_1 ships with 0.1; the paper fine-tunes with 0)."""
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    t5 = T5ForConditionalGeneration.from_pretrained(model_dir, dropout_rate=dropout)
    return build_model(cell.architecture, t5, tasks, cell.decoder)


def train_cell(cell: Cell, cfg: TrainConfig, model_dir: str | Path,
               data: dict[str, str | Path], out_dir: str | Path) -> None:
    """Train the cell on `data` ({task: rendered train.parquet}) and write its outputs."""
    torch.set_num_threads(cfg.threads)
    seed_everything(cell.seed)
    tasks = list(data)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = load_model(cell, model_dir, tasks, cfg.dropout)
    model.train()

    # data: one seeded batch stream per task, and separate ones for conflict probes, so
    # measuring conflict never changes what the model is trained on
    train_data = {
        task: load_task_data(registry.get_task(task), path, tokenizer, cfg.max_input_length,
                             cfg.max_target_length, target=model.target(task))
        for task, path in data.items()
    }
    streams = {t: BatchStream(d, cfg.batch_size, stream_seed(cell.seed, t, "train"))
               for t, d in train_data.items()}
    probes = {t: BatchStream(d, cfg.conflict_batch_size, stream_seed(cell.seed, t, "probe"))
              for t, d in train_data.items()}
    measure = cell.multi_task and cfg.conflict_every > 0
    parts = {"encoder": model.encoder_parameters()}
    if cell.measure_decoder and model.decoder_parameters():
        parts["decoder"] = model.decoder_parameters()

    lr = cfg.lr_multi_task if cell.multi_task else cfg.lr_single_task
    params = [p for p in model.parameters() if p.requires_grad]
    # fused: one kernel for every parameter's update (CPU and GPU), not one per tensor
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0, fused=True)

    def conflict_at(step: int) -> list[pd.DataFrame]:
        batches = {t: [probes[t].next() for _ in range(cfg.conflict_batches)] for t in tasks}
        grams = measure_grams(model, batches, parts)
        return [gram_to_frame(step, part, tasks, gram) for part, gram in grams.items()]

    log, conflict = [], conflict_at(0) if measure else []
    loss_sums = dict.fromkeys(tasks, 0.0)
    norm_sum, since_log = 0.0, 0
    start = time.perf_counter()
    progress = tqdm(range(1, cfg.steps + 1), desc=cell.id, unit="step", file=sys.stderr,
                    mininterval=2.0)
    for step in progress:
        current_lr = lr * min(1.0, step / cfg.warmup_steps) if cfg.warmup_steps else lr
        for group in optimizer.param_groups:
            group["lr"] = current_lr

        # the multi-task gradient: the sum of every task's mean-loss gradient, accumulated
        # over one forward/backward per group of tasks (step_mode)
        batches = {task: streams[task].next() for task in tasks}
        losses = {}
        for group in step_groups(batches, cfg.step_mode):
            group_losses = model.task_losses({task: batches[task] for task in group})
            sum(group_losses.values()).backward()
            losses.update(group_losses)
        total = sum(loss.item() for loss in losses.values())
        if not np.isfinite(total):
            raise FloatingPointError(f"{cell.id}: loss is {total} at step {step}")
        grad_norm = torch.nn.utils.clip_grad_norm_(params, cfg.clip_norm).item()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

        for task, loss in losses.items():
            loss_sums[task] += loss.item()
        norm_sum += grad_norm
        since_log += 1
        if step % cfg.log_every == 0 or step == cfg.steps:
            for task in tasks:
                log.append({"step": step, "task": task, "loss": loss_sums[task] / since_log,
                            "learning_rate": current_lr, "grad_norm": norm_sum / since_log})
            progress.set_postfix(loss=f"{total:.3f}",
                                 steps_per_s=f"{step / (time.perf_counter() - start):.1f}")
            loss_sums = dict.fromkeys(tasks, 0.0)
            norm_sum, since_log = 0.0, 0
        if measure and (step % cfg.conflict_every == 0 or step == cfg.steps):
            conflict += conflict_at(step)
    progress.close()

    out_dir = Path(out_dir)
    write_parquet(pd.DataFrame(log), out_dir / "train_log.parquet")
    conflict_frame = (pd.concat(conflict, ignore_index=True) if conflict
                      else pd.DataFrame({c: pd.Series(dtype=t)
                                         for c, t in CONFLICT_COLUMNS.items()}))
    write_parquet(conflict_frame, out_dir / "conflict.parquet")
    save_weights(model, out_dir / "model.safetensors")
