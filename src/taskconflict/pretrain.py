"""Pre-train a small T5 v1.1 from scratch on the generated corpus, with span corruption.

The output folder has the layout of a hub checkpoint such as `google/t5-v1_1-small` (config,
safetensors weights, tokenizer files), so fine-tuning code loads either the same way, plus
`pretrain_log.parquet`:

    step           int     optimiser step (every `log_every` steps, and the last step)
    loss           float   mean training loss over the steps since the previous row
    learning_rate  float   learning rate at that step
    heldout_loss   float   held-out span-corruption loss; only on the last row, NaN elsewhere
    heldout_accuracy float held-out target-token accuracy; only on the last row, NaN elsewhere

The held-out numbers are `span_corruption_eval(model, tokenizer, heldout_lines, cfg)` with its
default seed and batch count, so they can be recomputed from the saved folder.
"""

from __future__ import annotations

import itertools
import math
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm import tqdm
from transformers import PreTrainedTokenizerBase, T5Config, T5ForConditionalGeneration, set_seed
from transformers.utils import logging as hf_logging

from taskconflict import devices
from taskconflict.config import ModelShape, PretrainConfig
from taskconflict.io import default_mode
from taskconflict.span_corruption import (
    IGNORE_INDEX,
    SpanCorruptionBatches,
    sentinel_ids,
    tokenize_corpus,
)
from taskconflict.tokenizer import SPIECE, load_tokenizer

LOG_FILE = "pretrain_log.parquet"
ADAM_BETAS = (0.9, 0.98)
MAX_GRAD_NORM = 1.0
FINAL_LR_FRACTION = 0.1


def t5_config(shape: ModelShape, vocab_size: int) -> T5Config:
    """A T5 v1.1 config: gated-GELU feed-forward, no dropout, separate output embedding."""
    return T5Config(
        vocab_size=vocab_size,
        d_model=shape.d_model,
        d_ff=shape.d_ff,
        d_kv=shape.d_kv,
        num_heads=shape.num_heads,
        num_layers=shape.num_layers,
        num_decoder_layers=shape.num_decoder_layers or shape.num_layers,
        feed_forward_proj="gated-gelu",
        dropout_rate=0.0,
        # transformers 5 ties T5's lm_head to the input embedding regardless; the flag only
        # decides whether decoder outputs are rescaled by d_model**-0.5 (v1.1: no).
        tie_word_embeddings=False,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
    )


def learning_rate(step: int, cfg: PretrainConfig) -> float:
    """Linear warm-up to cfg.learning_rate, then cosine decay to 10% of it at cfg.steps."""
    if step <= cfg.warmup_steps:
        return cfg.learning_rate * step / max(cfg.warmup_steps, 1)
    progress = (step - cfg.warmup_steps) / max(cfg.steps - cfg.warmup_steps, 1)
    cosine = 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
    return cfg.learning_rate * (FINAL_LR_FRACTION + (1.0 - FINAL_LR_FRACTION) * cosine)


def pretrain(
    corpus: Path,
    heldout: Path,
    tokenizer_dir: Path,
    shape: ModelShape,
    cfg: PretrainConfig,
    out_dir: Path,
    threads: int = 1,
    device: str | None = None,
) -> None:
    """Pre-train a fresh T5 on `corpus` and write it (with tokenizer and log) to `out_dir`.

    `device` defaults to CUDA when available. The folder appears only when complete.
    """
    torch.set_num_threads(threads)
    set_seed(cfg.seed)  # python, numpy and torch
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    device = devices.resolve_device(device or "auto")

    # data: one token stream, sampled as random span-corrupted windows
    tokenizer = load_tokenizer(tokenizer_dir)
    stream = tokenize_corpus(_read_lines(corpus), tokenizer)
    batches = iter(
        SpanCorruptionBatches(
            stream,
            cfg,
            sentinel_ids(tokenizer),
            seed=cfg.seed,
            eos_id=tokenizer.eos_token_id,
            pad_id=tokenizer.pad_token_id,
        )
    )

    # model and optimiser
    model = T5ForConditionalGeneration(t5_config(shape, len(tokenizer))).to(device)
    model.train()
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=cfg.learning_rate, betas=ADAM_BETAS, weight_decay=0.0
    )

    # training loop
    log = []
    loss_sum, loss_steps = 0.0, 0
    progress = tqdm(
        range(1, cfg.steps + 1), desc="pretrain", unit="step", file=sys.stderr, mininterval=1.0
    )
    for step in progress:
        lr = learning_rate(step, cfg)
        for group in optimizer.param_groups:
            group["lr"] = lr

        batch = {name: tensor.to(device) for name, tensor in next(batches).items()}
        loss = model(**batch).loss
        optimizer.zero_grad(set_to_none=devices.frees_gradients(device))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
        optimizer.step()

        loss_sum += loss.item()
        loss_steps += 1
        if step % cfg.log_every == 0 or step == cfg.steps:
            log.append({"step": step, "loss": loss_sum / loss_steps, "learning_rate": lr})
            progress.set_postfix(loss=f"{log[-1]['loss']:.3f}", lr=f"{lr:.2e}", refresh=False)
            loss_sum, loss_steps = 0.0, 0
    progress.close()

    # held-out evaluation, recorded on the last log row
    heldout_metrics = span_corruption_eval(model, tokenizer, _read_lines(heldout), cfg)
    frame = pd.DataFrame(log, columns=["step", "loss", "learning_rate"]).astype(
        {"step": "int64", "loss": "float64", "learning_rate": "float64"}
    )
    frame["heldout_loss"] = np.nan
    frame["heldout_accuracy"] = np.nan
    if len(frame):
        frame.loc[frame.index[-1], "heldout_loss"] = heldout_metrics["loss"]
        frame.loc[frame.index[-1], "heldout_accuracy"] = heldout_metrics["accuracy"]

    _write_atomically(Path(out_dir), model, tokenizer, Path(tokenizer_dir), frame)


@torch.no_grad()
def span_corruption_eval(
    model: T5ForConditionalGeneration,
    tokenizer: PreTrainedTokenizerBase,
    lines: Sequence[str],
    cfg: PretrainConfig,
    seed: int = 0,
    batches: int = 8,
) -> dict[str, float]:
    """Span-corruption cross-entropy and teacher-forced token accuracy on `lines`.

    Returns {"loss", "accuracy"}, both averaged over target tokens; the masks depend only on
    `seed`, so two models are compared on exactly the same examples.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    data = SpanCorruptionBatches(
        tokenize_corpus(lines, tokenizer),
        cfg,
        sentinel_ids(tokenizer),
        seed=seed,
        eos_id=tokenizer.eos_token_id,
        pad_id=tokenizer.pad_token_id,
    )
    total_loss, correct, count = 0.0, 0, 0
    for batch in itertools.islice(data, batches):
        batch = {name: tensor.to(device) for name, tensor in batch.items()}
        logits = model(**batch).logits.float()
        keep = batch["labels"] != IGNORE_INDEX
        labels = batch["labels"][keep]
        total_loss += F.cross_entropy(logits[keep], labels, reduction="sum").item()
        correct += (logits[keep].argmax(dim=-1) == labels).sum().item()
        count += labels.numel()
    model.train(was_training)
    return {"loss": total_loss / count, "accuracy": correct / count}


def _read_lines(path: Path) -> list[str]:
    with Path(path).open(encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def _write_atomically(
    out_dir: Path,
    model: T5ForConditionalGeneration,
    tokenizer: PreTrainedTokenizerBase,
    tokenizer_dir: Path,
    log: pd.DataFrame,
) -> None:
    """Write into a temporary folder beside out_dir, then rename it into place."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.tmp-"))
    tmp.chmod(default_mode(directory=True))  # mkdtemp makes it private
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if (tokenizer_dir / SPIECE).exists():  # a hub T5 folder ships the SentencePiece model
            shutil.copyfile(tokenizer_dir / SPIECE, tmp / SPIECE)
        log.to_parquet(tmp / LOG_FILE, index=False)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
