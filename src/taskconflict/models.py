"""The paper's three architectures, built on one pre-trained T5.

- canonical: the shared T5 encoder, mean pooling over non-pad tokens, one linear head per task
  (cross-entropy for classification, MSE for regression);
- text-to-text-id: the shared encoder and, per task, its own copy of the pre-trained decoder
  and LM head;
- text-to-text: one fully shared T5; the task is given by the prompt.

Every model exposes the same two calls the training loop needs: `task_losses`, the mean loss
of each task on its own batch from ONE encoder pass over the concatenated batches (their sum
has the gradient of the multi-task objective), and `predict`. `encoder_parameters` and
`decoder_parameters` name the parameters in which task conflict is measured.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedTokenizerBase, T5ForConditionalGeneration

from taskconflict import registry

IGNORE = -100
ARCHITECTURES = ("canonical", "text-to-text-id", "text-to-text")


@dataclass
class Batch:
    """One task's examples: encoder inputs and targets (token ids, -100 at padding, for the
    generative architectures; class indices or scores for canonical heads)."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    targets: torch.Tensor

    def __len__(self) -> int:
        return self.input_ids.shape[0]


def concat(batches: Sequence[torch.Tensor], pad: int) -> torch.Tensor:
    """Stack 2-D tensors of different widths, right-padded to the widest."""
    width = max(b.shape[1] for b in batches)
    return torch.cat([F.pad(b, (0, width - b.shape[1]), value=pad) for b in batches])


def _slices(batches: dict[str, Batch]) -> dict[str, slice]:
    out, start = {}, 0
    for task, batch in batches.items():
        out[task] = slice(start, start + len(batch))
        start += len(batch)
    return out


def _sequence_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the target tokens (T5's loss)."""
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE)


class MultiTaskModel(nn.Module):
    generative = True

    def __init__(self, tasks: Sequence[str]):
        super().__init__()
        self.tasks = tuple(tasks)

    def task_losses(self, batches: dict[str, Batch]) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def encoder_parameters(self) -> list[nn.Parameter]:
        return list(self.encoder.parameters())

    def decoder_parameters(self) -> list[nn.Parameter]:
        """Decoder parameters shared by all tasks (none unless the decoder is shared)."""
        return []

    def predict(self, task: str, batch: Batch, tokenizer: PreTrainedTokenizerBase,
                max_new_tokens: int) -> list:
        """Greedy decoding (`generate`), decoded to text; canonical heads return labels."""
        model = self.generator(task)
        output = model.generate(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                                max_new_tokens=max_new_tokens, do_sample=False, num_beams=1)
        return tokenizer.batch_decode(output, skip_special_tokens=True)

    def generator(self, task: str) -> T5ForConditionalGeneration:
        raise NotImplementedError


class TextToText(MultiTaskModel):
    """One T5 for every task."""

    def __init__(self, t5: T5ForConditionalGeneration, tasks: Sequence[str]):
        super().__init__(tasks)
        self.t5 = t5
        self.encoder = t5.encoder

    def task_losses(self, batches: dict[str, Batch]) -> dict[str, torch.Tensor]:
        values = list(batches.values())
        targets = concat([b.targets for b in values], IGNORE)
        logits = self.t5(
            input_ids=concat([b.input_ids for b in values], 0),
            attention_mask=concat([b.attention_mask for b in values], 0),
            decoder_input_ids=self.t5._shift_right(targets),
        ).logits
        return {task: _sequence_loss(logits[s], targets[s])
                for task, s in _slices(batches).items()}

    def decoder_parameters(self) -> list[nn.Parameter]:
        shared = {id(p) for p in self.encoder.parameters()}
        return [p for p in self.t5.decoder.parameters() if id(p) not in shared]

    def generator(self, task: str) -> T5ForConditionalGeneration:
        return self.t5


class TextToTextID(MultiTaskModel):
    """A shared encoder; per task, its own copy of the pre-trained decoder and LM head."""

    def __init__(self, t5: T5ForConditionalGeneration, tasks: Sequence[str]):
        super().__init__(tasks)
        self.encoder = t5.encoder
        t5.encoder = None  # copy everything but the encoder ...
        self.decoders = nn.ModuleDict({task: copy.deepcopy(t5) for task in self.tasks})
        t5.encoder = self.encoder
        for decoder in self.decoders.values():
            decoder.encoder = self.encoder  # ... which every task's model shares

    def task_losses(self, batches: dict[str, Batch]) -> dict[str, torch.Tensor]:
        values = list(batches.values())
        mask = concat([b.attention_mask for b in values], 0)
        hidden = self.encoder(input_ids=concat([b.input_ids for b in values], 0),
                              attention_mask=mask).last_hidden_state
        losses = {}
        for task, s in _slices(batches).items():
            t5 = self.decoders[task]
            targets = batches[task].targets
            logits = t5(encoder_outputs=(hidden[s],), attention_mask=mask[s],
                        decoder_input_ids=t5._shift_right(targets)).logits
            losses[task] = _sequence_loss(logits, targets)
        return losses

    def generator(self, task: str) -> T5ForConditionalGeneration:
        return self.decoders[task]


class Canonical(MultiTaskModel):
    """The shared encoder, mean-pooled, with a linear head per task."""

    generative = False

    def __init__(self, t5: T5ForConditionalGeneration, tasks: Sequence[str]):
        super().__init__(tasks)
        self.encoder = t5.encoder
        width = t5.config.d_model
        self.heads = nn.ModuleDict({
            task: nn.Linear(width, _outputs(registry.get_task(task))) for task in self.tasks
        })
        for head in self.heads.values():
            nn.init.normal_(head.weight, std=width**-0.5)
            nn.init.zeros_(head.bias)

    def _pooled(self, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=mask).last_hidden_state
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)

    def _scores(self, task: str, pooled: torch.Tensor) -> torch.Tensor:
        out = self.heads[task](pooled)
        return out.squeeze(-1) if registry.get_task(task).kind == registry.REGRESSION else out

    def task_losses(self, batches: dict[str, Batch]) -> dict[str, torch.Tensor]:
        values = list(batches.values())
        pooled = self._pooled(concat([b.input_ids for b in values], 0),
                              concat([b.attention_mask for b in values], 0))
        losses = {}
        for task, s in _slices(batches).items():
            scores, targets = self._scores(task, pooled[s]), batches[task].targets
            if registry.get_task(task).kind == registry.REGRESSION:
                losses[task] = F.mse_loss(scores, targets.to(scores.dtype))
            else:
                losses[task] = F.cross_entropy(scores, targets)
        return losses

    def predict(self, task: str, batch: Batch, tokenizer: PreTrainedTokenizerBase,
                max_new_tokens: int) -> list:
        scores = self._scores(task, self._pooled(batch.input_ids, batch.attention_mask))
        if registry.get_task(task).kind == registry.REGRESSION:
            return scores.tolist()
        return scores.argmax(-1).tolist()


def _outputs(task: registry.Task) -> int:
    if task.kind == registry.REGRESSION:
        return 1
    if task.kind == registry.CLASSIFICATION:
        return len(task.labels)
    raise ValueError(f"{task.name}: canonical heads for {task.kind} tasks are not built yet")


def build_model(architecture: str, t5: T5ForConditionalGeneration,
                tasks: Sequence[str]) -> MultiTaskModel:
    builders = {"canonical": Canonical, "text-to-text-id": TextToTextID,
                "text-to-text": TextToText}
    if architecture not in builders:
        raise ValueError(f"unknown architecture {architecture!r}; known: {ARCHITECTURES}")
    return builders[architecture](t5, tasks)
