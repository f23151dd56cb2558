"""Unlabelled text from the generated world, for the tokenizer and for pre-training.

Documents of one to three sentences in every form the tasks use (statements in all genres,
negations, opinions, questions), so the pre-trained model knows the tasks' language but has
seen none of their labels. Drawn from its own seed, independent of the task data: changing
a task's data never retrains the tokenizer or the model.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import replace
from pathlib import Path

from taskconflict.config import CorpusConfig
from taskconflict.data import world
from taskconflict.io import write_lines


def _sentence(rng: random.Random) -> str:
    genres = tuple(g.name for g in world.GENRES)
    kind = rng.random()
    if kind < 0.2:
        return world.opinion(rng, genres)[0]
    fact = world.random_fact(rng, genres)
    if kind < 0.35:
        return world.question(fact, rng.choice(world.QUESTION_SLOTS), rng)
    if kind < 0.45:
        fact = replace(fact, negated=True)
    return world.realise(fact, rng)


def documents(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(_sentence(rng) for _ in range(rng.randint(1, 3))) for _ in range(n)]


def build_corpus(cfg: CorpusConfig, train_path: str | Path, heldout_path: str | Path) -> None:
    """Write the pre-training corpus and a held-out part (own seed) for evaluation."""
    write_lines(documents(cfg.sentences, cfg.seed), train_path)
    heldout_seed = zlib.crc32(f"{cfg.seed}/heldout".encode())
    write_lines(documents(cfg.heldout_sentences, heldout_seed), heldout_path)
