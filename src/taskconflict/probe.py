"""Per-task gradients for conflict measurement, and each probe micro-batch's squared norm.

At a measurement step each task's gradient is taken on a large batch (the mean over several
micro-batches), with the model in eval mode. Each micro-batch is backpropagated on its own
(its loss divided by the number of micro-batches, as before), flattened per part of the
network (the encoder; the decoder where it is shared) into one fp32 vector and added to that
part's running fp32 sum, never copied to the host. The sum is the big-batch gradient: the
same fp32 additions, in the same order, that accumulating in `.grad` performed, so the Gram
matrix is bit-for-bit what a single flatten after all micro-batches gives. Under bf16 the
passes are autocast like training's, but the gradients stay fp32 (the weights are fp32) and
the K x K Gram matrix that the conflict measures need (`conflict.py`) is float64.

Each micro-batch's own squared gradient norm is kept too (float64, a few numbers per task and
part): with the Gram diagonal (the big batch's squared norm) it gives the gradient-noise
estimates of `noise.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from taskconflict import devices
from taskconflict.conflict import gram_matrix
from taskconflict.models import Batch, MultiTaskModel
from taskconflict.noise import norms_to_frame


def flat_gradient(params: list[nn.Parameter]) -> torch.Tensor:
    """The parameters' `.grad` as one fp32 vector (zeros where a parameter got none)."""
    return torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).flatten().float()
                      for p in params])


def squared_norm(vector: torch.Tensor, chunk: int = 1 << 22) -> torch.Tensor:
    """|v|^2 accumulated in float64 on the vector's device (a 0-d tensor), `chunk` entries
    at a time as `gram_matrix` does, so no float64 copy of the whole vector is made."""
    total = torch.zeros((), dtype=torch.float64, device=vector.device)
    for start in range(0, vector.numel(), chunk):
        block = vector[start : start + chunk].detach().to(torch.float64)
        total += torch.dot(block, block)
    return total


def task_probe(model: MultiTaskModel, task: str, batches: list[Batch],
               parts: dict[str, list[nn.Parameter]], precision: str = "fp32"
               ) -> tuple[dict[str, torch.Tensor], dict[str, list[torch.Tensor]]]:
    """The gradient of the task's mean loss over `batches` (already on the model's device),
    flattened per part, and per part the squared norm of each micro-batch's own gradient
    (of its mean loss: n^2 |grad(loss / n)|^2 for n micro-batches; 0-d float64 tensors on
    the device, so no step waits for the host)."""
    device = next(model.parameters()).device
    free = devices.frees_gradients(device)
    n = len(batches)
    totals: dict[str, torch.Tensor] = {}
    norms: dict[str, list[torch.Tensor]] = {part: [] for part in parts}
    for batch in batches:
        model.zero_grad(set_to_none=free)
        with devices.autocast(device, precision):
            loss = model.task_losses({task: batch})[task] / n
        loss.backward()
        for part, params in parts.items():
            flat = flat_gradient(params)  # a fresh tensor (torch.cat copies)
            norms[part].append(squared_norm(flat) * (n * n))
            if part in totals:
                totals[part] += flat
            else:
                totals[part] = flat
    return totals, norms


def task_gradient(model: MultiTaskModel, task: str, batches: list[Batch],
                  parts: dict[str, list[nn.Parameter]],
                  precision: str = "fp32") -> dict[str, torch.Tensor]:
    """The gradient of the task's mean loss over `batches` (already on the model's device),
    flattened per part."""
    return task_probe(model, task, batches, parts, precision)[0]


@dataclass(frozen=True)
class Probe:
    """One measurement: the task gradients' Gram matrices and the micro-batch norms."""

    tasks: tuple[str, ...]
    """The tasks in Gram order."""
    grams: dict[str, np.ndarray]
    """part -> K x K float64 Gram matrix of the big-batch task gradients."""
    micro_norms: dict[str, dict[str, list[float]]]
    """part -> task -> squared norm of each micro-batch's gradient, in draw order."""
    examples: dict[str, list[int]]
    """task -> examples in each micro-batch."""

    def norms_frame(self, step: int) -> pd.DataFrame:
        """The micro-batch norms as probe_norms.parquet rows (`noise.NORM_COLUMNS`)."""
        return norms_to_frame(step, self.micro_norms, self.examples)


def measure_probe(model: MultiTaskModel, batches: dict[str, list[Batch]],
                  parts: dict[str, list[nn.Parameter]], precision: str = "fp32") -> Probe:
    """The Gram matrix of the task gradients in each part and every micro-batch's squared
    gradient norm; leaves no gradient behind."""
    was_training = model.training
    model.eval()
    vectors: dict[str, list[torch.Tensor]] = {part: [] for part in parts}
    norms: dict[str, dict[str, list[torch.Tensor]]] = {part: {} for part in parts}
    for task, task_batches in batches.items():
        totals, micro = task_probe(model, task, task_batches, parts, precision)
        for part in parts:
            vectors[part].append(totals[part])
            norms[part][task] = micro[part]
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    grams = {part: gram_matrix(vs) for part, vs in vectors.items()}
    micro_norms = {part: {task: torch.stack(values).cpu().tolist() if values else []
                          for task, values in by_task.items()}
                   for part, by_task in norms.items()}
    return Probe(tasks=tuple(batches), grams=grams, micro_norms=micro_norms,
                 examples={task: [len(b) for b in bs] for task, bs in batches.items()})


def measure_grams(model: MultiTaskModel, batches: dict[str, list[Batch]],
                  parts: dict[str, list[nn.Parameter]],
                  precision: str = "fp32") -> dict[str, np.ndarray]:
    """The Gram matrix of the task gradients in each part; leaves no gradient behind."""
    return measure_probe(model, batches, parts, precision).grams
