"""T5's span-corruption pre-training objective, in numpy.

A window of raw tokens has about `noise_density` of its tokens masked, in spans of mean length
`mean_span_length`. The input keeps the unmasked tokens and puts one sentinel where each span
was; the target lists each sentinel followed by the tokens it replaced (Raffel et al., 2020,
section 3.1.4; `random_spans_noise_mask` in the T5 code base).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

from taskconflict.config import PretrainConfig

PAD_ID = 0
EOS_ID = 1
IGNORE_INDEX = -100
"""Label value that `T5ForConditionalGeneration`'s loss skips (and maps to pad when shifting)."""


def noise_mask(
    length: int, noise_density: float, mean_span_length: float, rng: np.random.Generator
) -> np.ndarray:
    """Boolean mask of `length` tokens, True where a token is replaced by a sentinel.

    As in T5, the mask alternates non-noise and noise spans, starting with non-noise (so it
    always ends with noise), and the span lengths are random partitions of each total.
    """
    padded = max(length, 2)  # T5 masks at least one token and keeps at least one
    num_noise = min(max(round(padded * noise_density), 1), padded - 1)
    num_spans = max(round(num_noise / mean_span_length), 1)
    num_spans = min(num_spans, num_noise, padded - num_noise)  # every span needs a token
    noise_lengths = _random_partition(num_noise, num_spans, rng)
    kept_lengths = _random_partition(padded - num_noise, num_spans, rng)
    lengths = np.stack([kept_lengths, noise_lengths], axis=1).reshape(-1)
    is_noise = np.tile([False, True], num_spans)
    return np.repeat(is_noise, lengths)[:length]


def _random_partition(num_items: int, num_segments: int, rng: np.random.Generator) -> np.ndarray:
    """Lengths (each >= 1, summing to num_items) of a uniformly random split into segments."""
    cuts = np.sort(rng.choice(np.arange(1, num_items), size=num_segments - 1, replace=False))
    return np.diff(np.concatenate([[0], cuts, [num_items]]))


def corrupt(
    tokens: np.ndarray, mask: np.ndarray, sentinel_ids: Sequence[int], eos_id: int = EOS_ID
) -> tuple[np.ndarray, np.ndarray]:
    """Apply a noise mask: (inputs, targets), both ending in eos.

    inputs: the tokens, with each noise span replaced by its sentinel (<extra_id_0>, ...).
    targets: each span's sentinel followed by the span's tokens.
    """
    tokens = np.asarray(tokens, dtype=np.int64)
    mask = np.asarray(mask, dtype=bool)
    starts = mask & ~np.concatenate([[False], mask[:-1]])
    num_spans = int(starts.sum())
    if num_spans > len(sentinel_ids):
        raise ValueError(f"{num_spans} noise spans but only {len(sentinel_ids)} sentinels")
    sentinels = np.asarray(sentinel_ids[:num_spans], dtype=np.int64)
    eos = np.array([eos_id], dtype=np.int64)

    with_sentinels = tokens.copy()
    with_sentinels[starts] = sentinels
    inputs = with_sentinels[~mask | starts]

    span_starts_in_noise = np.flatnonzero(starts[mask])
    targets = np.insert(tokens[mask], span_starts_in_noise, sentinels)
    return np.concatenate([inputs, eos]), np.concatenate([targets, eos])


def sentinel_ids(tokenizer: PreTrainedTokenizerBase, count: int = 100) -> list[int]:
    """Ids of <extra_id_0>, <extra_id_1>, ... (T5 puts them at the top of the vocabulary)."""
    return [tokenizer.convert_tokens_to_ids(f"<extra_id_{i}>") for i in range(count)]


def tokenize_corpus(lines: Sequence[str], tokenizer: PreTrainedTokenizerBase) -> np.ndarray:
    """One token stream: every non-empty line, without special tokens, each followed by eos."""
    lines = [line.strip() for line in lines if line.strip()]
    encoded = tokenizer(lines, add_special_tokens=False)["input_ids"]
    eos = tokenizer.eos_token_id
    return np.fromiter((token for ids in encoded for token in (*ids, eos)), dtype=np.int64)


class SpanCorruptionBatches:
    """Endless batches of span-corrupted random windows of a token stream.

    Each example is a window of `cfg.input_length` consecutive tokens (crossing line ends, as
    T5 packs its corpus), masked and corrupted. Batches are padded with `pad_id`; padded label
    positions are -100. Iterating again starts the same sequence of batches again (same seed).
    """

    def __init__(
        self,
        stream: np.ndarray,
        cfg: PretrainConfig,
        sentinel_ids: Sequence[int],
        seed: int,
        eos_id: int = EOS_ID,
        pad_id: int = PAD_ID,
    ) -> None:
        if len(stream) == 0:
            raise ValueError("empty token stream")
        self.stream = np.asarray(stream, dtype=np.int64)
        self.cfg = cfg
        self.sentinel_ids = list(sentinel_ids)
        self.seed = seed
        self.eos_id = eos_id
        self.pad_id = pad_id

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        rng = np.random.default_rng(self.seed)
        while True:
            yield self._batch(rng)

    def _batch(self, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        length = min(cfg.input_length, len(self.stream))
        starts = rng.integers(0, len(self.stream) - length + 1, size=cfg.batch_size)
        pairs = []
        for start in starts:
            window = self.stream[start : start + length]
            mask = noise_mask(length, cfg.noise_density, cfg.mean_span_length, rng)
            pairs.append(corrupt(window, mask, self.sentinel_ids, self.eos_id))
        return {
            "input_ids": _pad([inputs for inputs, _ in pairs], self.pad_id),
            "attention_mask": _pad([np.ones(len(inputs), np.int64) for inputs, _ in pairs], 0),
            "labels": _pad([targets for _, targets in pairs], IGNORE_INDEX),
        }


def _pad(rows: Sequence[np.ndarray], value: int) -> torch.Tensor:
    out = np.full((len(rows), max(len(r) for r in rows)), value, dtype=np.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return torch.from_numpy(out)
