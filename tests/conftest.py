"""Shared fixtures: a tiny generated corpus and a tokenizer trained on it."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import pytest
from toy_models import TASKS, tiny_t5

from taskconflict.config import TaskDataConfig, TokenizerConfig
from taskconflict.data.glue_generated import generate_task
from taskconflict.prompts import render
from taskconflict.registry import get_task
from taskconflict.tokenizer import build_workflow_tokenizer

NAMES = "anna ben carla david emma felix greta hugo ida jonas karla leo".split()
VERBS = "bought sold saw painted found lost washed borrowed".split()
ADJECTIVES = "red blue green old new small big yellow".split()
OBJECTS = "car house book dog bike lamp chair boat".split()
PLACES = "paris rome berlin madrid oslo vienna lisbon prague".split()
DAYS = "monday tuesday friday sunday".split()
TEMPLATES = (
    "{name} {verb} the {adj} {obj} in {place} .",
    "the {obj} that {name} {verb} was {adj} .",
    "{name} and {name2} went to {place} on {day} .",
    "on {day} , {name} {verb} a {adj} {obj} .",
    "{name} did not like the {adj} {obj} from {place} .",
)


@dataclass(frozen=True)
class ToyCorpus:
    corpus: Path
    heldout: Path
    lines: list[str]
    heldout_lines: list[str]


def toy_sentences(count: int, seed: int) -> list[str]:
    """Template sentences of a tiny world ("anna bought the red car in paris .")."""
    rng = random.Random(seed)
    return [
        rng.choice(TEMPLATES).format(
            name=rng.choice(NAMES),
            name2=rng.choice(NAMES),
            verb=rng.choice(VERBS),
            adj=rng.choice(ADJECTIVES),
            obj=rng.choice(OBJECTS),
            place=rng.choice(PLACES),
            day=rng.choice(DAYS),
        )
        for _ in range(count)
    ]


@pytest.fixture(scope="session")
def toy_corpus(tmp_path_factory: pytest.TempPathFactory) -> ToyCorpus:
    folder = tmp_path_factory.mktemp("toy_corpus")
    lines, heldout_lines = toy_sentences(3000, seed=0), toy_sentences(300, seed=1)
    (folder / "corpus.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "heldout.txt").write_text("\n".join(heldout_lines) + "\n", encoding="utf-8")
    return ToyCorpus(folder / "corpus.txt", folder / "heldout.txt", lines, heldout_lines)


@pytest.fixture(scope="session")
def toy_tokenizer_dir(toy_corpus: ToyCorpus, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The workflow's tokenizer (the tokenizer stage's text and label words) on the toy corpus."""
    folder = tmp_path_factory.mktemp("toy_tokenizer")
    build_workflow_tokenizer(toy_corpus.corpus, folder, TokenizerConfig(vocab_size=500))
    return folder


def data_cfg(task: str, **overrides) -> TaskDataConfig:
    """Generated-data parameters for one task, small enough for unit tests."""
    values = dict(task=task, source="generated", seed=3, train_size=600, test_size=150,
                  validation_fraction=0.1, label_noise=0.1)
    values.update(overrides)
    return TaskDataConfig(**values)


@pytest.fixture(scope="session")
def toy_run_inputs(tmp_path_factory, toy_tokenizer_dir):
    """A tiny pre-trained-style checkpoint folder and rendered GLUE-like data."""
    from transformers import AutoTokenizer

    folder = tmp_path_factory.mktemp("toy_model")
    tokenizer = AutoTokenizer.from_pretrained(toy_tokenizer_dir)
    tiny_t5(vocab=len(tokenizer)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    data = {}
    for name in TASKS:
        cfg = TaskDataConfig(task=name, source="generated", seed=0, train_size=80, test_size=24,
                             validation_fraction=0.1, label_noise=0.1)
        task_dir = folder / "data" / name
        for split, frame in generate_task(cfg).items():
            task_dir.mkdir(parents=True, exist_ok=True)
            render(get_task(name), frame, "default").to_parquet(task_dir / f"{split}.parquet")
        data[name] = task_dir
    return folder, data
