"""The generated DecaNLP-like benchmark: nine tasks with decaNLP's names, formats and metrics.

Every example is decaNLP's (context, question, answer) triple, lowercased, with tokens split by
spaces like the rest of the generated world (`world.py`), so one tokenizer and one pre-trained
model cover both benchmarks. The question names the task (a fixed question for SST, IWSLT,
CNN/DM and WikiSQL, the example's own question for the QA tasks), so decaNLP's tasks are told
apart by their input, unlike GLUE's pair tasks under the null prompt.

Answers are short (at most 12 words, SQL 15 tokens) and each task hinges on a rule a small T5
can learn in a few hundred steps: a word mapping plus one reordering (IWSLT), rewriting a
story's lead event in a fixed wording (CNN/DM), composing SQL from phrase cues (WikiSQL),
finding the span of an asked slot (SQuAD, QA-SRL, QA-ZRE) and who typically does a deed
(Winograd). Only the classification tasks get label noise, and only on their train and
validation rows: test labels are the rule's, so a perfect model scores 100 and transfer
differences are not shrunk by noise. For the other tasks the score a trivial baseline gets is
named in each generator's docstring.

The normalised frame (`columns`, `rows_to_frame`, shared with the real DecaNLP data) has `answer`
(the training target, and the span of span tasks) and `answers`, every distinct gold answer the
metrics take the best of, `answer` first (here always `[answer]`). Span tasks' `answer_start` is
the answer's character offset in the context, UNANSWERABLE_START (-1) where the answer is
`unanswerable`, and NOT_A_SPAN (-2) where the gold answer is text that is no span of the context
(real data only: QA-ZRE's several answers joined by ", ", an answer found nowhere in its
context): such rows are text-to-text targets like any other, span heads do not train on them,
and evaluation scores a span head's predicted text against their gold text.
"""

from __future__ import annotations

import random
import re
from dataclasses import replace
from typing import Any

import pandas as pd

from taskconflict import registry
from taskconflict.config import TaskDataConfig
from taskconflict.data import world
from taskconflict.data.glue_generated import CONTRASTED, NLI_LABELS, _add_noise, _pair, task_rng

Row = dict[str, Any]
"""One example: context, question, and answer (or label, for classification); answer_start
for span tasks; headers for WikiSQL; answers where there is more than one gold answer."""

UNANSWERABLE_START, NOT_A_SPAN = registry.UNANSWERABLE_START, registry.NOT_A_SPAN


def _question(task: str, **inputs: str) -> str:
    return registry.get_task(task).question_format.format(**inputs)


def _starts(context: str, answer: str) -> list[int]:
    """Character offsets of the whole-word occurrences of `answer` in `context`."""
    return [m.start() for m in re.finditer(rf"(?<!\S){re.escape(answer)}(?!\S)", context)]


def _span(context: str, question: str, answer: str) -> Row:
    starts = _starts(context, answer)
    if len(starts) != 1:
        raise ValueError(f"answer {answer!r} is not one span of {context!r}")
    return {"context": context, "question": question, "answer": answer, "answer_start": starts[0]}


# --- classification ------------------------------------------------------------------------

def sst(rng: random.Random, genres: tuple[str, ...]) -> Row:
    """Sentiment: the opinion verb's polarity, flipped by negation (as GLUE's SST-2)."""
    sentence, polarity = world.opinion(rng, genres, contrast=rng.random() < CONTRASTED)
    return {"context": sentence, "question": _question("sst"), "label": int(polarity > 0)}


def mnli_deca(rng: random.Random, genres: tuple[str, ...]) -> Row:
    """Inference on GLUE MNLI's pairs, in decaNLP's quoted premise / hypothesis format."""
    premise, hypothesis, operation = _pair(rng, genres)
    return {
        "context": registry.get_task("mnli_deca").context_format.format(premise=premise),
        "question": _question("mnli_deca", hypothesis=hypothesis),
        "label": NLI_LABELS[operation],
    }


# --- IWSLT: translation into a rule-based pseudo-German --------------------------------------

_FUNCTION_WORDS = {
    "the": "die", "by": "von", "was": "wurde", "not": "nicht", "did": "tat", "in": "im",
    "with": "mit", "on": "am", "last": "letzte", "this": "diese", "yesterday": "gestern",
    "morning": "morgen", "week": "woche", "june": "juni", "monday": "montag",
    "friday": "freitag",
}  # fmt: skip
_KEPT = frozenset([*world.PEOPLE, *(p for g in world.GENRES for p in g.places), ",", ".", "?"])
VERB_FORMS: dict[str, tuple[str, str, str]] = {
    form: forms
    for verb in [v for g in world.GENRES for v in g.verbs] + [v for _, v in world.OPINION_VERBS]
    for forms in verb.forms
    for form in forms
}
"""Every form of every verb of the world -> its (base, past, participle)."""
_SOUNDS = {"sch": "sch", "sh": "sch", "ch": "ch", "th": "t", "ck": "k", "c": "k", "w": "v",
           "ee": "ie", "oo": "u", "ou": "au", "y": "j"}  # fmt: skip
_SOUND_PATTERN = re.compile("|".join(_SOUNDS))


def _sound_shift(word: str) -> str:
    word = word[:-1] + "ie" if word.endswith("y") else word
    return _SOUND_PATTERN.sub(lambda m: _SOUNDS[m.group()], word)


def german(word: str) -> str:
    """One word of the pseudo-language: function words from a small dictionary, names and
    places kept, other words sound-shifted with a German-like ending. Past forms and
    participles become `ge<base>t`, the base form `<base>en`, so irregular verbs need their
    lemma. The same English word always gives the same word."""
    if word in _FUNCTION_WORDS:
        return _FUNCTION_WORDS[word]
    if word in _KEPT:
        return word
    if word in VERB_FORMS:
        base = VERB_FORMS[word][0]
        stem = _sound_shift(base)
        return f"{stem}en" if word == base else f"ge{stem}t"
    shifted = _sound_shift(word)
    return shifted + ("n" if shifted[-1] in "aeiou" else "e")


def translate(sentence: str) -> str:
    """The sentence in pseudo-German: each word mapped by `german`, the verb moved to the end
    of the clause (before the final punctuation), as German puts a participle."""
    words = sentence.split()
    verb = next(i for i, w in enumerate(words) if w in VERB_FORMS)
    moved = [*words[:verb], *words[verb + 1 : -1], words[verb], words[-1]]
    return " ".join(german(w) for w in moved)


def iwslt(rng: random.Random, genres: tuple[str, ...]) -> Row:
    """Translation of an event or opinion sentence. Copying the input keeps only names,
    places and punctuation (BLEU below 1); the mapping is word by word plus one
    reordering, so a small model can approach 100."""
    sentence = ""
    while not sentence or len(sentence.split()) > 12:  # short outputs: 12 words at most
        if rng.random() < 0.25:
            sentence, _ = world.opinion(rng, genres)
            continue
        fact = replace(world.random_fact(rng, genres), negated=rng.random() < 0.15)
        sentence = world.realise(fact, rng)
        if rng.random() < 0.15:
            sentence = world.elaborate(sentence, fact, rng)
    return {"context": sentence, "question": _question("iwslt"), "answer": translate(sentence)}


# --- CNN/DM: summarisation -------------------------------------------------------------------

def cnn_dm(rng: random.Random, genres: tuple[str, ...]) -> Row:
    """A story of 3-5 sentences: the lead states the main event (sometimes without one
    detail), a later restatement gives that detail, and the rest are fewer-detail
    restatements, opinions and an unrelated event. The summary is the main event with all its
    details in the canonical active wording. Copying the story scores a ROUGE of about 40,
    copying the lead about 75."""
    fact = world.random_fact(rng, genres, p_optional=0.8)
    optional = [s for s in world.OPTIONAL_SLOTS if getattr(fact, s) is not None]
    hidden = rng.choice(optional) if optional and rng.random() < 0.5 else None
    lead = world.realise(world.drop(fact, (hidden,)) if hidden else fact, rng)
    rest = []
    if hidden:
        others = tuple(s for s in optional if s != hidden and rng.random() < 0.5)
        rest.append(world.realise(world.drop(fact, others), rng))
    n_rest = rng.randint(2, 4)
    while len(rest) < n_rest:
        kind = rng.random()
        if kind < 0.4:
            dropped = tuple(rng.sample(optional, rng.randint(1, len(optional)))) if optional else ()
            rest.append(world.realise(world.drop(fact, dropped), rng))
        elif kind < 0.7:
            rest.append(world.opinion(rng, (fact.genre,))[0])
        else:
            rest.append(world.realise(world.random_fact(rng, genres), rng))
    rng.shuffle(rest)
    return {
        "context": " ".join([lead, *rest]),
        "question": _question("cnn_dm"),
        "answer": world.canonical(fact),
    }


# --- WikiSQL: semantic parsing to SQL ---------------------------------------------------------

HEADERS = ("name", "city", "age", "team", "score", "year")
NUMERIC = {"age": range(20, 80, 5), "score": range(0, 100, 5), "year": range(1990, 2025, 5)}
"""Numeric columns and their values (round numbers, each frequent enough in the corpus to be
copied as a word); the others hold words."""
TEAMS = tuple(a[0] for a in world.ADJECTIVES[:6])
AGGREGATIONS = ("count", "max", "min", "sum", "avg")
OPERATORS = ("=", ">", "<")
_SELECT = {"": "what is the {}", "max": "what is the highest {}", "min": "what is the lowest {}",
           "sum": "what is the total {}", "avg": "what is the average {}"}  # fmt: skip
_COUNT = {"name": "people", "city": "cities", "age": "ages", "team": "teams", "score": "scores",
          "year": "years"}  # fmt: skip
_CONDITION = {
    ("name", "="): "for {}", ("city", "="): "in {}", ("team", "="): "in team {}",
    ("age", "="): "aged {}", ("age", ">"): "older than {}", ("age", "<"): "younger than {}",
    ("score", "="): "with score {}", ("score", ">"): "with a score above {}",
    ("score", "<"): "with a score below {}",
    ("year", "="): "in {}", ("year", ">"): "after {}", ("year", "<"): "before {}",
}  # fmt: skip

Condition = tuple[str, str, str]
LogicalForm = tuple[str, str, tuple[Condition, ...]]
"""(selected column, aggregation or "", conditions (column, operator, value))."""


def render_sql(form: LogicalForm) -> str:
    """`select count ( name ) from table where city = paris and age > 30`."""
    column, aggregation, conditions = form
    select = f"{aggregation} ( {column} )" if aggregation else column
    where = " and ".join(" ".join(c) for c in conditions)
    return f"select {select} from table" + (f" where {where}" if where else "")


_SQL = re.compile(
    r"select (?:(?P<agg>count|max|min|sum|avg) \( (?P<col>\S+) \)|(?P<plain>\S+)) from table"
    r"(?: where (?P<where>.+))?"
)


def parse_sql(sql: str, headers: list[str] | tuple[str, ...]) -> LogicalForm | None:
    """The logical form of generated SQL, or None if it does not parse against the headers
    (the inverse of `render_sql`; values are single words in the generated tables)."""
    match = _SQL.fullmatch(sql.strip().lower())
    if not match:
        return None
    column = match["col"] or match["plain"]
    conditions = []
    for part in match["where"].split(" and ") if match["where"] else []:
        condition = part.split()
        if len(condition) != 3 or condition[0] not in headers or condition[1] not in OPERATORS:
            return None
        conditions.append(tuple(condition))
    if column not in headers:
        return None
    return column, match["agg"] or "", tuple(conditions)  # type: ignore[return-value]


def _value(column: str, rng: random.Random, genres: tuple[str, ...]) -> str:
    if column in NUMERIC:
        return str(rng.choice(NUMERIC[column]))
    if column == "name":
        return rng.choice(world.PEOPLE)
    if column == "city":
        return rng.choice([p for g in genres for p in world.GENRE_BY_NAME[g].places])
    return rng.choice(TEAMS)


WIKISQL_CONTEXT = "the table has columns {headers} -- {question}"
"""The generated tables' context: decaNLP's (`registry` wikisql `context_format`) without its
list of SQL key words, which the real data keeps. With it, the demo's 2-layer models parse
about 4% of the questions after 200 steps, without it about 10%: a dozen words repeated in
every input drown the question's few."""


def wikisql(rng: random.Random, genres: tuple[str, ...]) -> Row:
    """SQL for a question with one condition about a table with 2-3 of six columns. Each
    phrase of the question maps to one part of the query ("how many people" -> count ( name ),
    "older than 30" -> age > 30), so the parse is compositional; the header list in the
    context names the columns that may appear. A model that copies the question scores 0."""
    headers = rng.sample(HEADERS, rng.randint(2, 3))
    numeric = [h for h in headers if h in NUMERIC]
    aggregation = rng.choice(["", "", *AGGREGATIONS])
    if aggregation not in ("", "count") and not numeric:
        aggregation = ""
    column = rng.choice(numeric if aggregation not in ("", "count") else headers)
    others = [h for h in headers if h != column]
    where = rng.choice(others)
    operator = rng.choice(OPERATORS) if where in NUMERIC else "="
    conditions = [(where, operator, _value(where, rng, genres))]
    select = (_COUNT[column] if aggregation == "count" else _SELECT[aggregation].format(column))
    question = " ".join(
        [select, " and ".join(_CONDITION[c, op].format(v) for c, op, v in conditions), "?"]
    )
    context = WIKISQL_CONTEXT.format(headers=" , ".join(headers), question=question)
    sql = render_sql((column, aggregation, tuple(conditions)))
    return {"context": context, "question": _question("wikisql"), "answer": sql,
            "headers": headers}  # fmt: skip


# --- span tasks ------------------------------------------------------------------------------

def _stated(fact: world.Fact, slot: str, rng: random.Random) -> world.Fact:
    """The fact with `slot` stated (given a value if it had none)."""
    if slot in world.OPTIONAL_SLOTS and getattr(fact, slot) is None:
        return world.change_slot(fact, slot, rng)
    return fact


def squad(rng: random.Random, genres: tuple[str, ...]) -> Row:
    """Extractive QA over 2-3 event sentences with different people and things: a question
    about one slot (who / what / where / when) of one event, answered by its span (a person,
    "the red car", a place, a time). Answering with the first person of the context is right
    only for some `who` questions (nF1 about 7)."""
    while True:
        people = rng.sample(range(len(world.PEOPLE)), rng.randint(2, 3))
        facts = [replace(world.random_fact(rng, genres), subject=p) for p in people]
        if len({(f.genre, f.thing) for f in facts}) < len(facts):
            continue
        target = rng.randrange(len(facts))
        asked = rng.choice(["subject", "thing", "place", "time"])
        facts[target] = _stated(facts[target], asked, rng)
        sentences = [world.realise(f, rng) for f in facts]
        context = " ".join(sentences)
        answer = world.surface(facts[target], sentences[target], asked)
        if len(_starts(context, answer)) == 1:
            return _span(context, world.question(facts[target], asked, rng), answer)


def srl(rng: random.Random, genres: tuple[str, ...]) -> Row:
    """Role QA in QA-SRL's style ("who bought something ?", "where did someone buy
    something ?") over one sentence, active or passive, sometimes with a companion: the
    answer is the role's span, wherever the voice puts it ("in paris" with its preposition,
    unlike SQuAD's "paris"). Answering the first word scores an nF1 of about 20."""
    fact = world.random_fact(rng, genres)
    sentence = world.realise(fact, rng)
    roles = ["subject", "thing", *(s for s in ("place", "time") if getattr(fact, s) is not None)]
    if rng.random() < 0.25:
        sentence = world.elaborate(sentence, fact, rng)
        roles.append("companion")
    role = rng.choice(roles)
    base, past, _ = world.verb_forms_in(fact, sentence)
    question = {
        "subject": f"who {past} something ?",
        "thing": f"what did someone {base} ?",
        "place": f"where did someone {base} something ?",
        "time": f"when did someone {base} something ?",
        "companion": f"who did someone {base} something with ?",
    }[role]
    if role == "companion":
        answer = sentence.split()[-2]
    elif role == "place":
        answer = "in " + world.surface(fact, sentence, role)
    else:
        answer = world.surface(fact, sentence, role)
    return _span(sentence, question, answer)


ZRE_RELATIONS = ("thing", "place", "time", "companion")
ZRE_UNANSWERABLE = 0.3


def zre(rng: random.Random, genres: tuple[str, ...]) -> Row:
    """Relation QA about a person: what / in which city / when / with whom they did it. About
    30% of the questions ask a relation the sentence does not state (no place, no time, no
    companion, or another person): the answer is `unanswerable`, cued by the absence of a
    city, time word, `with` or the person's name. Always answering `unanswerable` gives a
    corpus F1 of 0, answering the sentence's first word about 1."""
    fact = world.random_fact(rng, genres, p_optional=0.6)
    relation = rng.choice(ZRE_RELATIONS)
    answerable = rng.random() >= ZRE_UNANSWERABLE
    other_person = not answerable and (relation == "thing" or rng.random() < 0.3)
    if relation in ("place", "time") and (answerable or other_person):
        fact = _stated(fact, relation, rng)
    elif relation in ("place", "time"):
        fact = world.drop(fact, (relation,))
    with_companion = relation == "companion" and (answerable or other_person)
    sentence = world.realise(fact, rng)
    if with_companion or (relation != "companion" and rng.random() < 0.3):
        sentence = world.elaborate(sentence, fact, rng)
    person = world.PEOPLE[fact.subject]
    if other_person:
        person = rng.choice([p for p in world.PEOPLE if p not in sentence.split()])
    base = world.verb_forms_in(fact, sentence)[0]
    question = {
        "thing": f"what did {person} {base} ?",
        "place": f"in which city did {person} {base} something ?",
        "time": f"when did {person} {base} something ?",
        "companion": f"with whom did {person} {base} something ?",
    }[relation]
    if not answerable:
        return {"context": sentence, "question": question, "answer": registry.UNANSWERABLE,
                "answer_start": UNANSWERABLE_START}  # fmt: skip
    if relation == "companion":
        return _span(sentence, question, sentence.split()[-2])
    return _span(sentence, question, world.surface(fact, sentence, relation))


DOERS = {
    "buy": "buyer", "sell": "seller", "order": "customer", "carry": "porter",
    "paint": "painter", "repair": "mechanic", "clean": "cleaner", "build": "builder",
    "measure": "surveyor", "test": "tester", "examine": "inspector", "heat": "chemist",
    "kick": "striker", "throw": "pitcher", "catch": "catcher", "win": "champion",
}  # fmt: skip
"""Who typically does each of the world's deeds (keyed by the verb's first base form): the
commonsense knowledge that resolves the generated Winograd schemas."""
WINOGRAD_VERBS = ("thanked", "praised", "called", "visited", "met", "congratulated")
"""Main verbs that say nothing about the referent."""


def doer(verb: world.Verb) -> str:
    return DOERS[verb.forms[0][0]]


def winograd(rng: random.Random, genres: tuple[str, ...]) -> Row:
    """Pronoun resolution by commonsense: "the painter thanked the mechanic because she had
    repaired the fence ." -- who had repaired the fence ? the painter or the mechanic ? The
    candidates are two doers of the same genre; only knowing who repairs things decides (the
    main verb and the order are random), so answering the first candidate, or the first one
    the question names, scores about 50 EM. The answer is the doer's noun (EM drops "the")."""
    fact = world.random_fact(rng, genres, p_optional=0.0)
    verbs = fact.lexicon.verbs
    right = doer(verbs[fact.verb])
    wrong = doer(rng.choice([v for i, v in enumerate(verbs) if i != fact.verb]))
    participle = rng.choice(verbs[fact.verb].forms)[2]
    deed = f"had {participle} the {rng.choice(fact.lexicon.things[fact.thing])}"
    a, b = (right, wrong) if rng.random() < 0.5 else (wrong, right)
    pronoun = rng.choice(("she", "he"))
    context = f"the {a} {rng.choice(WINOGRAD_VERBS)} the {b} because {pronoun} {deed} ."
    named = (a, b) if rng.random() < 0.5 else (b, a)
    question = f"who {deed} ? the {named[0]} or the {named[1]} ?"
    return _span(context, question, right)


def generate_decanlp_task(cfg: TaskDataConfig) -> dict[str, pd.DataFrame]:
    """All splits of one generated DecaNLP task (train, validation, test).

    As for GLUE: train and validation come from one pool of distinct (context, question)
    inputs, validation a held-out fraction of it, and no test input occurs in the pool. Label
    noise applies to the classification tasks' train and validation rows only; test labels and
    the other tasks' answers are always the rule's. The noise stream is drawn only for the pool
    (which is drawn first), so train and validation rows are as they were when test rows drew
    noise too.
    """
    task = registry.get_task(cfg.task)
    generate = registry.resolve(task.generated.draw)
    rng = task_rng(cfg.seed, cfg.task, "examples")
    noise = task_rng(cfg.seed, cfg.task, "noise")
    n_validation = max(1, round(cfg.train_size * cfg.validation_fraction))
    seen: set[tuple[str, str]] = set()

    def draw(n: int, noisy: bool, genres: tuple[str, ...] = world.MATCHED_GENRES) -> list[Row]:
        rows: list[Row] = []
        repeats = 0  # draws in a row that gave an input already seen
        while repeats < 5000:
            row = generate(rng, genres)
            key = (row["context"], row["question"])
            if key in seen:
                repeats += 1
                continue
            repeats = 0
            seen.add(key)
            if task.kind == registry.CLASSIFICATION:
                if noisy:
                    row["label"] = int(_add_noise(task, row["label"], cfg.label_noise, noise))
                row["answer"] = task.label_words[row["label"]]
            rows.append(row)
            if len(rows) == n:
                return rows
        raise RuntimeError(
            f"{cfg.task}: the generator yields fewer than {n} distinct inputs; "
            f"lower train_size / test_size for this task"
        )

    pool = draw(cfg.train_size, noisy=True)
    unseen = round(cfg.test_size * task.generated.unseen_test_share)
    test = draw(cfg.test_size - unseen, noisy=False)
    if unseen:
        test += draw(unseen, noisy=False, genres=world.MISMATCHED_GENRES)
    splits = {"train": pool[n_validation:], "validation": pool[:n_validation], "test": test}
    return {name: rows_to_frame(task, rows) for name, rows in splits.items()}


def columns(task: registry.Task) -> list[str]:
    """The columns of a DecaNLP task's normalised data, in order."""
    extra = {registry.CLASSIFICATION: ["label"], registry.SPAN: ["answer_start"]}
    return ["idx", *task.fields, "answer", "answers", *extra.get(task.kind, []),
            *task.extra_columns]


def gold_answers(row: Row) -> list[str]:
    """Every distinct gold answer of a row, its `answer` first (`[answer]` unless the row
    names more in `answers`)."""
    answers = [row["answer"], *row.get("answers", ())]
    return list(dict.fromkeys(a for a in answers if a))


def rows_to_frame(task: registry.Task, rows: list[Row]) -> pd.DataFrame:
    """The normalised frame of one DecaNLP split (generated or real): `columns(task)`, typed
    (`answers` and `headers` hold lists of strings: parquet list<string>)."""
    frame = pd.DataFrame({"idx": range(len(rows))}, dtype="int64")
    for column in columns(task)[1:]:
        if column == "answers":
            frame[column] = pd.Series([gold_answers(row) for row in rows], dtype="object")
            continue
        values = [row[column] for row in rows]
        if column in ("label", "answer_start"):
            frame[column] = pd.array(values, dtype="int64")
        elif column == "headers":
            frame[column] = pd.Series([list(v) for v in values], dtype="object")
        else:
            frame[column] = pd.array(values, dtype="string")
    return frame


def corpus_document(rng: random.Random, genres: tuple[str, ...]) -> str:
    """Unlabelled text in the forms only the DecaNLP tasks use, for the pre-training corpus:
    a reason sentence followed by who did it (Winograd's frame and the commonsense behind
    it, never its question), a table with a question about it (never its SQL), or a SQL
    query alone, as web text holds prose and code but not these tasks' pairs. Without it the
    tokenizer splits words such as "because" or "select" into letters and the model meets
    them first in fine-tuning."""
    kind = rng.random()
    if kind < 0.5:  # who did it, stated: the commonsense a web corpus holds, never as QA
        row = winograd(rng, genres)
        deed = row["context"].split(" because ")[1].split(" ", 1)[1]
        return f"{row['context']} the {row['answer']} {deed}"
    row = wikisql(rng, genres)
    return row["context"] if kind < 0.75 else row["answer"] + " ;"


def lexicon_lines() -> list[str]:
    """The words the DecaNLP tasks add to the world's (pseudo-German, SQL, table values,
    question templates), for the tokenizer: add these to `world.lexicon_lines()`."""
    words = sorted({german(w) for line in world.lexicon_lines() for w in line.split()})
    lines = [" ".join(words), " ".join([*HEADERS, *TEAMS, *map(str, range(100))])]
    rng = random.Random(0)
    for name in registry.BENCHMARKS["decanlp"]:
        generate = registry.resolve(registry.get_task(name).generated.draw)
        for _ in range(20):
            row = generate(rng, world.MATCHED_GENRES)
            lines.append(" ".join([row["question"], row["context"], row.get("answer", "")]))
    return lines
