"""The generated GLUE-like benchmark: eight tasks with GLUE's names, types and metrics.

Each task is a learnable function of sentences from the shared world (`world.py`). Training
and validation labels carry label noise (and STS-B scores a jitter), so a model cannot fit them
exactly; test labels are the rule's own, so a model that learns the rule scores 100 and
transfer differences are not masked by noise in the gold labels. Several tasks
share input forms on purpose: MRPC, STS-B, MNLI and RTE are all pairs of event sentences made
by one generator, CoLA and SST-2 single sentences, QQP pairs of questions. Without a prompt, a
model cannot tell from the input alone which label space to answer in, and the pair tasks
read the same pairs differently.

The labels hinge on salient cues (negation, an added detail, a dropped detail, a word out of
place) rather than on deep comparison, so that the small models the offline presets train in
a few hundred steps can learn them.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import replace

import pandas as pd

from taskconflict import registry
from taskconflict.config import TaskDataConfig
from taskconflict.data import world

Example = tuple[dict[str, str], float]
"""The text fields of one example and its label (class index, or a score for STS-B)."""


def cola(rng: random.Random, genres: tuple[str, ...]) -> Example:
    """Acceptability: a well-formed sentence, or one broken by a local syntactic error."""
    if rng.random() < 0.3:
        sentence, _ = world.opinion(rng, genres)
    else:
        sentence = world.realise(world.random_fact(rng, genres), rng)
    if rng.random() < 0.35:
        return {"sentence": _corrupt(sentence, rng)}, 0
    return {"sentence": sentence}, 1


def _bare_participle(base: str) -> str:
    return (base[:-1] if base.endswith("e") and not base.endswith("ee") else base) + "ing"


_PARTICIPLE_OF_PAST = {
    past: _bare_participle(base)
    for verb in [v for genre in world.GENRES for v in genre.verbs]
    + [v for _, v in world.OPINION_VERBS]
    for base, past, _ in verb.forms
}
"""A past-tense verb's -ing form. Swapped in without its auxiliary ("the farmer selling the
horse") it breaks the sentence by a word that well-formed sentences never contain, an error
a small, nearly position-blind encoder can see (it cannot see most word-order errors)."""


def _corrupt(sentence: str, rng: random.Random) -> str:
    """A repeated word, a verb in the wrong form (an -ing form with no auxiliary), a missing
    or misplaced determiner."""
    words = sentence.split()
    body = len(words) - 1  # keep the final punctuation in place
    while True:
        kind = rng.choice(["repeat", "verb form", "no determiner", "determiner"])
        out = list(words)
        if kind == "repeat":
            i = rng.randrange(body)
            out.insert(i, out[i])
        elif kind == "verb form":
            past = [i for i, w in enumerate(out) if w in _PARTICIPLE_OF_PAST]
            if not past:
                continue
            i = rng.choice(past)
            out[i] = _PARTICIPLE_OF_PAST[out[i]]
        elif kind == "no determiner":
            if "the" not in out:
                continue
            out.remove("the")
        elif kind == "determiner":
            if "the" not in out:
                continue
            i = out.index("the")
            out.insert(min(i + 2, body - 1), out.pop(i))
        if out != words:
            return " ".join(out)


CONTRASTED = 0.25
"""Share of SST sentences followed by another person's opposite opinion (`world.opinion`),
which small models learn to discount only in part in a few hundred steps."""


def sst2(rng: random.Random, genres: tuple[str, ...]) -> Example:
    """Sentiment: the polarity of the opinion verb, flipped by negation; the first clause's
    where a second person's opposite opinion follows."""
    sentence, polarity = world.opinion(rng, genres, contrast=rng.random() < CONTRASTED)
    return {"sentence": sentence}, int(polarity > 0)


# The sentence-pair tasks share one generator: a sentence about an event, and a second
# sentence made from it by one operation. Each task reads the operation its own way (MRPC
# counts a shortened restatement as a different claim, MNLI as entailed), so the same pair
# can carry different labels in different tasks.
RESTATE, SHORTEN, ELABORATE, NEGATE = "restate", "shorten", "elaborate", "negate"
REPLACE = "replace"
"""The second sentence states another value for one of the first's details (another person,
thing, place or time): a contradiction that no single word marks, so a model must compare the
two sentences detail by detail, which small models learn only in part in a few hundred steps
(the demo's scores then stay off the ceiling with clean test labels)."""
PAIR_OPERATIONS = ((RESTATE, 0.33), (SHORTEN, 0.17), (ELABORATE, 0.22), (NEGATE, 0.18),
                   (REPLACE, 0.1))


_OTHERS = sum(w for op, w in PAIR_OPERATIONS if op != RESTATE)
MRPC_OPERATIONS = tuple((op, 0.5 if op == RESTATE else 0.5 * w / _OTHERS)
                        for op, w in PAIR_OPERATIONS)
"""MRPC's draws: restatements (its one positive class) half of the pairs, the other
operations in PAIR_OPERATIONS' proportions, so that neither class is a majority to lean on."""


def _pair(rng: random.Random, genres: tuple[str, ...],
          operations: tuple[tuple[str, float], ...] = PAIR_OPERATIONS) -> tuple[str, str, str]:
    fact = world.random_fact(rng, genres, p_optional=0.8)
    operation = rng.choices(*zip(*operations, strict=True))[0]
    optional = [s for s in world.OPTIONAL_SLOTS if getattr(fact, s) is not None]
    if operation == SHORTEN and not optional:
        operation = RESTATE
    if operation == RESTATE:
        second = world.realise(fact, rng)
    elif operation == SHORTEN:
        dropped = rng.sample(optional, rng.randint(1, len(optional)))
        second = world.realise(world.drop(fact, tuple(dropped)), rng)
    elif operation == ELABORATE:
        second = world.elaborate(world.realise(fact, rng), fact, rng)
    elif operation == REPLACE:
        slot = rng.choice([s for s in ("subject", "thing", "place", "time")
                           if getattr(fact, s) is not None])
        second = world.realise(world.change_slot(fact, slot, rng), rng)
    else:
        kept = world.drop(fact, tuple(rng.sample(optional, rng.randrange(len(optional) + 1))))
        second = world.realise(replace(kept, negated=True), rng)
    return world.realise(fact, rng), second, operation


def mrpc(rng: random.Random, genres: tuple[str, ...]) -> Example:
    """Paraphrase: only a full restatement says the same; fewer or more details do not."""
    first, second, operation = _pair(rng, genres, MRPC_OPERATIONS)
    return {"sentence1": first, "sentence2": second}, int(operation == RESTATE)


STS_SCORES = {RESTATE: 5.0, SHORTEN: 3.75, ELABORATE: 2.5, REPLACE: 1.75, NEGATE: 1.0}


def stsb(rng: random.Random, genres: tuple[str, ...], jitter: bool = True) -> Example:
    """Similarity 0-5: graded by the operation, plus Gaussian jitter (score noise). Without
    `jitter` the score is the operation's own; the jitter is drawn either way, so the random
    stream, and every later input, is the same with and without it."""
    first, second, operation = _pair(rng, genres)
    noise = rng.gauss(0.0, 0.35)
    score = STS_SCORES[operation] + (noise if jitter else 0.0)
    return {"sentence1": first, "sentence2": second}, round(min(5.0, max(0.0, score)), 2)


def stsb_rule(rng: random.Random, genres: tuple[str, ...]) -> Example:
    """STS-B's test rows: the operation's own score (the same draws as `stsb`)."""
    return stsb(rng, genres, jitter=False)


NLI_LABELS = {RESTATE: 0, SHORTEN: 0, ELABORATE: 1, NEGATE: 2, REPLACE: 2}
"""Entailed, neutral (adds what the premise does not say), contradicted (denied, or another
value for one of its details)."""


def mnli(rng: random.Random, genres: tuple[str, ...]) -> Example:
    premise, hypothesis, operation = _pair(rng, genres)
    return {"premise": premise, "hypothesis": hypothesis}, NLI_LABELS[operation]


def rte(rng: random.Random, genres: tuple[str, ...]) -> Example:
    """Two-way inference on MNLI's pairs: entailment / not_entailment."""
    premise, hypothesis, operation = _pair(rng, genres)
    return {"sentence1": premise, "sentence2": hypothesis}, int(NLI_LABELS[operation] != 0)


def qqp(rng: random.Random, genres: tuple[str, ...]) -> Example:
    """Duplicate questions: the same question reworded, or one that asks something else
    (another slot, a negated or a more specific question)."""
    fact = world.random_fact(rng, genres)
    asked = rng.choice(world.QUESTION_SLOTS)
    first = world.question(fact, asked, rng)
    kind = rng.random()
    if kind < 0.45:
        return {"question1": first, "question2": world.question(fact, asked, rng)}, 1
    if kind < 0.6:
        other = rng.choice([s for s in world.QUESTION_SLOTS if s != asked])
        second = world.question(fact, other, rng)
    elif kind < 0.8:
        second = world.question(fact, "why-not", rng)
    else:
        second = world.elaborate(world.question(fact, asked, rng), fact, rng)
    return {"question1": first, "question2": second}, int(second == first)


def qnli(rng: random.Random, genres: tuple[str, ...]) -> Example:
    """Does the sentence answer the question? Not when it leaves the asked detail unsaid or
    denies the event."""
    fact = world.random_fact(rng, genres, p_optional=0.9)
    asked = rng.choice(["subject", "thing", "place", "place", "time", "time"])
    if getattr(fact, asked) is None:
        fact = world.change_slot(fact, asked, rng)
    q = world.question(fact, asked, rng)
    if rng.random() < 0.5:
        return {"question": q, "sentence": world.realise(fact, rng)}, 0
    if asked in world.OPTIONAL_SLOTS and rng.random() < 0.6:
        unanswered = world.drop(fact, (asked,))
    else:
        unanswered = replace(fact, negated=True)
    return {"question": q, "sentence": world.realise(unanswered, rng)}, 1


def task_rng(seed: int, task: str, purpose: str) -> random.Random:
    """An independent random stream per (seed, task, purpose): tasks don't share draws."""
    return random.Random(zlib.crc32(f"{seed}/{task}/{purpose}".encode()))


def generate_task(cfg: TaskDataConfig) -> dict[str, pd.DataFrame]:
    """All splits of one generated task.

    train and validation come from one pool of distinct inputs (validation is a held-out
    fraction of it); test inputs never occur in that pool. MNLI's mismatched test set is
    drawn from genres that training never sees.

    Label noise (`cfg.label_noise`, and STS-B's score jitter) goes on the pool only; test
    labels are the rule's. The pool is drawn first and the noise has its own random stream,
    so train and validation rows do not depend on how the test rows are labelled.
    """
    task = registry.get_task(cfg.task)
    generate = registry.resolve(task.generated.draw)
    rule = registry.resolve(task.generated.draw_test or task.generated.draw)
    rng = task_rng(cfg.seed, cfg.task, "examples")
    noise = task_rng(cfg.seed, cfg.task, "noise")
    n_validation = max(1, round(cfg.train_size * cfg.validation_fraction))
    seen: set[tuple[str, ...]] = set()

    def draw(n: int, genres: tuple[str, ...], noisy: bool) -> list[Example]:
        examples: list[Example] = []
        repeats = 0  # draws in a row that gave an input already seen
        while repeats < 5000:
            fields, label = (generate if noisy else rule)(rng, genres)
            key = tuple(fields[f] for f in task.fields)
            if key in seen:
                repeats += 1
                continue
            repeats = 0
            seen.add(key)
            if noisy:
                label = _add_noise(task, label, cfg.label_noise, noise)
            examples.append((fields, label))
            if len(examples) == n:
                return examples
        raise RuntimeError(
            f"{cfg.task}: the generator yields fewer than {n} distinct inputs; "
            f"lower train_size / test_size for this task"
        )

    pool = draw(cfg.train_size, world.MATCHED_GENRES, noisy=True)
    splits = {
        "train": pool[n_validation:],
        "validation": pool[:n_validation],
        "test": draw(cfg.test_size, world.MATCHED_GENRES, noisy=False),
    }
    if "test_mismatched" in task.test_splits:
        splits["test_mismatched"] = draw(cfg.test_size, world.MISMATCHED_GENRES, noisy=False)
    return {name: _frame(task, examples) for name, examples in splits.items()}


def _add_noise(task: registry.Task, label: float, rate: float, rng: random.Random) -> float:
    if rng.random() >= rate:
        return label
    if task.kind == registry.REGRESSION:
        return round(rng.uniform(0.0, 5.0), 2)
    return rng.choice([i for i in range(len(task.label_words)) if i != label])


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
