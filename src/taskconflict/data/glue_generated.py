"""The generated GLUE-like benchmark: eight tasks with GLUE's names, types and metrics.

Each task is a learnable function of sentences from the shared world (`world.py`) plus label
noise, so single-task scores sit below 100 and transfer can go either way. Several tasks
share input forms on purpose: MRPC, STS-B, MNLI and RTE are all pairs of event sentences,
CoLA and SST-2 single sentences, QQP pairs of questions. Without a prompt, a model cannot
tell from the input alone which label space to answer in.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from dataclasses import replace

import pandas as pd

from taskconflict import registry
from taskconflict.config import TaskDataConfig
from taskconflict.data import world

Example = tuple[dict[str, str], float]
"""The text fields of one example and its label (class index, or a score for STS-B)."""


def _cola(rng: random.Random, genres: tuple[str, ...]) -> Example:
    """Acceptability: a well-formed sentence, or one broken by a small syntactic error."""
    if rng.random() < 0.3:
        sentence, _ = world.opinion(rng, genres)
    else:
        sentence = world.realise(world.random_fact(rng, genres), rng)
    if rng.random() < 0.3:
        return {"sentence": _corrupt(sentence, rng)}, 0
    return {"sentence": sentence}, 1


_BASE_OF_PAST = {
    past: base
    for genre in world.GENRES
    for verb in genre.verbs
    for base, past, _ in verb.forms
    if base != past
}


def _corrupt(sentence: str, rng: random.Random) -> str:
    words = sentence.split()
    body = len(words) - 1  # keep the final punctuation in place
    while True:
        kind = rng.choice(["swap", "drop", "repeat", "tense", "determiner"])
        out = list(words)
        if kind == "swap":
            i = rng.randrange(body - 1)
            out[i], out[i + 1] = out[i + 1], out[i]
        elif kind == "drop":  # dropping "," or "not" could leave a good sentence
            i = rng.randrange(body)
            if out[i] in (",", "not"):
                continue
            del out[i]
        elif kind == "repeat":
            i = rng.randrange(body)
            out.insert(i, out[i])
        elif kind == "tense":
            past = [i for i, w in enumerate(out) if w in _BASE_OF_PAST]
            if not past:
                continue
            i = rng.choice(past)
            out[i] = _BASE_OF_PAST[out[i]]
        elif kind == "determiner":
            if "the" not in out:
                continue
            i = out.index("the")
            out.insert(min(i + 2, body - 1), out.pop(i))
        if out != words:
            return " ".join(out)


def _sst2(rng: random.Random, genres: tuple[str, ...]) -> Example:
    """Sentiment: the polarity of the opinion verb, flipped by negation."""
    sentence, polarity = world.opinion(rng, genres)
    return {"sentence": sentence}, int(polarity > 0)


def _mrpc(rng: random.Random, genres: tuple[str, ...]) -> Example:
    """Paraphrase: the same event in other words, or an event that differs in a slot."""
    fact = world.random_fact(rng, genres)
    equivalent = rng.random() < 0.6
    other = fact if equivalent else world.perturb(fact, rng.choice([1, 1, 2]), rng)
    pair = {"sentence1": world.realise(fact, rng), "sentence2": world.realise(other, rng)}
    return pair, int(equivalent)


def _stsb(rng: random.Random, genres: tuple[str, ...]) -> Example:
    """Similarity 0-5: five minus 1.25 per slot in which the two events differ, plus noise."""
    fact = world.random_fact(rng, genres, p_optional=0.9)
    differing = rng.randrange(5)
    other = world.perturb(fact, differing, rng)
    score = 5.0 - 1.25 * differing + rng.gauss(0.0, 0.3)
    pair = {"sentence1": world.realise(fact, rng), "sentence2": world.realise(other, rng)}
    return pair, round(min(5.0, max(0.0, score)), 2)


def _qqp(rng: random.Random, genres: tuple[str, ...]) -> Example:
    """Duplicate questions: same question about the same event, or not."""
    fact = world.random_fact(rng, genres)
    asked = rng.choice(world.QUESTION_SLOTS)
    first = world.question(fact, asked, rng)
    if rng.random() < 0.45:
        return {"question1": first, "question2": world.question(fact, asked, rng)}, 1
    if rng.random() < 0.5:  # change a slot that the question mentions
        slot = rng.choice(world.question_mentions(fact, asked))
        other_fact, other_asked = world.change_slot(fact, slot, rng), asked
    else:
        other_fact, other_asked = fact, rng.choice([s for s in world.QUESTION_SLOTS if s != asked])
    second = world.question(other_fact, other_asked, rng)
    return {"question1": first, "question2": second}, int(second == first)


def _inference(rng: random.Random, genres: tuple[str, ...]) -> tuple[str, str, int]:
    """A premise and a hypothesis: 0 entailed, 1 neutral, 2 contradicted.

    Entailed: a restatement of part of the premise. Contradicted: the restatement with one
    stated slot changed, or negated. Neutral: the hypothesis adds a slot the premise leaves
    unsaid.
    """
    fact = world.random_fact(rng, genres, p_optional=0.8)
    label = rng.randrange(3)
    optional = [s for s in world.OPTIONAL_SLOTS if getattr(fact, s) is not None]
    if label == 1:
        missing = [s for s in world.OPTIONAL_SLOTS if getattr(fact, s) is None]
        if missing:  # the premise leaves a slot unsaid; the hypothesis fills it in
            premise = fact
            hypothesis = world.change_slot(fact, rng.choice(missing), rng)
        else:
            hidden = rng.choice(optional)
            premise, hypothesis = world.drop(fact, (hidden,)), fact
        kept = [s for s in world.OPTIONAL_SLOTS if getattr(premise, s) is not None]
        hypothesis = world.drop(hypothesis, tuple(rng.sample(kept, rng.randrange(len(kept) + 1))))
        return world.realise(premise, rng), world.realise(hypothesis, rng), 1
    restated = world.drop(fact, tuple(rng.sample(optional, rng.randrange(len(optional) + 1))))
    if label == 2:
        if rng.random() < 0.3:
            restated = replace(restated, negated=True)
        else:
            restated = world.perturb(restated, 1, rng)
    return world.realise(fact, rng), world.realise(restated, rng), label


def _mnli(rng: random.Random, genres: tuple[str, ...]) -> Example:
    premise, hypothesis, label = _inference(rng, genres)
    return {"premise": premise, "hypothesis": hypothesis}, label


def _rte(rng: random.Random, genres: tuple[str, ...]) -> Example:
    """Two-way inference from the same generator as MNLI: entailment / not_entailment."""
    premise, hypothesis, label = _inference(rng, genres)
    if label != 0 and rng.random() < 0.5:  # balance the two classes
        premise, hypothesis, label = _inference(rng, genres)
    return {"sentence1": premise, "sentence2": hypothesis}, int(label != 0)


def _qnli(rng: random.Random, genres: tuple[str, ...]) -> Example:
    """Does the sentence answer the question? Not when it leaves the asked slot unsaid or
    is about another event."""
    fact = world.random_fact(rng, genres, p_optional=0.9)
    asked = rng.choice(["subject", "thing", "place", "time"])
    if getattr(fact, asked) is None:
        fact = world.change_slot(fact, asked, rng)
    q = world.question(fact, asked, rng)
    if rng.random() < 0.5:
        return {"question": q, "sentence": world.realise(fact, rng)}, 0
    if asked in world.OPTIONAL_SLOTS and rng.random() < 0.5:
        answerless = world.drop(fact, (asked,))
    else:
        given = [s for s in ("subject", "thing", "verb") if s != asked]
        answerless = world.change_slot(fact, rng.choice(given), rng)
    return {"question": q, "sentence": world.realise(answerless, rng)}, 1


GENERATORS: dict[str, Callable[[random.Random, tuple[str, ...]], Example]] = {
    "cola": _cola,
    "sst2": _sst2,
    "mrpc": _mrpc,
    "stsb": _stsb,
    "qqp": _qqp,
    "mnli": _mnli,
    "qnli": _qnli,
    "rte": _rte,
}


def task_rng(seed: int, task: str, purpose: str) -> random.Random:
    """An independent random stream per (seed, task, purpose): tasks don't share draws."""
    return random.Random(zlib.crc32(f"{seed}/{task}/{purpose}".encode()))


def generate_task(cfg: TaskDataConfig) -> dict[str, pd.DataFrame]:
    """All splits of one generated task.

    train and validation come from one pool of distinct inputs (validation is a held-out
    fraction of it); test inputs never occur in that pool. MNLI's mismatched test set is
    drawn from genres that training never sees.
    """
    task = registry.get_task(cfg.task)
    generate = GENERATORS[cfg.task]
    rng = task_rng(cfg.seed, cfg.task, "examples")
    noise = task_rng(cfg.seed, cfg.task, "noise")
    n_validation = max(1, round(cfg.train_size * cfg.validation_fraction))
    seen: set[tuple[str, ...]] = set()

    def draw(n: int, genres: tuple[str, ...]) -> list[Example]:
        examples: list[Example] = []
        repeats = 0  # draws in a row that gave an input already seen
        while repeats < 5000:
            fields, label = generate(rng, genres)
            key = tuple(fields[f] for f in task.fields)
            if key in seen:
                repeats += 1
                continue
            repeats = 0
            seen.add(key)
            examples.append((fields, _add_noise(task, label, cfg.label_noise, noise)))
            if len(examples) == n:
                return examples
        raise RuntimeError(
            f"{cfg.task}: the generator yields fewer than {n} distinct inputs; "
            f"lower train_size / test_size for this task"
        )

    pool = draw(cfg.train_size, world.MATCHED_GENRES)
    splits = {
        "train": pool[n_validation:],
        "validation": pool[:n_validation],
        "test": draw(cfg.test_size, world.MATCHED_GENRES),
    }
    if "test_mismatched" in task.test_splits:
        splits["test_mismatched"] = draw(cfg.test_size, world.MISMATCHED_GENRES)
    return {name: _frame(task, examples) for name, examples in splits.items()}


def _add_noise(task: registry.Task, label: float, rate: float, rng: random.Random) -> float:
    if rng.random() >= rate:
        return label
    if task.kind == registry.REGRESSION:
        return round(rng.uniform(0.0, 5.0), 2)
    return rng.choice([i for i in range(len(task.labels)) if i != label])


def _frame(task: registry.Task, examples: list[Example]) -> pd.DataFrame:
    columns: dict[str, list] = {"idx": list(range(len(examples)))}
    for field in task.fields:
        columns[field] = [fields[field] for fields, _ in examples]
    labels = [label for _, label in examples]
    if task.kind == registry.REGRESSION:
        columns["label"] = pd.array(labels, dtype="float64")
    else:
        columns["label"] = pd.array(labels, dtype="int64")
    frame = pd.DataFrame(columns)
    for field in task.fields:
        frame[field] = frame[field].astype("string")
    return frame
