"""The paper's three architectures, built on one pre-trained T5.

- canonical: the shared T5 encoder, mean pooling over non-pad tokens, one linear head per task
  (cross-entropy for classification, MSE for regression);
- text-to-text-id: the shared encoder and, per task, its own copy of the pre-trained decoder
  and LM head;
- text-to-text: one fully shared T5; the task is given by the prompt.

Every model exposes the same two calls the training loop needs: `task_losses`, the mean loss
of each task on its own batch from ONE encoder pass over the concatenated batches (their sum
has the gradient of the multi-task objective), and `predict`. `encoder_parameters` and
`decoder_parameters` name the tensors in which task conflict is measured: by default, as the
paper's code, the stack's blocks without their layer norms, so that every architecture is
measured on the same tensors (no embedding, which text-to-text shares with its decoder and
LM head; `factors.CONFLICT_PARAMETERS`). `load_model` builds a cell's architecture on a
pre-trained checkpoint folder.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedTokenizerBase, T5ForConditionalGeneration
from transformers.utils import logging as hf_logging

from taskconflict import factors, registry
from taskconflict.config import TrainConfig
from taskconflict.grid import Cell

IGNORE = -100
MEASURED_BY_DEFAULT = factors.CONFLICT_PARAMETERS.default


def stack_tensors(stack: nn.Module, rule: str, exclude: Sequence[nn.Parameter] = ()
                  ) -> dict[str, nn.Parameter]:
    """The tensors of a T5 stack (encoder or decoder) that `rule` selects, by their name in
    the stack, leaving out any in `exclude` (a tensor another part already measures).

    blocks-without-norms (the paper's code: names with "encoder" and without "layer_norm", so
    no embedding): the attention, feed-forward and relative-position tensors of the blocks;
    blocks: with their layer norms too; stack: every tensor of the stack, embedding and final
    layer norm included (in text-to-text the embedding is also the decoder's input and, where
    tied, the LM head)."""
    factors.CONFLICT_PARAMETERS.check(rule)
    skip = {id(p) for p in exclude}
    return {name: p for name, p in stack.named_parameters()
            if id(p) not in skip
            and (rule == "stack" or name.startswith("block."))
            and not (rule == "blocks-without-norms" and "layer_norm" in name)}


@dataclass
class Batch:
    """One task's examples: encoder inputs and targets (token ids, -100 at padding, for the
    generative architectures; class indices or scores for canonical heads)."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    targets: torch.Tensor

    def __len__(self) -> int:
        return self.input_ids.shape[0]

    def to(self, device: torch.device) -> Batch:
        """The batch on `device`; on CUDA copied from pinned memory without blocking the host,
        so the copy overlaps the kernels already queued."""
        if device.type == "cpu":
            return self
        tensors = (self.input_ids, self.attention_mask, self.targets)
        if device.type == "cuda":
            return Batch(*(t.pin_memory().to(device, non_blocking=True) for t in tensors))
        return Batch(*(t.to(device) for t in tensors))


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
    """Mean cross-entropy over the target tokens (T5's loss), in fp32 under autocast too."""
    return F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(),
                           ignore_index=IGNORE)


TOKENS, LABEL, SCORE, SPAN_TARGET = "tokens", "label", "score", "span"
"""What a model trains on for a task: target token ids, a class index, a score, or the
(start, end) token positions of the answer in the input."""


class MultiTaskModel(nn.Module):
    def __init__(self, tasks: Sequence[str]):
        super().__init__()
        self.tasks = tuple(tasks)

    def target(self, task: str) -> str:
        """Text-to-text models answer every task in tokens."""
        return TOKENS

    def task_losses(self, batches: dict[str, Batch]) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def encoder_parameters(self, rule: str = MEASURED_BY_DEFAULT
                           ) -> dict[str, nn.Parameter]:
        """The shared encoder's tensors that a conflict measurement reads (`stack_tensors`)."""
        return stack_tensors(self.encoder, rule)

    def decoder_parameters(self, rule: str = MEASURED_BY_DEFAULT
                           ) -> dict[str, nn.Parameter]:
        """The shared decoder's tensors that a conflict measurement reads, none that the
        encoder also uses (empty unless every task shares the decoder)."""
        return {}

    def predict(self, task: str, batch: Batch, tokenizer: PreTrainedTokenizerBase,
                max_new_tokens: int) -> list:
        """Greedy decoding (`generate`), decoded to text. Canonical heads return what their
        target is: class indices, scores, or (start, end) token positions (None: no answer)."""
        model = self.generator(task)
        output = model.generate(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                                max_new_tokens=max_new_tokens, do_sample=False, num_beams=1)
        return tokenizer.batch_decode(output, skip_special_tokens=True)

    def teacher_forced_tokens(self, task: str, batch: Batch) -> torch.Tensor:
        """The paper's code's scoring (`eval_mode: teacher_forced`): at each gold target
        position, the argmax of the logits given the gold prefix (pad where the target is
        padding). Never a real output: one right token after a wrong one still counts, so
        sequence scores are inflated. Offered only to compare like with like."""
        model = self.generator(task)
        targets = batch.targets
        logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                       decoder_input_ids=model._shift_right(targets)).logits
        return logits.argmax(-1).masked_fill(targets == IGNORE, model.config.pad_token_id)

    def predict_teacher_forced(self, task: str, batch: Batch,
                               tokenizer: PreTrainedTokenizerBase) -> list[str]:
        """The teacher-forced tokens as text up to the first end-of-sequence, as the paper's
        code reads them (`split('</s>')[0]`): tokens predicted after it are not the answer."""
        rows = self.teacher_forced_tokens(task, batch).tolist()
        eos = tokenizer.eos_token_id
        return tokenizer.batch_decode([row[:row.index(eos)] if eos in row else row
                                       for row in rows], skip_special_tokens=True)

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

    def decoder_parameters(self, rule: str = MEASURED_BY_DEFAULT
                           ) -> dict[str, nn.Parameter]:
        return stack_tensors(self.t5.decoder, rule, exclude=list(self.encoder.parameters()))

    def generator(self, task: str) -> T5ForConditionalGeneration:
        return self.t5


class TextToTextID(MultiTaskModel):
    """A shared encoder; per task, its own copy of the pre-trained decoder and LM head."""

    def __init__(self, t5: T5ForConditionalGeneration, tasks: Sequence[str]):
        super().__init__(tasks)
        self.encoder = t5.encoder
        self.decoders = _decoder_copies(t5, self.tasks, self.encoder)

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


def fp32(head: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """A task head's scores in fp32, under bf16 autocast too: a head costs nothing next to the
    encoder, and bf16 keeps 3 significant digits (STS-B scores would tie, span logits blur)."""
    with torch.autocast(inputs.device.type, enabled=False):
        return head(inputs.to(next(head.parameters()).dtype))  # the weights' own: fp32


class SpanHead(nn.Module):
    """Start and end scores for every input token; with `unanswerable`, also a no-answer
    classifier on the mean-pooled encoding, so the model can say "unanswerable"."""

    def __init__(self, width: int, unanswerable: bool):
        super().__init__()
        self.boundaries = nn.Linear(width, 2)
        self.no_answer = nn.Linear(width, 1) if unanswerable else None

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor, pooled: torch.Tensor):
        start, end = fp32(self.boundaries, hidden).unbind(-1)
        blocked = torch.finfo(start.dtype).min
        start = start.masked_fill(mask == 0, blocked)
        end = end.masked_fill(mask == 0, blocked)
        no_answer = (fp32(self.no_answer, pooled).squeeze(-1) if self.no_answer is not None
                     else None)
        return start, end, no_answer


class Canonical(MultiTaskModel):
    """The shared encoder with a head per task: a linear layer on the mean-pooled encoding
    (classification, regression), start/end scores over the tokens (span extraction), or a
    copy of the pre-trained T5 decoder (sequence outputs)."""

    def __init__(self, t5: T5ForConditionalGeneration, tasks: Sequence[str]):
        super().__init__(tasks)
        self.encoder = t5.encoder
        width = t5.config.d_model
        specs = {task: registry.get_task(task) for task in self.tasks}
        sequence = [t for t, spec in specs.items() if spec.kind == registry.SEQUENCE]
        self.decoders = _decoder_copies(t5, sequence, self.encoder)
        self.heads = nn.ModuleDict()
        for task, spec in specs.items():
            if spec.kind == registry.SPAN:
                self.heads[task] = SpanHead(width, spec.unanswerable)
            elif spec.kind != registry.SEQUENCE:
                self.heads[task] = nn.Linear(width, _outputs(spec))
        for module in self.heads.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=width**-0.5)
                nn.init.zeros_(module.bias)

    def target(self, task: str) -> str:
        return {registry.CLASSIFICATION: LABEL, registry.REGRESSION: SCORE,
                registry.SPAN: SPAN_TARGET, registry.SEQUENCE: TOKENS}[
                    registry.get_task(task).kind]

    def _encode(self, input_ids: torch.Tensor, mask: torch.Tensor):
        hidden = self.encoder(input_ids=input_ids, attention_mask=mask).last_hidden_state
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        return hidden, (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)

    def _loss(self, task: str, hidden, pooled, mask, targets) -> torch.Tensor:
        kind = self.target(task)
        if kind == TOKENS:
            t5 = self.decoders[task]
            logits = t5(encoder_outputs=(hidden,), attention_mask=mask,
                        decoder_input_ids=t5._shift_right(targets)).logits
            return _sequence_loss(logits, targets)
        if kind == SPAN_TARGET:
            start, end, no_answer = self.heads[task](hidden, mask, pooled)
            has_span = targets[:, 0] >= 0
            loss = (F.cross_entropy(start, targets[:, 0], ignore_index=-1, reduction="sum")
                    + F.cross_entropy(end, targets[:, 1], ignore_index=-1, reduction="sum")
                    ) / (2 * has_span.sum().clamp(min=1))
            if no_answer is not None:
                loss = loss + F.binary_cross_entropy_with_logits(
                    no_answer, (~has_span).to(no_answer.dtype))
            return loss
        scores = fp32(self.heads[task], pooled)
        if kind == SCORE:
            return F.mse_loss(scores.squeeze(-1), targets.to(scores.dtype))
        return F.cross_entropy(scores, targets)

    def task_losses(self, batches: dict[str, Batch]) -> dict[str, torch.Tensor]:
        values = list(batches.values())
        mask = concat([b.attention_mask for b in values], 0)
        hidden, pooled = self._encode(concat([b.input_ids for b in values], 0), mask)
        return {task: self._loss(task, hidden[s], pooled[s], mask[s], batches[task].targets)
                for task, s in _slices(batches).items()}

    def generator(self, task: str) -> T5ForConditionalGeneration:
        return self.decoders[task]

    def predict(self, task: str, batch: Batch, tokenizer: PreTrainedTokenizerBase,
                max_new_tokens: int) -> list:
        kind = self.target(task)
        if kind == TOKENS:
            return super().predict(task, batch, tokenizer, max_new_tokens)
        hidden, pooled = self._encode(batch.input_ids, batch.attention_mask)
        if kind == SPAN_TARGET:
            return _best_spans(*self.heads[task](hidden, batch.attention_mask, pooled))
        scores = fp32(self.heads[task], pooled)
        return scores.squeeze(-1).tolist() if kind == SCORE else scores.argmax(-1).tolist()


MAX_SPAN_TOKENS = 30


def _best_spans(start: torch.Tensor, end: torch.Tensor, no_answer: torch.Tensor | None
                ) -> list[tuple[int, int] | None]:
    """The highest-scoring (start, end) with start <= end < start + MAX_SPAN_TOKENS per row,
    or None where the no-answer classifier says the question is unanswerable."""
    pair = start.unsqueeze(2) + end.unsqueeze(1)  # [batch, start, end]
    n = pair.shape[-1]
    allowed = torch.ones(n, n, dtype=torch.bool, device=pair.device).triu().tril(
        MAX_SPAN_TOKENS - 1)
    best = pair.masked_fill(~allowed, torch.finfo(pair.dtype).min).flatten(1).argmax(-1)
    spans: list[tuple[int, int] | None] = [(i // n, i % n) for i in best.tolist()]
    if no_answer is not None:
        spans = [None if p > 0 else span for span, p in zip(spans, no_answer.tolist(),
                                                            strict=True)]
    return spans


def _decoder_copies(t5: T5ForConditionalGeneration, tasks: Sequence[str],
                    encoder: nn.Module) -> nn.ModuleDict:
    """Per task, a copy of the pre-trained decoder and LM head that uses the shared encoder."""
    t5.encoder = None  # copy everything but the encoder ...
    copies = nn.ModuleDict({task: copy.deepcopy(t5) for task in tasks})
    t5.encoder = encoder
    for model in copies.values():
        model.encoder = encoder  # ... which every task's model shares
    return copies


def _outputs(task: registry.Task) -> int:
    return 1 if task.kind == registry.REGRESSION else len(task.label_words)


def reinitialise_decoder(t5: T5ForConditionalGeneration, scope: str = "blocks") -> None:
    """Give `t5`'s decoder the weights a freshly initialised T5 of the same config has (T5's
    own init scales), in place (Table 3); the encoder keeps its pre-trained weights. `scope`
    blocks (the paper's code, `decoder.init_weights()`): the decoder's blocks and layer norms,
    while the shared embedding and the LM head keep their pre-trained weights; full: the
    embedding and LM head as well (the decoder then gets an embedding of its own, tied to its
    LM head).

    The fresh values come from a new model, not from `decoder.init_weights()` as in the
    paper's code: transformers 5 marks loaded tensors as initialised and its init functions
    then leave them as they are, so that call no longer changes a loaded decoder."""
    fresh = T5ForConditionalGeneration(t5.config)
    with torch.no_grad():
        t5.decoder.block.load_state_dict(fresh.decoder.block.state_dict())
        t5.decoder.final_layer_norm.load_state_dict(fresh.decoder.final_layer_norm.state_dict())
    if scope == "full":
        t5.decoder.embed_tokens = nn.Embedding(*fresh.shared.weight.shape)
        t5.decoder.embed_tokens.load_state_dict(fresh.decoder.embed_tokens.state_dict())
        t5.lm_head.weight = t5.decoder.embed_tokens.weight


def build_model(architecture: str, t5: T5ForConditionalGeneration, tasks: Sequence[str],
                decoder: str = "pretrained", reinit_scope: str = "blocks") -> MultiTaskModel:
    """The architecture on `t5`; with decoder="reinit" every decoder it uses (the shared one,
    or each task's copy) starts from a fresh initialisation (`reinit_scope`) instead of the
    pre-trained one."""
    builders = {"canonical": Canonical, "text-to-text-id": TextToTextID,
                "text-to-text": TextToText}
    factors.ARCHITECTURE.check(architecture)
    factors.DECODER.check(decoder)
    factors.DECODER_REINIT.check(reinit_scope)
    model = builders[architecture](t5, tasks)
    if decoder == "reinit":
        generators = ([model.t5] if isinstance(model, TextToText)
                      else list(getattr(model, "decoders", {}).values()))
        for generator in generators:
            reinitialise_decoder(generator, reinit_scope)
    return model


def load_model(cell: Cell, model_dir: str | Path, tasks: list[str],
               cfg: TrainConfig | None = None) -> MultiTaskModel:
    """The cell's architecture on the pre-trained checkpoint folder, with the recipe's dropout
    (google/t5-v1_1 ships with 0.1; the paper fine-tunes with 0) and decoder
    re-initialisation."""
    cfg = cfg or TrainConfig()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    t5 = T5ForConditionalGeneration.from_pretrained(model_dir, dropout_rate=cfg.dropout)
    return build_model(cell.architecture, t5, tasks, cell.decoder, cfg.decoder_reinit)
