"""Output spaces (Figure 4): which words a text-to-text model answers a classification task with.

- `default`: the T5 paper's label words (`entailment`, `positive`, ...), from the registry;
- `overlapping`: a few letters re-used as class labels across all tasks, so tasks share
  output tokens that mean different things;
- `distinct`: letters that no two classes of any task share.

Letters are assigned by a seeded shuffle over the benchmark's classification tasks in
registry order, so the same seed gives every run the same label space.
"""

from __future__ import annotations

import random
import string

from taskconflict import factors, registry

OVERLAPPING_POOL = 4
"""Letters shared by all tasks in the overlapping space (at least the largest class count)."""


def answer_words(task_name: str, style: str, seed: int) -> tuple[str, ...]:
    """The answer word of each class of a classification task under an output space."""
    task = registry.get_task(task_name)
    if style == "default":
        return task.label_words
    return label_space(task.benchmark, style, seed)[task_name]


def label_space(benchmark: str, style: str, seed: int) -> dict[str, tuple[str, ...]]:
    """Letters for every classification task of a benchmark under a letter style."""
    if factors.OUTPUT_SPACE.check(style) == "default":
        raise ValueError("the default output space is the registry's label words, no letters")
    rng = random.Random(f"{benchmark}/{style}/{seed}")
    tasks = [t for t in registry.BENCHMARKS[benchmark]
             if registry.get_task(t).kind == registry.CLASSIFICATION]
    letters = list(string.ascii_lowercase)
    rng.shuffle(letters)
    space: dict[str, tuple[str, ...]] = {}
    if style == "overlapping":
        pool = letters[:OVERLAPPING_POOL]
        for task in tasks:
            space[task] = tuple(rng.sample(pool, len(registry.get_task(task).label_words)))
        return space
    for task in tasks:
        n = len(registry.get_task(task).label_words)
        space[task], letters = tuple(letters[:n]), letters[n:]
    return space


LETTER_LINES = 20


def letter_lines() -> list[str]:
    """Lines of every letter a label space may use, for the tokenizer: each line a seeded
    shuffle, so every letter is followed by several others and the unigram trainer keeps it
    as a piece at a word's start, as it does the label words. (Letters cannot be user-defined
    symbols: SentencePiece would cut them off every word they begin.)"""
    rng = random.Random(0)
    lines = []
    for _ in range(LETTER_LINES):
        letters = list(string.ascii_lowercase)
        rng.shuffle(letters)
        lines.append(" ".join(letters))
    return lines
