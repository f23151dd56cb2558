"""Train one cell: an architecture on one task (single-task) or all tasks (multi-task).

A multi-task step draws one batch from every task and follows the SUM of the task
gradients (each task's mean loss on its own batch). `step_mode` says how many
forward/backward passes compute it: fused, one over the concatenated batches; per-task, one
per task (as the paper's code); grouped, one per group of tasks whose inputs have similar
lengths (fewer passes than per-task, less padding than fused). Every `conflict_every` steps
the per-task gradients are measured on large batches and their Gram matrix logged.

Outputs (in `out_dir`): `model.safetensors` (final weights), `train_log.parquet` (step, task,
loss, learning_rate, grad_norm), `conflict.parquet` (step, part, task_a, task_b, dot;
empty for single-task cells) and `probe_norms.parquet` (step, part, task, micro_batch,
examples, sq_norm: each probe micro-batch's squared gradient norm, for noise.py; empty for
single-task cells). While it runs, `checkpoint.pt` (checkpoint.py) lets a killed
run resume where it stopped. A non-finite loss or gradient, or running out of memory, stops
the run within the step, naming the cell, the step and the task; no output is written.
"""

from __future__ import annotations

import dataclasses
import math
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch
from torch import nn
from tqdm import tqdm
from transformers import AutoTokenizer, get_scheduler, set_seed

from taskconflict import aggregators, checkpoint, devices, registry
from taskconflict.batches import (
    BatchStream,
    load_task_data,
    resolve_step_mode,
    step_groups,
    stream_seed,
)
from taskconflict.config import TrainConfig
from taskconflict.conflict import gram_matrix, gram_to_frame
from taskconflict.grid import Cell
from taskconflict.io import write_parquet
from taskconflict.models import Batch, MultiTaskModel, load_model
from taskconflict.noise import NORM_COLUMNS
from taskconflict.probe import measure_probe
from taskconflict.weights import save_weights

CONFLICT_COLUMNS = {"step": "int64", "part": "string", "task_a": "string", "task_b": "string",
                    "dot": "float64"}


def learning_rate_schedule(optimizer: torch.optim.Optimizer, cfg: TrainConfig):
    """transformers' schedule of the recipe: linear warm-up from 0 over `warmup_steps`, then
    constant, or linear or cosine decay to 0 at the last step. Stepped after each update, so
    step s (from 1) trains at the rate of s - 1 steps in (0 on the first warm-up step)."""
    name = "constant_with_warmup" if cfg.schedule == "constant" else cfg.schedule
    return get_scheduler(name, optimizer, num_warmup_steps=cfg.warmup_steps,
                         num_training_steps=cfg.steps)


@dataclass
class LoopState:
    """What the training loop carries from one step to the next. The checkpoint saves exactly
    this, beside the model, the optimizer, the batch streams and the random states."""

    tasks: list[str]
    step: int = 0
    log: list[dict] = field(default_factory=list)
    conflict: list[pd.DataFrame] = field(default_factory=list)
    probe_norms: list[pd.DataFrame] = field(default_factory=list)
    loss_sums: dict[str, float] = field(default_factory=dict)
    norm_sum: float = 0.0
    since_log: int = 0

    def add(self, step: int, losses: dict[str, float], grad_norm: float) -> None:
        self.step = step
        for task, loss in losses.items():
            self.loss_sums[task] = self.loss_sums.get(task, 0.0) + loss
        self.norm_sum += grad_norm
        self.since_log += 1

    def flush_log(self, learning_rate: float) -> None:
        """One row per task: the mean loss and gradient norm since the last row."""
        for task in self.tasks:
            self.log.append({"step": self.step, "task": task,
                             "loss": self.loss_sums.get(task, 0.0) / self.since_log,
                             "learning_rate": learning_rate,
                             "grad_norm": self.norm_sum / self.since_log})
        self.loss_sums, self.norm_sum, self.since_log = {}, 0.0, 0


class NonFiniteStep(FloatingPointError):
    """A step whose loss or gradient norm is not finite; the update was not applied."""

    def __init__(self, losses: dict[str, float], grad_norm: float):
        self.losses, self.grad_norm = losses, grad_norm
        super().__init__(self.at("this step"))

    def at(self, where: str) -> str:
        bad = {task: loss for task, loss in self.losses.items() if not math.isfinite(loss)}
        if bad:
            found = ", ".join(f"{task} {loss}" for task, loss in bad.items())
            return (f"non-finite loss at {where} ({found}); nothing was written: lower the "
                    "learning rate or check the task's data")
        return (f"gradient norm is {self.grad_norm} at {where}; nothing was written: lower "
                "the learning rate")


def multitask_step(model: MultiTaskModel, optimizer: torch.optim.Optimizer,
                   batches: dict[str, Batch], step_mode: str, precision: str,
                   clip_norm: float) -> tuple[dict[str, float], float]:
    """One optimizer step on the SUM of the task gradients, each task's the gradient of its
    mean loss on its own batch, accumulated in `.grad` over one forward/backward per group of
    tasks (`step_mode`). The losses and the clipped gradient's norm come back to the host in
    one read, the step's only synchronisation; a non-finite one raises NonFiniteStep before
    the weights change."""
    device = next(model.parameters()).device
    losses: dict[str, torch.Tensor] = {}
    for group in step_groups(batches, step_mode):
        with devices.autocast(device, precision):
            group_losses = model.task_losses({task: batches[task] for task in group})
        sum(group_losses.values()).backward()
        losses.update(group_losses)
    return apply_update(optimizer, losses, clip_norm, device)


def apply_update(optimizer: torch.optim.Optimizer, losses: dict[str, torch.Tensor],
                 clip_norm: float, device: torch.device) -> tuple[dict[str, float], float]:
    """Clip the gradient in `.grad` and step, unless a loss or the norm is not finite; the
    losses and the norm come back to the host in one read."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    grad_norm = torch.nn.utils.clip_grad_norm_(params, clip_norm)
    values = torch.stack([*(loss.detach().float() for loss in losses.values()),
                          grad_norm.float()]).tolist()
    task_losses = dict(zip(losses, values[:-1], strict=True))
    if not all(map(math.isfinite, values)):
        raise NonFiniteStep(task_losses, values[-1])
    optimizer.step()
    optimizer.zero_grad(set_to_none=devices.frees_gradients(device))
    return task_losses, values[-1]


class AggregatedStep:
    """A multi-task step whose shared parameters follow sum_k w_k g_k instead of the sum: the
    weights come from the K x K Gram matrix of the task gradients by a TorchJD weighting
    (`aggregators.py`); a parameter only one task reaches (a canonical head, a
    text-to-text-id decoder) keeps that task's gradient. One backward per task: its shared
    gradient goes into row k of one K x P buffer on the device, kept from step to step, and
    the Gram matrix is taken there in float64 (`conflict.gram_matrix`)."""

    def __init__(self, aggregator: str):
        self.weighting = aggregators.build(aggregator)  # kept: some weightings have a state
        self.shared: list[int] | None = None
        """Indices (in the optimizer's parameter list) of the parameters several tasks reach,
        found on the first step; `sizes` their element counts, `owned` the others."""
        self.sizes: list[int] = []
        self.owned: list[int] = []
        self.buffer: torch.Tensor | None = None

    def __call__(self, model: MultiTaskModel, optimizer: torch.optim.Optimizer,
                 batches: dict[str, Batch], precision: str,
                 clip_norm: float) -> tuple[dict[str, float], float]:
        device = next(model.parameters()).device
        params = [p for group in optimizer.param_groups for p in group["params"]]
        losses: dict[str, torch.Tensor] = {}
        own: list[torch.Tensor | None] = [None] * len(params)
        first_step: list[tuple[torch.Tensor | None, ...]] = []
        for k, (task, batch) in enumerate(batches.items()):
            with devices.autocast(device, precision):
                losses[task] = model.task_losses({task: batch})[task]
            grads = torch.autograd.grad(losses[task], params, allow_unused=True)
            if self.shared is None:  # which parameters are shared is known after every task
                first_step.append(grads)
            else:
                self._store(k, grads, own)
        if self.shared is None:
            self._find_shared(first_step, params, device)
            for k, grads in enumerate(first_step):
                self._store(k, grads, own)
        assert self.buffer is not None and self.shared is not None
        gram = torch.from_numpy(gram_matrix(self.buffer)).to(device)
        w = aggregators.weights(self.weighting, gram)
        update = w.to(self.buffer.dtype) @ self.buffer
        for p, g in zip(params, own, strict=True):
            p.grad = g
        offset = 0
        for i, size in zip(self.shared, self.sizes, strict=True):
            params[i].grad = update[offset : offset + size].view_as(params[i]).to(
                params[i].dtype)
            offset += size
        return apply_update(optimizer, losses, clip_norm, device)

    def _find_shared(self, grads: list[tuple[torch.Tensor | None, ...]],
                     params: list[nn.Parameter], device: torch.device) -> None:
        reached = [sum(task_grads[i] is not None for task_grads in grads)
                   for i in range(len(params))]
        self.shared = [i for i, n in enumerate(reached) if n > 1]
        self.owned = [i for i, n in enumerate(reached) if n <= 1]
        self.sizes = [params[i].numel() for i in self.shared]
        self.buffer = torch.zeros(len(grads), sum(self.sizes), dtype=torch.float32,
                                  device=device)

    def _store(self, k: int, grads: tuple[torch.Tensor | None, ...],
               own: list[torch.Tensor | None]) -> None:
        """Task k's shared gradient into buffer row k (zeros where it reaches a shared
        parameter not at all); the rest adds to the parameters' own gradient."""
        assert self.buffer is not None and self.shared is not None
        offset = 0
        for i, size in zip(self.shared, self.sizes, strict=True):
            segment = self.buffer[k, offset : offset + size]
            if grads[i] is None:
                segment.zero_()
            else:
                segment.copy_(grads[i].flatten())
            offset += size
        for i in self.owned:
            if grads[i] is not None:
                own[i] = grads[i] if own[i] is None else own[i] + grads[i]


def measure_conflict(model: MultiTaskModel, probes: dict[str, BatchStream],
                     parts: dict[str, list], cfg: TrainConfig, step: int,
                     device: torch.device, loop: LoopState) -> None:
    """Measure at `step`: the task gradients' Gram matrices go to `loop.conflict` as
    conflict.parquet rows, the micro-batch norms to `loop.probe_norms` (probe_norms.parquet)."""
    batches = {task: [stream.next().to(device) for _ in range(cfg.conflict_batches)]
               for task, stream in probes.items()}
    probe = measure_probe(model, batches, parts, cfg.precision)
    loop.conflict += [gram_to_frame(step, part, list(probes), gram)
                      for part, gram in probe.grams.items()]
    loop.probe_norms.append(probe.norms_frame(step))


def save_state(path: Path, key: str, model: nn.Module, optimizer: torch.optim.Optimizer,
               schedule, streams: dict[str, dict[str, BatchStream]], loop: LoopState, *,
               weighting: object = None) -> None:
    """`weighting`: an aggregated step's TorchJD weighting (some keep a state), pickled."""
    checkpoint.save(path, key, {
        "model": model.state_dict(), "optimizer": optimizer.state_dict(),
        "schedule": schedule.state_dict(), "weighting": weighting,
        "streams": {kind: {t: s.state() for t, s in group.items()}
                    for kind, group in streams.items()},
        "rng": checkpoint.rng_state(), "loop": dict(vars(loop)),
    })


def restore_state(state: dict, model: nn.Module, optimizer: torch.optim.Optimizer, schedule,
                  streams: dict[str, dict[str, BatchStream]]) -> LoopState:
    """Put a checkpoint's state back; the loop goes on after its step."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])  # moves the moments to the model's device
    schedule.load_state_dict(state["schedule"])
    for kind, group in streams.items():
        for task, stream in group.items():
            stream.restore(state["streams"][kind][task])
    checkpoint.set_rng_state(state["rng"])
    return LoopState(**state["loop"])


def train_cell(cell: Cell, cfg: TrainConfig, model_dir: str | Path,
               data: dict[str, str | Path], out_dir: str | Path,
               device: str | torch.device | None = None) -> dict:
    """Train the cell on `data` ({task: rendered train.parquet}) and write its outputs;
    resume from `out_dir`'s checkpoint if one was made for this cell, recipe and input.
    Runs on `device` (default: `cfg.device` resolved); returns what the run cost."""
    device = torch.device(device) if device is not None else devices.resolve_device(cfg.device)
    devices.configure(device, cfg.precision)
    step_mode = resolve_step_mode(cfg.step_mode, device)
    # the paper's step sums the task gradients; another aggregator needs them one by one
    aggregated = (AggregatedStep(cell.aggregator)
                  if cell.multi_task and cell.aggregator != "sum" else None)
    if aggregated is not None:
        step_mode = "per-task"
    torch.set_num_threads(cfg.threads)
    set_seed(cell.seed)  # python, numpy and torch
    out_dir = Path(out_dir)
    tasks = list(data)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = load_model(cell, model_dir, tasks, cfg).to(device)
    model.train()

    # data: one seeded batch stream per task, and separate ones for conflict probes, so
    # measuring conflict never changes what the model is trained on
    train_data = {
        task: load_task_data(registry.get_task(task), path, tokenizer, cfg.max_input_length,
                             cfg.max_target_length, target=model.target(task))
        for task, path in data.items()
    }
    streams = {
        "train": {t: BatchStream(d, cfg.batch_size, stream_seed(cell.seed, t, "train"))
                  for t, d in train_data.items()},
        "probe": {t: BatchStream(d, cfg.conflict_batch_size, stream_seed(cell.seed, t, "probe"))
                  for t, d in train_data.items()},
    }
    measure = cell.multi_task and cfg.conflict_every > 0
    parts = {"encoder": model.encoder_parameters(cfg.conflict_parameters)}
    if cell.measure_decoder and model.decoder_parameters(cfg.conflict_parameters):
        parts["decoder"] = model.decoder_parameters(cfg.conflict_parameters)
    conflict_parameters = {part: {"tensors": len(tensors),
                                  "parameters": sum(p.numel() for p in tensors.values())}
                           for part, tensors in parts.items()} if measure else {}
    parts = {part: list(tensors.values()) for part, tensors in parts.items()}

    lr = cfg.lr_multi_task if cell.multi_task else cfg.lr_single_task
    params = [p for p in model.parameters() if p.requires_grad]
    # fused: one kernel for every parameter's update (CPU and GPU), not one per tensor
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0, fused=True)
    schedule = learning_rate_schedule(optimizer, cfg)

    # what a checkpoint is valid for: not the device, so a run may resume on another one
    checkpoint_path = out_dir / checkpoint.CHECKPOINT
    recipe = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in ("device", "threads")}
    key = checkpoint.fingerprint({"cell": cell.id, "config": recipe}, [model_dir, *data.values()])
    costs = {"conflict_s": 0.0, "examples": 0, "tokens": 0}
    resumed = checkpoint.load(checkpoint_path, key)
    if resumed is None:
        loop = LoopState(tasks)
        if measure:
            started = time.perf_counter()
            measure_conflict(model, streams["probe"], parts, cfg, 0, device, loop)
            costs["conflict_s"] += time.perf_counter() - started
    else:
        loop = restore_state(resumed, model, optimizer, schedule, streams)
        if aggregated is not None:
            aggregated.weighting = resumed["weighting"]
        print(f"{cell.id}: resuming after step {loop.step}", file=sys.stderr)

    first = loop.step + 1
    with devices.peak_memory(device) as memory, checkpoint.StopRequest() as stop:
        devices.synchronize(device)
        start, conflict_before = time.perf_counter(), costs["conflict_s"]
        progress = tqdm(range(first, cfg.steps + 1), desc=cell.id, unit="step",
                        file=sys.stderr, mininterval=2.0, initial=first - 1, total=cfg.steps)
        for step in progress:
            current_lr = schedule.get_last_lr()[0]
            batches = {task: stream.next() for task, stream in streams["train"].items()}
            costs["examples"] += sum(len(b) for b in batches.values())
            costs["tokens"] += sum(int(b.attention_mask.sum()) for b in batches.values())
            batches = {task: batch.to(device) for task, batch in batches.items()}
            try:
                if aggregated is None:
                    losses, grad_norm = multitask_step(model, optimizer, batches, step_mode,
                                                       cfg.precision, cfg.clip_norm)
                else:
                    losses, grad_norm = aggregated(model, optimizer, batches, cfg.precision,
                                                   cfg.clip_norm)
            except NonFiniteStep as error:
                raise FloatingPointError(f"{cell.id}: {error.at(f'step {step}')}") from None
            except (torch.OutOfMemoryError, MemoryError, RuntimeError) as error:
                if not out_of_memory(error):
                    raise
                width = max(b.input_ids.shape[1] for b in batches.values())
                raise MemoryError(
                    f"{cell.id}: out of memory at step {step} ({cfg.batch_size} examples per "
                    f"task, inputs up to {width} tokens); lower train.batch_size or "
                    "max_input_length, or raise the job's memory (resources.mem_mb)") from error
            schedule.step()

            loop.add(step, losses, grad_norm)
            if step % cfg.log_every == 0 or step == cfg.steps:
                loop.flush_log(current_lr)
                progress.set_postfix(loss=f"{sum(losses.values()):.3f}", steps_per_s=(
                    f"{(step - first + 1) / (time.perf_counter() - start):.1f}"))
            if measure and (step % cfg.conflict_every == 0 or step == cfg.steps):
                started = time.perf_counter()
                measure_conflict(model, streams["probe"], parts, cfg, step, device, loop)
                costs["conflict_s"] += time.perf_counter() - started

            every = cfg.checkpoint_every
            if stop or step == cfg.steps or (every and step % every == 0):
                save_state(checkpoint_path, key, model, optimizer, schedule, streams, loop,
                           weighting=aggregated.weighting if aggregated is not None else None)
            if stop:
                progress.close()
                name = signal.Signals(stop.signal).name
                print(f"{cell.id}: {name} after step {step}; checkpoint written, the same "
                      "command resumes it", file=sys.stderr)
                raise SystemExit(128 + stop.signal)
        progress.close()
        devices.synchronize(device)
        # the loop's time less its conflict measurements (step 0's came before the loop)
        train_s = max(time.perf_counter() - start - (costs["conflict_s"] - conflict_before),
                      1e-9)

    write_parquet(pd.DataFrame(loop.log), out_dir / "train_log.parquet")
    conflict_frame = (pd.concat(loop.conflict, ignore_index=True) if loop.conflict
                      else pd.DataFrame({c: pd.Series(dtype=t)
                                         for c, t in CONFLICT_COLUMNS.items()}))
    write_parquet(conflict_frame, out_dir / "conflict.parquet")
    norms_frame = (pd.concat(loop.probe_norms, ignore_index=True) if loop.probe_norms
                   else pd.DataFrame({c: pd.Series(dtype=t) for c, t in NORM_COLUMNS.items()}))
    write_parquet(norms_frame, out_dir / "probe_norms.parquet")
    save_weights(model, out_dir / "model.safetensors")
    steps_run = cfg.steps - first + 1
    return {"step_mode": step_mode, "steps": cfg.steps, "steps_timed": steps_run,
            "train_s": train_s, "conflict_s": costs["conflict_s"],
            "steps_per_s": steps_run / train_s, "examples_per_s": costs["examples"] / train_s,
            "input_tokens_per_s": costs["tokens"] / train_s,
            "train_peak_memory_mb": memory["peak_memory_mb"],
            "conflict_parameters": conflict_parameters}


def out_of_memory(error: BaseException) -> bool:
    """CUDA raises OutOfMemoryError; the CPU allocator a RuntimeError that says so."""
    return (isinstance(error, (torch.OutOfMemoryError, MemoryError))
            or "can't allocate memory" in str(error))
