"""Tokenised task data and the seeded batch streams the training loop draws from."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from transformers import PreTrainedTokenizerBase

from taskconflict import registry
from taskconflict.models import IGNORE, Batch, concat


@dataclass
class TaskData:
    """One split of one task, tokenised once: encoder inputs plus targets (target token ids
    for generative models, labels for canonical heads)."""

    task: registry.Task
    inputs: list[torch.Tensor]
    targets: list[torch.Tensor] | torch.Tensor
    frame: pd.DataFrame

    def __len__(self) -> int:
        return len(self.inputs)

    def batch(self, indices: list[int]) -> Batch:
        inputs = [self.inputs[i].unsqueeze(0) for i in indices]
        input_ids = concat(inputs, 0)
        mask = concat([torch.ones_like(x) for x in inputs], 0)
        if isinstance(self.targets, list):
            targets = concat([self.targets[i].unsqueeze(0) for i in indices], IGNORE)
        else:
            targets = self.targets[indices]
        return Batch(input_ids, mask, targets)


def load_task_data(task: registry.Task, path: str | Path, tokenizer: PreTrainedTokenizerBase,
                   max_input_length: int, max_target_length: int,
                   generative: bool) -> TaskData:
    """Read a rendered split (`source`, `target`, `label`) and tokenise it."""
    frame = pd.read_parquet(path)
    missing = {"source", "target", "label"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    encode = tokenizer(list(frame["source"]), truncation=True, max_length=max_input_length)
    inputs = [torch.tensor(ids) for ids in encode["input_ids"]]
    if generative:
        encoded = tokenizer(list(frame["target"]), truncation=True, max_length=max_target_length)
        targets: list[torch.Tensor] | torch.Tensor = [
            torch.tensor(ids) for ids in encoded["input_ids"]
        ]
    elif task.kind == registry.REGRESSION:
        targets = torch.tensor(frame["label"].to_numpy(), dtype=torch.float32)
    else:
        targets = torch.tensor(frame["label"].to_numpy(), dtype=torch.long)
    return TaskData(task, inputs, targets, frame)


def stream_seed(*parts: object) -> int:
    return zlib.crc32("/".join(map(str, parts)).encode())


class BatchStream:
    """Endless batches of one task: a fresh seeded permutation every epoch."""

    def __init__(self, data: TaskData, batch_size: int, seed: int):
        self.data = data
        self.batch_size = batch_size
        self.generator = torch.Generator().manual_seed(seed)
        self.order: list[int] = []

    def next(self) -> Batch:
        while len(self.order) < self.batch_size:
            self.order += torch.randperm(len(self.data), generator=self.generator).tolist()
        indices, self.order = self.order[: self.batch_size], self.order[self.batch_size :]
        return self.data.batch(indices)


def eval_batches(data: TaskData, batch_size: int):
    for start in range(0, len(data), batch_size):
        yield data.batch(list(range(start, min(start + batch_size, len(data)))))
