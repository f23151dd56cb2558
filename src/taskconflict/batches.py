"""Tokenised task data and the seeded batch streams the training loop draws from."""

from __future__ import annotations

import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from transformers import PreTrainedTokenizerBase

from taskconflict import factors, registry
from taskconflict.models import IGNORE, LABEL, SCORE, SPAN_TARGET, TOKENS, Batch, concat
from taskconflict.registry import NOT_A_SPAN


@dataclass
class TaskData:
    """One split of one task, tokenised once: encoder inputs plus targets (target token ids,
    class indices, scores, or answer token positions; see `models.TOKENS` etc.)."""

    task: registry.Task
    inputs: list[torch.Tensor]
    targets: list[torch.Tensor] | torch.Tensor
    frame: pd.DataFrame
    offsets: list[list[tuple[int, int]]] | None = None
    """Character offsets of each input token in `frame.source` (span targets only)."""
    lost_answers: int = 0
    """Answers that are not in the (truncated) input: no span target can point at them."""
    not_spans: int = 0
    """Rows whose gold answer is no span of the context (`answer_start` NOT_A_SPAN); their span
    target is (NOT_A_SPAN, NOT_A_SPAN), which no loss accepts."""
    trainable: list[int] | None = None
    """The rows a training stream draws (None: all): span targets leave out the NOT_A_SPAN rows
    and the answers truncation cut off, which evaluation still predicts and scores by text."""

    @property
    def drawable(self) -> list[int] | range:
        """The rows a training stream draws from: `trainable`, or all of them."""
        return self.trainable if self.trainable is not None else range(len(self))

    def span_text(self, row: int, span: tuple[int, int] | None) -> str:
        """The input text between two token positions; "unanswerable" for no span."""
        if span is None or self.offsets is None:
            return registry.UNANSWERABLE
        start, end = span
        offsets = self.offsets[row]
        end = min(end, len(offsets) - 1)
        return self.frame["source"].iloc[row][offsets[start][0] : offsets[end][1]].strip()

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
                   max_input_length: int, max_target_length: int, target: str) -> TaskData:
    """Read a rendered split (`source`, `target`, `label`, ...) and tokenise it for a model
    that trains on `target` (tokens, label, score or span)."""
    frame = pd.read_parquet(path)
    needed = {"source", "target"}
    if task.kind in (registry.CLASSIFICATION, registry.REGRESSION):
        needed.add("label")
    if target == SPAN_TARGET:
        needed |= {"context", "answer", "answer_start"}
    missing = needed - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    check_rows(task, frame, path)
    spans = task.kind == registry.SPAN
    encoded = tokenizer(list(frame["source"]), truncation=True, max_length=max_input_length,
                        return_offsets_mapping=spans)
    inputs = [torch.tensor(ids) for ids in encoded["input_ids"]]
    data = TaskData(task, inputs, [], frame)
    if spans:  # for every architecture: how many answers truncation cut off
        data.offsets = [list(map(tuple, o)) for o in encoded["offset_mapping"]]
        positions = [_token_span(row, offsets) for row, offsets in
                     zip(frame.itertuples(), data.offsets, strict=True)]
        data.lost_answers = sum(p is None for p in positions)
    if target == TOKENS:
        answers = tokenizer(list(frame["target"]), truncation=True, max_length=max_target_length)
        data.targets = [torch.tensor(ids) for ids in answers["input_ids"]]
    elif target == SCORE:
        data.targets = torch.tensor(frame["label"].to_numpy(), dtype=torch.float32)
    elif target == LABEL:
        data.targets = torch.tensor(frame["label"].to_numpy(), dtype=torch.long)
    elif target == SPAN_TARGET and spans:
        data.targets = torch.tensor([p or (-1, -1) for p in positions], dtype=torch.long)
        data.not_spans = sum(p == (NOT_A_SPAN, NOT_A_SPAN) for p in positions)
        # nor an answer truncation cut off: QA-ZRE's head would learn "unanswerable" from it
        trainable = [i for i, p in enumerate(positions)
                     if p is not None and p != (NOT_A_SPAN, NOT_A_SPAN)]
        if len(trainable) < len(positions):
            data.trainable = trainable
        if data.not_spans:
            print(f"{task.name}: {data.not_spans} of {len(positions)} rows of {path} have a gold "
                  f"answer that is no span of the context (answer_start {NOT_A_SPAN}): span-head "
                  "training skips them; evaluation scores the predicted span's text against "
                  "their gold text", file=sys.stderr)
    else:
        raise ValueError(f"unknown target type {target!r}")
    return data


def check_rows(task: registry.Task, frame: pd.DataFrame, path: str | Path) -> None:
    """A bad row stops the job before training starts, naming the file and the row."""
    def fail(rows: pd.Series, problem: str) -> None:
        first = int(rows.to_numpy().nonzero()[0][0])
        raise ValueError(f"{path}: row {first} (of {len(frame)}, counting from 0) {problem}: "
                         f"{frame.iloc[first].to_dict()}")

    for column in ("source", "target"):
        empty = frame[column].isna() | (frame[column].astype("string").str.strip() == "")
        if empty.any():
            fail(empty, f"has an empty {column}")
    if task.kind == registry.CLASSIFICATION:
        label = pd.to_numeric(frame["label"], errors="coerce")
        bad = ~label.isin(range(len(task.label_words)))
        if bad.any():
            fail(bad, f"has a label that is not a class of {task.name} "
                      f"(0..{len(task.label_words) - 1})")
    elif task.kind == registry.REGRESSION:
        label = pd.to_numeric(frame["label"], errors="coerce")
        bad = ~np.isfinite(label.to_numpy(dtype="float64", na_value=np.nan))
        if bad.any():
            fail(pd.Series(bad), "has a label that is not a number")


def _token_span(row, offsets: list[tuple[int, int]]) -> tuple[int, int] | None:
    """The first and last input token of the answer, or None if the answer is not in the
    input (truncated away); (-1, -1) for a question with no answer in its context;
    (NOT_A_SPAN, NOT_A_SPAN) for a gold answer that is no span of the context."""
    if row.answer_start == NOT_A_SPAN:
        return (NOT_A_SPAN, NOT_A_SPAN)
    if row.answer_start < 0:
        return (-1, -1)
    begin = row.source.rfind(row.context) + row.answer_start
    end = begin + len(row.answer)
    covering = [i for i, (a, b) in enumerate(offsets) if b > begin and a < end and b > a]
    if not covering or offsets[covering[-1]][1] < end:
        return None
    return covering[0], covering[-1]


def stream_seed(*parts: object) -> int:
    return zlib.crc32("/".join(map(str, parts)).encode())


class BatchStream:
    """Endless batches of one task: a fresh seeded permutation every epoch (of the rows a
    training stream may draw, `TaskData.trainable`)."""

    def __init__(self, data: TaskData, batch_size: int, seed: int):
        if not data.drawable:
            raise ValueError(f"{data.task.name}: no row to train a span head on: none of the "
                             f"{len(data)} gold answers is a span of the (truncated) input")
        self.data = data
        self.batch_size = batch_size
        self.generator = torch.Generator().manual_seed(seed)
        self.order: list[int] = []

    def next(self) -> Batch:
        rows = self.data.drawable
        while len(self.order) < self.batch_size:
            self.order += [rows[i] for i in
                           torch.randperm(len(rows), generator=self.generator).tolist()]
        indices, self.order = self.order[: self.batch_size], self.order[self.batch_size :]
        return self.data.batch(indices)

    def state(self) -> dict:
        """Where the stream is: its generator and the rest of the current permutation."""
        return {"generator": self.generator.get_state(), "order": list(self.order)}

    def restore(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
        self.order = list(state["order"])


STEP_MODES = tuple(m for m in factors.STEP_MODE.names if m != "auto")
"""The step modes that compute a step (`auto` picks one of them)."""
AUTO_STEP_MODE = {"cpu": "per-task", "cuda": "fused"}
"""`step_mode: auto`, by device type. On 2 CPU threads the padding that a fused pass adds
across tasks costs more than the extra passes (benchmarks/throughput.py); on a GPU one large
pass keeps the device busy where per-task passes launch K times the kernels."""


def resolve_step_mode(mode: str, device: torch.device) -> str:
    return AUTO_STEP_MODE.get(device.type, "fused") if mode == "auto" else mode

GROUP_WIDTH_RATIO = 1.3
"""`grouped`: a task joins a group while its batch is at most this much wider than the
group's narrowest batch (padding costs at most ~30%; each extra pass costs a fixed overhead)."""


def step_groups(batches: dict[str, Batch], mode: str) -> list[list[str]]:
    """The tasks of one multi-task step, split into the groups that share a forward/backward
    pass. Every mode gives the same summed gradient; they differ only in speed."""
    if mode == "fused":
        return [list(batches)]
    if mode == "per-task":
        return [[task] for task in batches]
    if mode != "grouped":
        raise ValueError(f"unknown step_mode {mode!r}; known: {STEP_MODES}")
    groups: list[list[str]] = []
    for task in sorted(batches, key=lambda t: batches[t].input_ids.shape[1]):
        width = batches[task].input_ids.shape[1]
        if groups and width <= GROUP_WIDTH_RATIO * batches[groups[-1][0]].input_ids.shape[1]:
            groups[-1].append(task)
        else:
            groups.append([task])
    return groups


def eval_batches(data: TaskData, batch_size: int) -> Iterator[tuple[list[int], Batch]]:
    """Batches of rows of similar input length, longest first (running out of memory shows
    at once, and short rows are not padded to long ones), each with its row indices."""
    order = sorted(range(len(data)), key=lambda row: -len(data.inputs[row]))
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        yield rows, data.batch(rows)
