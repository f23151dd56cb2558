"""Train one cell: an architecture on one task (single-task) or all tasks (multi-task).

A multi-task step draws one batch from every task and follows the SUM of the task
gradients (each task's mean loss on its own batch). `step_mode` says how many
forward/backward passes compute it: fused, one over the concatenated batches; per-task, one
per task (as the paper's code); grouped, one per group of tasks whose inputs have similar
lengths (fewer passes than per-task, less padding than fused). Every `conflict_every` steps
the per-task gradients are measured on large batches and their Gram matrix logged.

Outputs (in `out_dir`): `model.safetensors` (final weights), `train_log.parquet` (step, task,
loss, learning_rate, grad_norm) and `conflict.parquet` (step, part, task_a, task_b, dot;
empty for single-task cells). While it runs, `checkpoint.pt` (checkpoint.py) lets a killed
run resume where it stopped. A non-finite loss or gradient, or running out of memory, stops
the run within the step, naming the cell, the step and the task; no output is written.
"""

from __future__ import annotations

import math
import random
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm
from transformers import AutoTokenizer, T5ForConditionalGeneration
from transformers.utils import logging as hf_logging

from taskconflict import checkpoint, registry
from taskconflict.batches import BatchStream, load_task_data, step_groups, stream_seed
from taskconflict.config import TrainConfig, to_json
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
    """Train the cell on `data` ({task: rendered train.parquet}) and write its outputs;
    resume from `out_dir`'s checkpoint if one was made for this cell, recipe and input."""
    torch.set_num_threads(cfg.threads)
    seed_everything(cell.seed)
    out_dir = Path(out_dir)
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

    # everything the rest of the run depends on, for the checkpoint
    checkpoint_path = out_dir / checkpoint.CHECKPOINT
    key = checkpoint.fingerprint({"cell": cell.id, "config": to_json(cfg)},
                                 [model_dir, *data.values()])

    def state(step: int) -> dict:  # reads the loop's variables as they are when called
        return {"step": step, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "streams": {t: s.state() for t, s in streams.items()},
                "probes": {t: s.state() for t, s in probes.items()},
                "rng": checkpoint.rng_state(), "log": log, "conflict": conflict,
                "loss_sums": loss_sums, "norm_sum": norm_sum, "since_log": since_log}

    resumed = checkpoint.load(checkpoint_path, key)
    if resumed is None:
        first = 1
        log, conflict = [], conflict_at(0) if measure else []
        loss_sums, norm_sum, since_log = dict.fromkeys(tasks, 0.0), 0.0, 0
    else:
        first = resumed["step"] + 1
        model.load_state_dict(resumed["model"])
        optimizer.load_state_dict(resumed["optimizer"])
        for task in tasks:
            streams[task].restore(resumed["streams"][task])
            probes[task].restore(resumed["probes"][task])
        log, conflict = resumed["log"], resumed["conflict"]
        loss_sums, norm_sum, since_log = (resumed["loss_sums"], resumed["norm_sum"],
                                          resumed["since_log"])
        checkpoint.set_rng_state(resumed["rng"])
        print(f"{cell.id}: resuming after step {resumed['step']}", file=sys.stderr)

    start = time.perf_counter()
    progress = tqdm(range(first, cfg.steps + 1), desc=cell.id, unit="step", file=sys.stderr,
                    mininterval=2.0, initial=first - 1, total=cfg.steps)
    with checkpoint.StopRequest() as stop:
        for step in progress:
            current_lr = lr * min(1.0, step / cfg.warmup_steps) if cfg.warmup_steps else lr
            for group in optimizer.param_groups:
                group["lr"] = current_lr

            # the multi-task gradient: the sum of every task's mean-loss gradient, accumulated
            # over one forward/backward per group of tasks (step_mode)
            batches = {task: streams[task].next() for task in tasks}
            losses = {}
            try:
                for group in step_groups(batches, cfg.step_mode):
                    group_losses = model.task_losses({task: batches[task] for task in group})
                    sum(group_losses.values()).backward()
                    losses.update({t: loss.item() for t, loss in group_losses.items()})
            except (torch.OutOfMemoryError, MemoryError, RuntimeError) as error:
                if not out_of_memory(error):
                    raise
                width = max(b.input_ids.shape[1] for b in batches.values())
                raise MemoryError(
                    f"{cell.id}: out of memory at step {step} ({cfg.batch_size} examples per "
                    f"task, inputs up to {width} tokens); lower train.batch_size or "
                    "max_input_length, or raise the job's memory (resources.mem_mb)") from error
            grad_norm = torch.nn.utils.clip_grad_norm_(params, cfg.clip_norm).item()
            check_finite(cell, step, losses, grad_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

            for task, loss in losses.items():
                loss_sums[task] += loss
            norm_sum += grad_norm
            since_log += 1
            if step % cfg.log_every == 0 or step == cfg.steps:
                for task in tasks:
                    log.append({"step": step, "task": task, "loss": loss_sums[task] / since_log,
                                "learning_rate": current_lr,
                                "grad_norm": norm_sum / since_log})
                progress.set_postfix(loss=f"{sum(losses.values()):.3f}", steps_per_s=(
                    f"{(step - first + 1) / (time.perf_counter() - start):.1f}"))
                loss_sums = dict.fromkeys(tasks, 0.0)
                norm_sum, since_log = 0.0, 0
            if measure and (step % cfg.conflict_every == 0 or step == cfg.steps):
                conflict += conflict_at(step)

            every = cfg.checkpoint_every
            if stop or step == cfg.steps or (every and step % every == 0):
                checkpoint.save(checkpoint_path, key, state(step))
            if stop:
                progress.close()
                name = signal.Signals(stop.signal).name
                print(f"{cell.id}: {name} after step {step}; checkpoint written, the same "
                      "command resumes it", file=sys.stderr)
                raise SystemExit(128 + stop.signal)
    progress.close()

    write_parquet(pd.DataFrame(log), out_dir / "train_log.parquet")
    conflict_frame = (pd.concat(conflict, ignore_index=True) if conflict
                      else pd.DataFrame({c: pd.Series(dtype=t)
                                         for c, t in CONFLICT_COLUMNS.items()}))
    write_parquet(conflict_frame, out_dir / "conflict.parquet")
    save_weights(model, out_dir / "model.safetensors")


def out_of_memory(error: BaseException) -> bool:
    """CUDA raises OutOfMemoryError; the CPU allocator a RuntimeError that says so."""
    return (isinstance(error, (torch.OutOfMemoryError, MemoryError))
            or "can't allocate memory" in str(error))


def check_finite(cell: Cell, step: int, losses: dict[str, float], grad_norm: float) -> None:
    """Stop before a non-finite loss or gradient reaches the weights."""
    bad = {task: loss for task, loss in losses.items() if not math.isfinite(loss)}
    if bad:
        found = ", ".join(f"{task} {loss}" for task, loss in bad.items())
        raise FloatingPointError(f"{cell.id}: non-finite loss at step {step} ({found}); "
                                 "nothing was written: lower the learning rate or check "
                                 "the task's data")
    if not math.isfinite(grad_norm):
        raise FloatingPointError(f"{cell.id}: gradient norm is {grad_norm} at step {step}; "
                                 "nothing was written: lower the learning rate")
