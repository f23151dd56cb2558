"""Per-task gradients for conflict measurement.

At a measurement step each task's gradient is taken on a large batch (the mean over several
micro-batches), with the model in eval mode. The micro-batches' gradients add up in `.grad`
on the model's device and are flattened once per task into one fp32 vector per part of the
network (the encoder; the decoder where it is shared), never copied to the host. Under bf16
the passes are autocast like training's, but the gradients stay fp32 (the weights are fp32)
and the K x K Gram matrix that the conflict measures need (`conflict.py`) is float64.
"""

from __future__ import annotations

import torch
from torch import nn

from taskconflict import devices
from taskconflict.conflict import gram_matrix
from taskconflict.models import Batch, MultiTaskModel


def flat_gradient(params: list[nn.Parameter]) -> torch.Tensor:
    """The parameters' `.grad` as one fp32 vector (zeros where a parameter got none)."""
    return torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).flatten().float()
                      for p in params])


def task_gradient(model: MultiTaskModel, task: str, batches: list[Batch],
                  parts: dict[str, list[nn.Parameter]],
                  precision: str = "fp32") -> dict[str, torch.Tensor]:
    """The gradient of the task's mean loss over `batches` (already on the model's device),
    flattened per part."""
    device = next(model.parameters()).device
    model.zero_grad(set_to_none=devices.frees_gradients(device))
    for batch in batches:
        with devices.autocast(device, precision):
            loss = model.task_losses({task: batch})[task] / len(batches)
        loss.backward()
    return {part: flat_gradient(params) for part, params in parts.items()}


def measure_grams(model: MultiTaskModel, batches: dict[str, list[Batch]],
                  parts: dict[str, list[nn.Parameter]],
                  precision: str = "fp32") -> dict[str, object]:
    """The Gram matrix of the task gradients in each part; leaves no gradient behind."""
    was_training = model.training
    model.eval()
    vectors: dict[str, list[torch.Tensor]] = {part: [] for part in parts}
    for task, task_batches in batches.items():
        for part, vector in task_gradient(model, task, task_batches, parts, precision).items():
            vectors[part].append(vector)
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    return {part: gram_matrix(vs) for part, vs in vectors.items()}
