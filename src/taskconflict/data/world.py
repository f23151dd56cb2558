"""A small world of people, things, places and events, and the sentences that describe it.

Every generated task and the unlabelled pre-training corpus draw from this one world, so a
model pre-trained on the corpus knows the words the tasks use, and several tasks share the
same input forms (a model that is not told the task can confuse them).

A `Fact` is an event with slots; `realise` turns it into one of several surface forms
(active, passive, fronted time, negated) with synonyms chosen at random, so the same fact
has many wordings and a changed slot can hide behind a changed wording.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Verb:
    """A verb concept; each synonym is (base, past, participle)."""

    forms: tuple[tuple[str, str, str], ...]


def _v(*triples: str) -> Verb:
    return Verb(tuple(tuple(t.split()) for t in triples))  # type: ignore[misc]


@dataclass(frozen=True)
class Genre:
    """A domain of events. MNLI's mismatched test set uses genres unseen in training."""

    name: str
    verbs: tuple[Verb, ...]
    things: tuple[tuple[str, ...], ...]
    places: tuple[str, ...]


PEOPLE = (
    "anna", "ben", "carla", "david", "emma", "felix", "greta", "hugo", "ines", "jonas",
    "karen", "leo", "maria", "nico", "olga", "paul", "rosa", "sam", "tina", "victor",
)  # fmt: skip

# Adjective concepts; each tuple holds synonyms.
ADJECTIVES = (
    ("red",), ("blue",), ("green",), ("black",), ("white",), ("yellow",),
    ("big", "large"), ("small", "little"), ("old",), ("new",), ("cheap",), ("heavy",),
)  # fmt: skip

TIMES = ("yesterday", "on monday", "on friday", "last week", "this morning", "in june")

GENRES = (
    Genre(
        "market",
        verbs=(
            _v("buy bought bought", "purchase purchased purchased"),
            _v("sell sold sold"),
            _v("order ordered ordered"),
            _v("carry carried carried"),
        ),
        things=(("car", "automobile"), ("lamp",), ("bicycle", "bike"), ("coat", "jacket"),
                ("table",), ("radio",)),
        places=("paris", "london", "madrid", "rome"),
    ),
    Genre(
        "home",
        verbs=(
            _v("paint painted painted"),
            _v("repair repaired repaired", "fix fixed fixed"),
            _v("clean cleaned cleaned", "wash washed washed"),
            _v("build built built", "construct constructed constructed"),
        ),
        things=(("house", "home"), ("fence",), ("chair",), ("boat", "ship"), ("door",),
                ("shed",)),
        places=("berlin", "vienna", "dublin", "lisbon"),
    ),
    Genre(
        "lab",
        verbs=(
            _v("measure measured measured"),
            _v("test tested tested", "check checked checked"),
            _v("examine examined examined", "inspect inspected inspected"),
            _v("heat heated heated"),
        ),
        things=(("sample", "specimen"), ("engine", "motor"), ("crystal",), ("signal",),
                ("battery",), ("sensor",)),
        places=("oslo", "cairo", "lima", "tokyo"),
    ),
    Genre(
        "sport",
        verbs=(
            _v("kick kicked kicked"),
            _v("throw threw thrown", "toss tossed tossed"),
            _v("catch caught caught"),
            _v("win won won"),
        ),
        things=(("ball",), ("trophy", "cup"), ("racket",), ("medal",), ("flag",),
                ("helmet",)),
        places=("boston", "sydney", "nairobi", "seoul"),
    ),
)
GENRE_BY_NAME = {g.name: g for g in GENRES}
MATCHED_GENRES = ("market", "home")
MISMATCHED_GENRES = ("lab", "sport")

# Opinion verbs and evaluative adjectives for sentiment: (+1) positive, (-1) negative.
OPINION_VERBS = (
    (+1, _v("love loved loved", "adore adored adored")),
    (+1, _v("like liked liked", "enjoy enjoyed enjoyed")),
    (-1, _v("hate hated hated", "despise despised despised")),
    (-1, _v("dislike disliked disliked")),
)
EVALUATIVE = (
    (+1, ("wonderful", "lovely")), (+1, ("excellent", "superb")), (+1, ("charming",)),
    (-1, ("awful", "terrible")), (-1, ("ugly",)), (-1, ("dull", "boring")),
)  # fmt: skip

SLOTS = ("subject", "verb", "adjective", "thing", "place", "time")
OPTIONAL_SLOTS = ("adjective", "place", "time")


@dataclass(frozen=True)
class Fact:
    """An event: who did what to which thing, where and when. Indices into the lexicon;
    optional slots are None when the fact does not state them."""

    genre: str
    subject: int
    verb: int
    thing: int
    adjective: int | None = None
    place: int | None = None
    time: int | None = None
    negated: bool = False

    @property
    def lexicon(self) -> Genre:
        return GENRE_BY_NAME[self.genre]


def slot_choices(genre: Genre, slot: str) -> int:
    """How many values a slot can take in a genre."""
    return {
        "subject": len(PEOPLE),
        "verb": len(genre.verbs),
        "adjective": len(ADJECTIVES),
        "thing": len(genre.things),
        "place": len(genre.places),
        "time": len(TIMES),
    }[slot]


def random_fact(rng: random.Random, genres: tuple[str, ...] = MATCHED_GENRES,
                p_optional: float = 0.7) -> Fact:
    genre = GENRE_BY_NAME[rng.choice(genres)]
    optional = {
        slot: rng.randrange(slot_choices(genre, slot)) if rng.random() < p_optional else None
        for slot in OPTIONAL_SLOTS
    }
    return Fact(
        genre=genre.name,
        subject=rng.randrange(len(PEOPLE)),
        verb=rng.randrange(len(genre.verbs)),
        thing=rng.randrange(len(genre.things)),
        **optional,
    )


def change_slot(fact: Fact, slot: str, rng: random.Random) -> Fact:
    """The same fact with one slot set to a different value (a stated one, if optional)."""
    n = slot_choices(fact.lexicon, slot)
    old = getattr(fact, slot)
    new = rng.randrange(n - 1) if old is not None else rng.randrange(n)
    if old is not None and new >= old:
        new += 1
    return replace(fact, **{slot: new})


def perturb(fact: Fact, k: int, rng: random.Random, stated_only: bool = True) -> Fact:
    """Change k distinct slots (only slots the fact states, unless `stated_only` is off)."""
    slots = [s for s in SLOTS if not stated_only or getattr(fact, s) is not None]
    for slot in rng.sample(slots, min(k, len(slots))):
        fact = change_slot(fact, slot, rng)
    return fact


def drop(fact: Fact, slots: tuple[str, ...]) -> Fact:
    return replace(fact, **{s: None for s in slots})


# --- surface realisation -------------------------------------------------------------

def _noun_phrase(fact: Fact, rng: random.Random) -> str:
    thing = rng.choice(fact.lexicon.things[fact.thing])
    if fact.adjective is None:
        return f"the {thing}"
    return f"the {rng.choice(ADJECTIVES[fact.adjective])} {thing}"


def _verb(fact: Fact, rng: random.Random) -> tuple[str, str, str]:
    return rng.choice(fact.lexicon.verbs[fact.verb].forms)


def _adjuncts(fact: Fact) -> list[str]:
    parts = []
    if fact.place is not None:
        parts.append(f"in {fact.lexicon.places[fact.place]}")
    if fact.time is not None:
        parts.append(TIMES[fact.time])
    return parts


def realise(fact: Fact, rng: random.Random, form: str | None = None) -> str:
    """One sentence stating the fact. Forms: active, passive, fronted (time first)."""
    if form is None:
        forms = ["active", "active", "passive"] + (["fronted"] if fact.time is not None else [])
        form = rng.choice(forms)
    base, past, participle = _verb(fact, rng)
    subject = PEOPLE[fact.subject]
    noun = _noun_phrase(fact, rng)
    adjuncts = _adjuncts(fact)
    if form == "passive":
        aux = "was not" if fact.negated else "was"
        words = [noun, aux, participle, "by", subject, *adjuncts]
    else:
        verb = f"did not {base}" if fact.negated else past
        if form == "fronted" and fact.time is not None:
            words = [TIMES[fact.time], ",", subject, verb, noun, *adjuncts[:-1]]
        else:
            words = [subject, verb, noun, *adjuncts]
    return " ".join(words) + " ."


QUESTION_SLOTS = ("yes-no", "subject", "thing", "place", "time")


def question(fact: Fact, asked: str, rng: random.Random) -> str:
    """A question about the fact; `asked` is the slot it asks for (or yes-no)."""
    base, past, participle = _verb(fact, rng)
    subject = PEOPLE[fact.subject]
    noun = _noun_phrase(fact, rng)
    place = [f"in {fact.lexicon.places[fact.place]}"] if fact.place is not None else []
    time = [TIMES[fact.time]] if fact.time is not None else []
    if asked == "yes-no":
        if rng.random() < 0.5:
            words = ["did", subject, base, noun, *place, *time]
        else:
            words = ["was", noun, participle, "by", subject, *place, *time]
    elif asked == "subject":
        words = ["who", past, noun, *place, *time]
    elif asked == "thing":
        words = ["what", "did", subject, base, *place, *time]
    elif asked == "place":
        words = ["where", "did", subject, base, noun, *time]
    elif asked == "time":
        words = ["when", "did", subject, base, noun, *place]
    elif asked == "why-not":
        words = ["why", "did", subject, "not", base, noun, *place, *time]
    else:
        raise ValueError(f"unknown question slot {asked!r}")
    return " ".join(words) + " ?"


def elaborate(sentence: str, fact: Fact, rng: random.Random) -> str:
    """The sentence with a detail its fact does not contain: a companion of the subject."""
    other = rng.choice([p for i, p in enumerate(PEOPLE) if i != fact.subject])
    return f"{sentence[:-2]} with {other} {sentence[-1]}"


def answer(fact: Fact, asked: str, rng: random.Random) -> str:
    """The words that answer a question about `asked`."""
    if asked == "subject":
        return PEOPLE[fact.subject]
    if asked == "thing":
        return _noun_phrase(fact, rng)
    if asked == "place":
        return f"in {fact.lexicon.places[fact.place]}"
    if asked == "time":
        return TIMES[fact.time]
    raise ValueError(f"no answer words for {asked!r}")


def opinion(rng: random.Random, genres: tuple[str, ...] = MATCHED_GENRES,
            agreement: float = 0.6, contrast: bool = False) -> tuple[str, int]:
    """A sentence of someone's opinion of a thing, and its polarity (+1 / -1).

    The polarity is the opinion verb's, flipped by negation. An evaluative adjective, when
    present, agrees with it only `agreement` of the time: a cue, not the answer. With
    `contrast`, a second person's opposite opinion of the same thing follows ("emma liked the
    car , paul hated the car ."): the polarity stays the first clause's, so a model must read
    whose opinion comes first rather than count opinion words.
    """
    fact = random_fact(rng, genres)
    sign, verb = rng.choice(OPINION_VERBS)
    negated = rng.random() < 0.35
    polarity = -sign if negated else sign
    base, past, _ = rng.choice(verb.forms)
    noun = rng.choice(fact.lexicon.things[fact.thing])
    if rng.random() < 0.6:
        want = polarity if rng.random() < agreement else -polarity
        adjective = rng.choice([w for s, words in EVALUATIVE if s == want for w in words])
        noun = f"{adjective} {noun}"
    elif fact.adjective is not None:
        noun = f"{rng.choice(ADJECTIVES[fact.adjective])} {noun}"
    verb_phrase = f"did not {base}" if negated else past
    words = [PEOPLE[fact.subject], verb_phrase, "the", noun, *_adjuncts(fact)]
    if contrast:
        other = rng.choice([p for i, p in enumerate(PEOPLE) if i != fact.subject])
        _, opposite = rng.choice([(s, v) for s, v in OPINION_VERBS if s == -polarity])
        words += [",", other, rng.choice(opposite.forms)[1], "the", noun.split()[-1]]
    return " ".join(words) + " .", polarity


def lexicon_lines() -> list[str]:
    """Every word of the world, so a tokenizer trained on the corpus never meets <unk>."""
    words = [*PEOPLE, *TIMES, ",", ".", "?", "the", "by", "was", "not", "did", "in", "with",
             "who", "what", "where", "when", "why", "yes"]
    for genre in GENRES:
        words += [w for verb in genre.verbs for triple in verb.forms for w in triple]
        words += [w for thing in genre.things for w in thing]
        words += genre.places
    for _, verb in OPINION_VERBS:
        words += [w for triple in verb.forms for w in triple]
    words += [w for _, ws in EVALUATIVE for w in ws] + [w for a in ADJECTIVES for w in a]
    return [" ".join(words)]


# --- additions for the DecaNLP-like tasks (the functions above are unchanged) ----------

def canonical(fact: Fact) -> str:
    """The fact in one fixed wording (active voice, first synonyms), so a target that restates
    a fact (a summary) has exactly one right spelling."""
    base, past, _ = fact.lexicon.verbs[fact.verb].forms[0]
    noun = fact.lexicon.things[fact.thing][0]
    if fact.adjective is not None:
        noun = f"{ADJECTIVES[fact.adjective][0]} {noun}"
    verb = f"did not {base}" if fact.negated else past
    return " ".join([PEOPLE[fact.subject], verb, f"the {noun}", *_adjuncts(fact)]) + " ."


def verb_forms_in(fact: Fact, sentence: str) -> tuple[str, str, str]:
    """The synonym of the fact's verb that a realisation of it uses (base, past, participle)."""
    words = set(sentence.split())
    for forms in fact.lexicon.verbs[fact.verb].forms:
        if words & set(forms):
            return forms
    raise ValueError(f"no form of the fact's verb in {sentence!r}")


def surface(fact: Fact, sentence: str, slot: str) -> str:
    """The words that state `slot` of the fact in a realisation of it: the person, the noun
    phrase with its synonyms as used ("the large car"), the place name, the time."""
    if slot == "subject":
        candidates = [PEOPLE[fact.subject]]
    elif slot == "place" and fact.place is not None:
        candidates = [fact.lexicon.places[fact.place]]
    elif slot == "time" and fact.time is not None:
        candidates = [TIMES[fact.time]]
    elif slot == "thing":
        adjectives = ADJECTIVES[fact.adjective] if fact.adjective is not None else ("",)
        candidates = [
            " ".join(["the", *([a] if a else []), t])
            for a in adjectives
            for t in fact.lexicon.things[fact.thing]
        ]
    else:
        raise ValueError(f"the fact states no {slot!r}")
    padded = f" {sentence} "
    for words in candidates:
        if f" {words} " in padded:
            return words
    raise ValueError(f"{slot!r} of the fact is not in {sentence!r}")
