"""Unlabelled text from the generated world, for the tokenizer and for pre-training.

Documents about one event each, in every form the tasks use (statements in all genres,
restatements, questions with answers, denials, opinions), so the pre-trained model knows the
tasks' language and how mentions of one event relate, but has seen none of their labels.
Drawn from its own seed, independent of the task data: changing a task's data never retrains
the tokenizer or the model.
"""

from __future__ import annotations

import random
import re
import zlib
from dataclasses import replace
from pathlib import Path

from taskconflict.config import CorpusConfig
from taskconflict.data import world
from taskconflict.io import write_lines

GENRE_NAMES = tuple(g.name for g in world.GENRES)


def _mention(fact: world.Fact, rng: random.Random) -> str:
    """Another sentence about the same event: a restatement (other form, synonyms, fewer
    details), a question with its answer, a denial of a changed detail, or an opinion."""
    kind = rng.random()
    if kind < 0.4:
        optional = [s for s in world.OPTIONAL_SLOTS if getattr(fact, s) is not None]
        dropped = tuple(rng.sample(optional, rng.randrange(len(optional) + 1)))
        return world.realise(world.drop(fact, dropped), rng)
    if kind < 0.65:
        asked = rng.choice(["subject", "thing", "place", "time"])
        if getattr(fact, asked) is None:
            return world.question(fact, "yes-no", rng) + " yes ."
        return world.question(fact, asked, rng) + " " + world.answer(fact, asked, rng) + " ."
    if kind < 0.8:
        changed = world.perturb(fact, 1, rng)
        return world.realise(replace(changed, negated=True), rng)
    if kind < 0.9:
        return world.elaborate(world.realise(fact, rng), fact, rng)
    return world.opinion(rng, (fact.genre,))[0]


def document(rng: random.Random) -> str:
    """An event and one to three further mentions of it (sometimes an unrelated sentence):
    masked words can often be recovered from another mention, so span corruption teaches the
    model to align and copy across sentences, as the pair tasks need."""
    fact = world.random_fact(rng, GENRE_NAMES)
    sentences = [world.realise(fact, rng)]
    for _ in range(rng.randint(1, 3)):
        if rng.random() < 0.15:
            sentences.append(world.realise(world.random_fact(rng, GENRE_NAMES), rng))
        else:
            sentences.append(_mention(fact, rng))
    return " ".join(sentences)


FOREIGN_SHARE = 0.1
"""Share of documents in the pseudo-language of the generated translation task: monolingual
text, as web corpora hold some German, never paired with its English source."""


def foreign(doc: str) -> str:
    """A document in the pseudo-language, sentence by sentence."""
    from taskconflict.data.decanlp_generated import VERB_FORMS, german, translate

    sentences = re.findall(r"[^.?]+[.?]", doc)
    return " ".join(
        translate(s.strip()) if any(w in VERB_FORMS for w in s.split())
        else " ".join(german(w) for w in s.split())
        for s in sentences
    )


DECANLP_SHARE = 0.1
"""Share of documents in forms only the DecaNLP tasks use (`decanlp_generated.corpus_document`)."""


def documents(n: int, seed: int) -> list[str]:
    from taskconflict.data.decanlp_generated import corpus_document

    rng = random.Random(seed)
    docs = []
    for _ in range(n):
        if rng.random() < DECANLP_SHARE:
            docs.append(corpus_document(rng, GENRE_NAMES))
            continue
        doc = document(rng)
        docs.append(foreign(doc) if rng.random() < FOREIGN_SHARE else doc)
    return docs


def build_corpus(cfg: CorpusConfig, train_path: str | Path, heldout_path: str | Path) -> None:
    """Write the pre-training corpus and a held-out part (own seed) for evaluation."""
    write_lines(documents(cfg.sentences, cfg.seed), train_path)
    heldout_seed = zlib.crc32(f"{cfg.seed}/heldout".encode())
    write_lines(documents(cfg.heldout_sentences, heldout_seed), heldout_path)
