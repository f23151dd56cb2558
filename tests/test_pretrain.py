from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from transformers import AutoTokenizer, T5ForConditionalGeneration

from taskconflict.config import ModelShape, PretrainConfig
from taskconflict.pretrain import (
    LOG_FILE,
    learning_rate,
    pretrain,
    span_corruption_eval,
    t5_config,
)
from taskconflict.span_corruption import (
    SpanCorruptionBatches,
    corrupt,
    noise_mask,
    sentinel_ids,
    tokenize_corpus,
)
from taskconflict.tokenizer import load_tokenizer

TINY = ModelShape(d_model=32, d_ff=64, d_kv=8, num_heads=4, num_layers=2)
CFG = PretrainConfig(
    steps=150, batch_size=16, input_length=32, learning_rate=3e-3, warmup_steps=15, log_every=10
)
SENTINELS = [99, 98, 97, 96, 95]

# --- span corruption ------------------------------------------------------------------------


def test_corrupt_hand_checked():
    tokens = np.arange(10, 20)
    mask = np.array([0, 0, 1, 1, 0, 0, 0, 1, 0, 0], dtype=bool)
    inputs, targets = corrupt(tokens, mask, SENTINELS, eos_id=1)
    assert inputs.tolist() == [10, 11, 99, 14, 15, 16, 98, 18, 19, 1]
    assert targets.tolist() == [99, 12, 13, 98, 17, 1]


def test_corrupt_spans_at_both_ends():
    inputs, targets = corrupt(np.array([5, 6, 7, 8, 9]), np.array([1, 1, 0, 1, 1], bool), SENTINELS)
    assert inputs.tolist() == [99, 7, 98, 1]
    assert targets.tolist() == [99, 5, 6, 98, 8, 9, 1]


@pytest.mark.parametrize(
    ("length", "noise", "spans"),
    # round(length * 0.15) clipped to [1, length - 1]; spans = max(1, round(noise / 3))
    [(2, 1, 1), (5, 1, 1), (10, 2, 1), (20, 3, 1), (64, 10, 3), (100, 15, 5), (512, 77, 26)],
)
def test_noise_mask_counts(length, noise, spans):
    for seed in range(5):
        mask = noise_mask(length, 0.15, 3.0, np.random.default_rng(seed))
        starts = mask & ~np.concatenate([[False], mask[:-1]])
        assert mask.shape == (length,) and mask.dtype == bool
        assert mask.sum() == noise
        assert starts.sum() == spans
        assert not mask[0] and mask[-1]  # T5's layout: starts with kept tokens, ends with noise


def reconstruct(inputs: np.ndarray, targets: np.ndarray, sentinels: list[int]) -> list[int]:
    spans, current = {}, None
    for token in targets[:-1].tolist():
        if token in sentinels:
            current = spans.setdefault(token, [])
        else:
            current.append(token)
    out = []
    for token in inputs[:-1].tolist():
        out.extend(spans[token] if token in sentinels else [token])
    return out


@pytest.mark.parametrize("seed", range(10))
def test_inputs_and_targets_reconstruct_the_window(seed):
    rng = np.random.default_rng(seed)
    sentinels = list(range(1000, 900, -1))
    length = int(rng.integers(2, 200))
    tokens = rng.integers(3, 500, size=length)
    mask = noise_mask(length, float(rng.uniform(0.1, 0.5)), float(rng.uniform(1, 5)), rng)
    inputs, targets = corrupt(tokens, mask, sentinels)
    assert reconstruct(inputs, targets, sentinels) == tokens.tolist()
    assert inputs[-1] == targets[-1] == 1


def test_batches_are_padded_and_deterministic(toy_tokenizer_dir, toy_corpus):
    tokenizer = load_tokenizer(toy_tokenizer_dir)
    stream = tokenize_corpus(toy_corpus.heldout_lines, tokenizer)
    assert (stream == tokenizer.eos_token_id).sum() == len(toy_corpus.heldout_lines)
    batches = SpanCorruptionBatches(stream, CFG, sentinel_ids(tokenizer), seed=3)
    first, again = next(iter(batches)), next(iter(batches))
    for name in ("input_ids", "attention_mask", "labels"):
        assert first[name].dtype == torch.long
        assert first[name].shape[0] == CFG.batch_size
        assert torch.equal(first[name], again[name])
    # 32 raw tokens: 5 noise tokens in 2 spans -> 32 - 5 + 2 + eos inputs, 5 + 2 + eos targets
    assert first["input_ids"].shape[1] == 30 and first["labels"].shape[1] == 8
    assert torch.equal(first["attention_mask"], (first["input_ids"] != 0).long())
    assert (first["labels"] != -100).all()
    assert first["labels"][:, 0].tolist() == [tokenizer.convert_tokens_to_ids("<extra_id_0>")] * 16


# --- pre-training ---------------------------------------------------------------------------


def test_learning_rate_schedule():
    lrs = [learning_rate(step, CFG) for step in range(1, CFG.steps + 1)]
    assert lrs[0] == pytest.approx(CFG.learning_rate / CFG.warmup_steps)
    assert max(lrs) == pytest.approx(CFG.learning_rate) == lrs[CFG.warmup_steps - 1]
    assert lrs[-1] == pytest.approx(0.1 * CFG.learning_rate)
    assert (np.diff(lrs[CFG.warmup_steps - 1 :]) <= 0).all()


def test_t5_config_is_v1_1():
    config = t5_config(TINY, 600)
    assert config.is_gated_act and config.dense_act_fn == "gelu_new"
    assert config.dropout_rate == 0.0
    # transformers 5 always ties lm_head to the embedding; False only turns off output scaling
    assert not config.scale_decoder_outputs
    assert config.num_decoder_layers == 2 and config.vocab_size == 600
    assert (config.decoder_start_token_id, config.pad_token_id, config.eos_token_id) == (0, 0, 1)


@pytest.fixture(scope="module")
def pretrained(toy_corpus, toy_tokenizer_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("pretrain") / "small"
    pretrain(toy_corpus.corpus, toy_corpus.heldout, toy_tokenizer_dir, TINY, CFG, out)
    return out


def test_folder_layout_and_log(pretrained):
    names = {p.name for p in pretrained.iterdir()}
    assert {"config.json", "model.safetensors", "spiece.model", "tokenizer.json", LOG_FILE} <= names
    assert not [p for p in pretrained.parent.iterdir() if p.name.startswith(".")]  # no temp dir
    log = pd.read_parquet(pretrained / LOG_FILE)
    columns = ["step", "loss", "learning_rate", "heldout_loss", "heldout_accuracy"]
    assert list(log.columns) == columns
    assert log["step"].dtype == "int64" and (log.dtypes.iloc[1:] == "float64").all()
    assert log["step"].tolist() == list(range(10, 151, 10))
    assert log["heldout_loss"].iloc[:-1].isna().all() and log["heldout_loss"].notna().iloc[-1]


def test_loss_falls(pretrained):
    loss = pd.read_parquet(pretrained / LOG_FILE)["loss"]
    assert loss.iloc[-3:].mean() < 0.6 * loss.iloc[0]


def test_reload_reproduces_heldout_eval(pretrained, toy_corpus):
    model, info = T5ForConditionalGeneration.from_pretrained(pretrained, output_loading_info=True)
    assert not any(info.values()), info
    assert not model.config.scale_decoder_outputs
    tokenizer = AutoTokenizer.from_pretrained(pretrained)
    metrics = span_corruption_eval(model, tokenizer, toy_corpus.heldout_lines, CFG)
    last = pd.read_parquet(pretrained / LOG_FILE).iloc[-1]
    assert metrics["loss"] == pytest.approx(last["heldout_loss"], rel=1e-5)
    assert metrics["accuracy"] == pytest.approx(last["heldout_accuracy"], abs=1e-9)


def test_pretrained_beats_fresh_initialisation(pretrained, toy_corpus):
    model = T5ForConditionalGeneration.from_pretrained(pretrained)
    tokenizer = AutoTokenizer.from_pretrained(pretrained)
    torch.manual_seed(0)
    fresh = T5ForConditionalGeneration(t5_config(TINY, len(tokenizer)))
    trained = span_corruption_eval(model, tokenizer, toy_corpus.heldout_lines, CFG, seed=7)
    baseline = span_corruption_eval(fresh, tokenizer, toy_corpus.heldout_lines, CFG, seed=7)
    assert trained["loss"] < baseline["loss"] - 1.0
    assert trained["accuracy"] > baseline["accuracy"] + 0.1


def test_pretraining_is_deterministic(toy_corpus, toy_tokenizer_dir, tmp_path):
    cfg = PretrainConfig(steps=12, batch_size=8, input_length=32, warmup_steps=4, log_every=4)
    for name in ("a", "b"):
        pretrain(
            toy_corpus.corpus, toy_corpus.heldout, toy_tokenizer_dir, TINY, cfg, tmp_path / name
        )
    for file in ("model.safetensors", LOG_FILE):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()
