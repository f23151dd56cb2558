"""A tiny T5 and the GLUE tasks the training tests run on."""

import torch
from transformers import T5Config, T5ForConditionalGeneration

TASKS = ("cola", "stsb", "mnli")


def tiny_t5(vocab: int = 64) -> T5ForConditionalGeneration:
    torch.manual_seed(0)
    config = T5Config(vocab_size=vocab, d_model=16, d_ff=32, d_kv=8, num_heads=2, num_layers=2,
                      feed_forward_proj="gated-gelu", dropout_rate=0.0,
                      tie_word_embeddings=False, decoder_start_token_id=0)
    return T5ForConditionalGeneration(config)


def hand_gram(model, batches, tensors) -> torch.Tensor:
    """The float64 Gram matrix of each task's gradient over `tensors` (one batch per task),
    by plain autograd: the reference a conflict probe is checked against."""
    vectors = []
    for task, batch in batches.items():
        grads = torch.autograd.grad(model.task_losses({task: batch})[task], tensors,
                                    allow_unused=True)
        vectors.append(torch.cat([(g if g is not None else torch.zeros_like(p)).flatten()
                                  for g, p in zip(grads, tensors, strict=True)]).double())
    return torch.stack(vectors) @ torch.stack(vectors).T


def random_batches(generative: bool, seed: int = 1):
    """One batch per task of TASKS, of different sizes and widths, one row right-padded:
    token targets for the generative architectures, labels or scores for canonical heads."""
    from taskconflict.models import IGNORE, Batch
    from taskconflict.registry import REGRESSION, get_task

    g = torch.Generator().manual_seed(seed)
    batches = {}
    for i, task in enumerate(TASKS):
        n, length = 3 + i, 5 + 2 * i
        ids = torch.randint(2, 64, (n, length), generator=g)
        mask = torch.ones_like(ids)
        mask[0, length - 2:] = 0
        ids[mask == 0] = 0
        if generative:
            targets = torch.randint(2, 64, (n, 2 + i), generator=g)
            targets[-1, -1] = IGNORE
        elif get_task(task).kind == REGRESSION:
            targets = torch.rand(n, generator=g) * 5
        else:
            targets = torch.randint(0, len(get_task(task).label_words), (n,), generator=g)
        batches[task] = Batch(ids, mask, targets)
    return batches


def step_with_gradients(model, batches, precision: str, step_mode: str = "fused"):
    """One `multitask_step` with a fused AdamW: its losses, gradient norm, the summed gradient
    the optimizer stepped on (by parameter name) and the optimizer."""
    from taskconflict.train import multitask_step

    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0, fused=True)
    grads: dict[str, torch.Tensor] = {}
    real_step = optimizer.step

    def recording_step(*args, **kwargs):
        grads.update({name: p.grad.detach().clone() for name, p in model.named_parameters()
                      if p.grad is not None})
        return real_step(*args, **kwargs)

    optimizer.step = recording_step
    # clip_norm far above the norm: the captured gradient is the unclipped sum
    losses, grad_norm = multitask_step(model, optimizer, batches, step_mode, precision, 1e9)
    return losses, grad_norm, grads, optimizer


class Interrupted(Exception):
    """Stands for a killed job: raised right after a chosen checkpoint is written."""


def interrupt_after_checkpoint(monkeypatch, step: int) -> list[int]:
    """Make `train_cell` raise Interrupted right after it writes the checkpoint of `step`.
    Clear the returned list to let later runs go on."""
    from taskconflict import train

    real_save, stop_at = train.save_state, [step]

    def save_then_stop(*args, **kwargs):
        real_save(*args, **kwargs)
        if args[-1].step in stop_at:  # the LoopState
            raise Interrupted

    monkeypatch.setattr(train, "save_state", save_then_stop)
    return stop_at
