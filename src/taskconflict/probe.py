"""Per-task gradients for conflict measurement.

At a measurement step each task's gradient is taken on a large batch (the mean over several
micro-batches), with the model in eval mode, and kept as one flat fp32 vector per part of the
network (the encoder; the decoder where it is shared). The K x K Gram matrix of these vectors
is all the conflict measures need (`conflict.py`).
"""

from __future__ import annotations

import torch
from torch import nn

from taskconflict.conflict import gram_matrix
from taskconflict.models import Batch, MultiTaskModel


def task_gradient(model: MultiTaskModel, task: str, batches: list[Batch],
                  parts: dict[str, list[nn.Parameter]]) -> dict[str, torch.Tensor]:
    """The gradient of the task's mean loss over `batches`, flattened per part."""
    model.zero_grad(set_to_none=True)
    for batch in batches:
        loss = model.task_losses({task: batch})[task] / len(batches)
        loss.backward()
    return {
        part: torch.cat([
            (p.grad if p.grad is not None else torch.zeros_like(p)).flatten().float()
            for p in params
        ])
        for part, params in parts.items()
    }


def measure_grams(model: MultiTaskModel, batches: dict[str, list[Batch]],
                  parts: dict[str, list[nn.Parameter]]) -> dict[str, object]:
    """The Gram matrix of the task gradients in each part; leaves no gradient behind."""
    was_training = model.training
    model.eval()
    vectors: dict[str, list[torch.Tensor]] = {part: [] for part in parts}
    for task, task_batches in batches.items():
        for part, vector in task_gradient(model, task, task_batches, parts).items():
            vectors[part].append(vector)
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    return {part: gram_matrix(torch.stack(vs)) for part, vs in vectors.items()}
