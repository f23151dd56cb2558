"""The real DecaNLP loaders on tiny data sets written in the exact on-disk formats: decaNLP's
`.data` directory for all nine tasks, hub snapshots for the five hub tasks (same examples, so
both layouts must give equal frames), and the failures that name the task, file and remedy."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hub_helpers import cache_copy, write_card, write_parquet

from taskconflict import registry
from taskconflict.data import decanlp_real as dr
from taskconflict.data.decanlp_generated import columns
from taskconflict.data.prepare import check_splits
from taskconflict.text_metrics import lfem, parse_sql

SEED = 3
FRACTION = 0.25
HUB_TASKS = tuple(t for t in registry.BENCHMARKS["decanlp"] if registry.get_task(t).from_hub)
"""The five tasks with a hub copy (the others have only a loading script there)."""

# --- the examples, shared by both layouts -------------------------------------------------------

SST_TRAIN = [
    ("A gorgeous, witty film.", 1), ("Dull and lifeless.", 0), ("I LOVED every minute.", 1),
    ("A mess from start to finish.", 0), ("Smart, funny and warm.", 1), ("Painfully slow.", 0),
    ('It is "great", really.', 1), ("Not worth the ticket.", 0), ("A small delight.", 1),
    ("Forgettable.", 0),
]  # fmt: skip
SST_DEV = [("Brilliant acting.", 1), ("Boring plot, bad jokes.", 0), ("Moving.", 1)]

MNLI_TRAIN = [
    ("The cat sat on the mat.", "A cat is sitting.", "entailment"),
    ("The cat sat on the mat.", "The mat is red.", "neutral"),
    ("The cat sat on the mat.", "No cat is there.", "contradiction"),
    ("He left early.", "He stayed late.", "contradiction"),
    ("He left early.", "He left.", "entailment"),
    ("Prices rose in May.", "Prices changed.", "-"),
    ("Prices rose in May.", "Prices rose sharply.", "neutral"),
    ("She sings well.", "She can sing.", "entailment"),
    ("She sings well.", "She is a professional.", "neutral"),
]
MNLI_DEV = [("Dogs bark.", "Dogs make noise.", "entailment"),
            ("Dogs bark.", "Dogs are silent.", "contradiction")]  # fmt: skip

CNN_TRAIN = [(f"CNN story {i} about the Economy.", f"Highlight {i}. Second point {i}.")
             for i in range(5)]  # fmt: skip
DM_TRAIN = [(f"Daily Mail story {i}, with a \ufb01ne detail.", f"DM point {i}. More {i}.")
            for i in range(4)]  # fmt: skip
CNN_DEV = [("CNN dev story.", "CNN dev summary. Second.")]
DM_DEV = [("DM dev story.", "DM dev summary. Second.")]

# (context, question, answer, answer_start in the raw context or None)
SQUAD_TRAIN = [
    ("Paris is big. I love Paris.", "What do I love?", "Paris", 21),
    ("\u0130stanbul has a port. The port is old.", "What is old?", "port", 25),
    ("The Nile is long.", "Which  river is long?", "Nile", 4),
    ("Water boils at 100 degrees.", "At what temperature?", "100 degrees", 15),
    ("Einstein was born in Ulm.", "Where was Einstein born?", "Ulm", 21),
    ("The sky is blue.", "What colour is the sky?", "green", 0),  # found nowhere: dropped
    ("Mozart wrote operas.", "Who wrote operas?", "Mozart", 0),
    ("Rome has seven hills.", "How many hills?", "seven", 9),
    ("Gold is heavy.", "What is heavy?", "Gold", 0),
]
SQUAD_DEV = [
    ("Berlin is the capital.", "What is the capital?", "Berlin", 0),
    ("Cats purr.", "What do dogs do?", "bark", 0),  # found nowhere: kept, not a span
    ("The game was at Levi's Stadium in Santa Clara.", "Where was the game?", "Santa Clara", 34),
]
SQUAD_MORE_ANSWERS = {  # question -> the other (text, answer_start) of its `answers`
    "Where was the game?": [("Levi's Stadium", 16), ("Santa Clara", 34),
                            ("Levi's Stadium in Santa Clara", 16)],
    "What do I love?": [("paris", 21)],  # the same text but for case: not another answer
}
SQUAD_GOLD = ["santa clara", "levi's stadium", "levi's stadium in santa clara"]
"""The distinct gold answers of "Where was the game?", in file order."""

SRL_TRAIN = [
    (f"Anna bought {n} apples in Rome.", "Who bought something?", "Anna") for n in range(3)
] + [
    (f"The car was sold by Ben on day {n}.", "What was sold?", "The car") for n in range(5)
]  # fmt: skip
SRL_DEV = [("Carla painted the fence.", "What did someone paint?", "the fence")]
SRL_ALL_ANSWERS = {"Carla painted the fence.": ["the fence", "fence", "the fence"]}
"""decaNLP's `all_answers` where it has more than the answer (the answer first, as decaNLP
writes it)."""

# (context, question with XXX, subject, answers)
ZRE_TRAIN = [
    ("Anna Smith was born in Vienna.", "Where was XXX born?", "Anna Smith", ["Vienna"]),
    ("Ben Li plays for Ajax.", "Which team does XXX play for?", "Ben Li", ["Ajax"]),
    ("Carla Diaz wrote two novels.", "Where was XXX born?", "Carla Diaz", []),
    ("Dan Roe married Eve Roe and Fay Roe.", "Who is XXX's spouse?", "Dan Roe",
     ["Eve Roe", "Fay Roe"]),
    ("Gus Hall died in 1990.", "When did XXX die?", "Gus Hall", ["1990"]),
    ("Hana Oda is a painter.", "What is XXX's occupation?", "Hana Oda", ["painter"]),
    ("Ivo Mar lives in Split.", "Which team does XXX play for?", "Ivo Mar", []),
    ("Jon Ek studied in Oslo.", "Where did XXX study?", "Jon Ek", ["Oslo"]),
]  # fmt: skip
ZRE_DEV = [
    ("Kim Bo was born in Busan.", "Where was XXX born?", "Kim Bo", ["Busan"]),
    ("Lea Fox sings.", "When did XXX die?", "Lea Fox", []),
]

# (question, table id, headers, sql); the expected answers are below
WIKISQL_TRAIN = [
    ("How many teams are in Paris?", "t1", ["Team", "City", "Founded"],
     {"sel": 0, "agg": 3, "conds": [[1, 0, "Paris"]]}),
    ("What is the tallest height (m) after 1990?", "t2", ["Name", "Height (m)", "Year"],
     {"sel": 1, "agg": 1, "conds": [[2, 1, 1990]]}),
    ("Which name has height below 2.5 and year 2001?", "t2", ["Name", "Height (m)", "Year"],
     {"sel": 0, "agg": 0, "conds": [[1, 2, 2.5], [2, 0, 2001]]}),
    ("Total goals of New  York City FC?", "t3", ["Club", "Goals"],
     {"sel": 1, "agg": 4, "conds": [[0, 0, "New  York City FC"]]}),
    ("Average goals?", "t3", ["Club", "Goals"], {"sel": 1, "agg": 5, "conds": []}),
    ("Lowest year?", "t2", ["Name", "Height (m)", "Year"], {"sel": 2, "agg": 2, "conds": []}),
]  # fmt: skip
WIKISQL_TRAIN_ANSWERS = [
    "select count ( team ) from table where city = paris",
    "select max ( height (m) ) from table where year > 1990",
    "select name from table where height (m) < 2.5 and year = 2001",
    "select sum ( goals ) from table where club = new york city fc",
    "select avg ( goals ) from table",
    "select min ( year ) from table",
]
WIKISQL_DEV = [("Which club scored 7 goals?", "d1", ["Club", "Goals"],
                {"sel": 0, "agg": 0, "conds": [[1, 0, "7"]]})]  # fmt: skip
WIKISQL_DEV_ANSWERS = ["select club from table where goals = 7"]

IWSLT_TRAIN = [("Thank you so much.", "Vielen Dank."), ("I am here.", "Ich bin hier."),
               ("", "Leer."), ("We learn.", "Wir lernen."), ("It works.", "Es klappt."),
               ("Look at this.", "Schau dir das an.")]  # fmt: skip
IWSLT_DEV = [("Rock & roll.", "Rock & Roll."), ("Good morning.", "Guten Morgen."),
             ("See you.", "Bis bald.")]  # fmt: skip

WINOGRAD_EMMA = (
    "Emma's mother had died long ago, and her [place/education] had been [taken/managed] "
    "by an excellent woman as governess. ",
    "Whose [place/education] had been [taken/managed]? ",
    "mother's/Emma's",
)
WINOGRAD_KAMCHATKA = (
    "In July, Kamtchatka declared war on Yakutsk. Since Yakutsk's army was much better "
    "equipped and ten times larger, they were [victorious/defeated] within weeks. ",
    "Who was [victorious/defeated] ",
    "Yakutsk/Kamchatka",
)
WINOGRAD_TV = (
    "Fred was supposed to run the dishwasher, but he put it off. The show was boring, so he "
    "turned it [on/off].",
    "What did Fred turn [on/off]? ",
    "dishwasher/television",
)


def winograd_schemas() -> list[tuple[str, str, str]]:
    """92 schemas (184 examples: decaNLP's train 80, validation 4, test 100), the first one with
    an answer not in its context, the 41st and 42nd (decaNLP validation) of the real file."""
    schemas = [WINOGRAD_TV]
    for i in range(1, 92):
        schemas.append((f"Al{i} thanked Bo{i} because he was so [helpful/grateful].",
                        "Who was [helpful/grateful]?", f"Bo{i}/ Al{i}"))  # fmt: skip
    schemas[40], schemas[41] = WINOGRAD_EMMA, WINOGRAD_KAMCHATKA
    return schemas


# --- writing the layouts ------------------------------------------------------------------------

def write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def squad_json(examples: list[tuple]) -> dict:
    paragraphs: dict[str, list] = {}
    for context, question, answer, start in examples:
        more = SQUAD_MORE_ANSWERS.get(question, [])
        paragraphs.setdefault(context, []).append(
            {"id": str(len(paragraphs)), "question": question,
             "answers": [{"text": t, "answer_start": a}
                         for t, a in [(answer, start), *more]]})  # fmt: skip
    return {"version": "1.1", "data": [{"title": "t", "paragraphs": [
        {"context": c, "qas": qas} for c, qas in paragraphs.items()]}]}  # fmt: skip


def zre_decanlp(examples: list[tuple]) -> list[dict]:
    return [{"context": c, "question": q.replace("XXX", s),
             "answer": ", ".join(a) if a else "Unanswerable"} for c, q, s, a in examples]


def iwslt_xml(segments: list[str], lang: str) -> str:
    docs = [segments[:2], segments[2:]]
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<mteval>",
             f'<refset setid="iwslt2016-tst2013" srclang="english" trglang="{lang}">']
    for d, doc in enumerate(docs):
        lines += [f'<doc docid="{d}" genre="lectures">', f"<url>http://ted.com/{d}</url>",
                  "<description>TED Talk</description>", f"<talkid>{d}</talkid>"]
        lines += [f'<seg id="{i}"> {s.replace("&", "&amp;")} </seg>'
                  for i, s in enumerate(doc, start=1)]  # fmt: skip
        lines.append("</doc>")
    return "\n".join([*lines, "</refset>", "</mteval>", ""])


def write_decanlp(root: Path) -> Path:
    sst = root / "sst"
    sst.mkdir(parents=True)
    for name, rows in (("train", SST_TRAIN), ("dev", SST_DEV), ("test", SST_DEV[:1])):
        text = "label,sentence\n" + "".join(
            f'{label},"{s.replace(chr(34), chr(34) * 2)}"\n' for s, label in rows)
        (sst / f"{name}_binary_sent.csv").write_text(text, encoding="utf-8")

    mnli = root / "multinli" / "multinli_1.0"
    for name, rows in (("train", MNLI_TRAIN), ("dev_matched", MNLI_DEV),
                       ("dev_mismatched", MNLI_DEV[:1])):  # fmt: skip
        write_jsonl(mnli / f"multinli_1.0_{name}.jsonl",
                    [{"sentence1": p, "sentence2": h, "gold_label": g, "genre": "x"}
                     for p, h, g in rows])  # fmt: skip

    iwslt = root / "iwslt" / "en-de"
    iwslt.mkdir(parents=True)
    for i, lang in enumerate(("en", "de")):
        tags = [f"<url>http://www.ted.com/talks/{lang}</url>", "<keywords>talks</keywords>",
                "<speaker>Someone</speaker>", "<talkid>1</talkid>", "<title>A talk</title>",
                "<description>TED Talk Subtitles</description>"]  # fmt: skip
        lines = [*tags[:3], *(pair[i] for pair in IWSLT_TRAIN[:3]), *tags[3:],
                 *(pair[i] for pair in IWSLT_TRAIN[3:])]  # fmt: skip
        (iwslt / f"train.tags.en-de.{lang}").write_text("\n".join(lines) + "\n", encoding="utf-8")
        language = ("english", "german")[i]
        for tst in ("tst2013", "tst2014"):
            (iwslt / f"IWSLT16.TED.{tst}.en-de.{lang}.xml").write_text(
                iwslt_xml([pair[i] for pair in IWSLT_DEV], language), encoding="utf-8")

    for folder, train, dev in ((root / "cnn" / "cnn", CNN_TRAIN, CNN_DEV),
                               (root / "dailymail", DM_TRAIN, DM_DEV)):  # fmt: skip
        for name, rows in (("training", train), ("validation", dev), ("test", dev)):
            write_jsonl(folder / f"{name}.jsonl",
                        [{"context": c.replace("\ufb01", "fi"), "answer": a,
                          "question": "What is the summary?"} for c, a in rows])  # fmt: skip

    wikisql = root / "wikisql" / "data"
    for name, rows in (("train", WIKISQL_TRAIN), ("dev", WIKISQL_DEV), ("test", WIKISQL_DEV)):
        write_jsonl(wikisql / f"{name}.jsonl",
                    [{"phase": 1, "table_id": t, "question": q, "sql": sql}
                     for q, t, _, sql in rows])  # fmt: skip
        tables = {t: headers for _, t, headers, _ in rows}
        write_jsonl(wikisql / f"{name}.tables.jsonl",
                    [{"id": t, "header": h, "types": ["text"] * len(h), "rows": []}
                     for t, h in tables.items()])  # fmt: skip

    squad = root / "squad"
    squad.mkdir()
    for name, rows in (("train", SQUAD_TRAIN), ("dev", SQUAD_DEV)):
        (squad / f"{name}-v1.1.json").write_text(json.dumps(squad_json(rows)), encoding="utf-8")

    for name, rows in (("train", SRL_TRAIN), ("dev", SRL_DEV), ("test", SRL_DEV)):
        write_jsonl(root / "srl" / f"{name}.jsonl",
                    [{"context": c, "question": q, "answer": a, "type": "wiki",
                      "all_answers": SRL_ALL_ANSWERS.get(c, [a])}
                     for c, q, a in rows])  # fmt: skip

    zre = root / "zre" / "relation_splits"
    for name, rows in (("train", ZRE_TRAIN), ("dev", ZRE_DEV), ("test", ZRE_DEV)):
        write_jsonl(zre / f"{name}.jsonl", zre_decanlp(rows))

    schema = root / "schema"
    schema.mkdir()
    blocks = ["\n".join(s) + "\n" for s in winograd_schemas()]
    last = "The man couldn't lift his son because he was so [weak/heavy].\nWho was [weak/heavy]?\n"
    (schema / "schema.txt").write_text("\n".join(blocks) + "\n" + last + "man/son\n",
                                       encoding="utf-8")
    return root


def hub_answers(answers: list[tuple[str, int]]) -> dict[str, list]:
    """rajpurkar/squad's `answers`: a struct of two lists."""
    return {"text": [t for t, _ in answers], "answer_start": [s for _, s in answers]}


def write_hub(root: Path) -> dict[str, Path]:
    """One folder per hub task, laid out as the hub stores its dataset (SetFit/sst2: jsonl files
    whose names are the splits; the others: parquet shards and the card's configs), with the
    decaNLP fixture's examples."""
    dirs = {task: root / task for task in HUB_TASKS}

    for name, rows in (("train", SST_TRAIN), ("validation", SST_DEV), ("test", SST_DEV[:1])):
        write_jsonl(dirs["sst"] / f"{name}.jsonl",
                    [{"text": s, "label": label, "label_text": ["negative", "positive"][label]}
                     for s, label in rows])  # fmt: skip

    labels = {"entailment": 0, "neutral": 1, "contradiction": 2, "-": -1}
    mnli = {"train": MNLI_TRAIN, "validation_matched": MNLI_DEV,
            "validation_mismatched": MNLI_DEV[:1]}  # fmt: skip
    for name, rows in mnli.items():
        write_parquet(dirs["mnli_deca"] / "data" / f"{name}-00000-of-00001.parquet",
                      [{"promptID": 1, "premise": p, "hypothesis": h, "label": labels[g]}
                       for p, h, g in rows])  # fmt: skip
    write_card(dirs["mnli_deca"], {"default": {s: f"data/{s}-*" for s in mnli}})

    for config in ("1.0.0", "3.0.0"):
        for name, rows in (("train", CNN_TRAIN + DM_TRAIN), ("validation", CNN_DEV + DM_DEV),
                           ("test", CNN_DEV)):  # fmt: skip
            write_parquet(dirs["cnn_dm"] / config / f"{name}-00000-of-00001.parquet",
                          [{"article": c if config == "3.0.0" else "old " + c,
                            "highlights": a.replace(". ", ".\n"), "id": "x"}
                           for c, a in rows])  # fmt: skip
    write_card(dirs["cnn_dm"], {c: {s: f"{c}/{s}-*" for s in ("train", "validation", "test")}
                                for c in ("1.0.0", "3.0.0")})

    for name, rows in (("train", SQUAD_TRAIN), ("validation", SQUAD_DEV)):
        write_parquet(dirs["squad"] / "plain_text" / f"{name}-00000-of-00001.parquet",
                      [{"id": "i", "title": "t", "context": c, "question": q,
                        "answers": hub_answers([(a, s), *SQUAD_MORE_ANSWERS.get(q, [])])}
                       for c, q, a, s in rows])  # fmt: skip
    write_card(dirs["squad"], {"plain_text": {s: f"plain_text/{s}-*"
                                              for s in ("train", "validation")}})

    filler = ("Zed Zo was born in Lyon.", "Where was XXX born?", "Zed Zo", ["Lyon"])
    for name, rows in (("train", ZRE_TRAIN), ("validation", ZRE_DEV), ("test", ZRE_DEV)):
        folds = [{"relation": "r", "question": q, "subject": s, "context": c, "answers": a}
                 for c, q, s, a in [*rows, *[filler] * (9 * len(rows))]]  # fmt: skip
        half = len(folds) // 2 + 1  # two shards, fold 0 ends in the first
        write_parquet(dirs["zre"] / "data" / f"{name}-00000-of-00002.parquet", folds[:half])
        write_parquet(dirs["zre"] / "data" / f"{name}-00001-of-00002.parquet", folds[half:])
    write_card(dirs["zre"], {"default": {s: f"data/{s}-*"
                                         for s in ("train", "validation", "test")}})
    return dirs


def cache_hub(snapshots: dict[str, Path], out: Path) -> dict[str, Path]:
    """The cache stage's folder of each hub task, holding its copy of the hub dataset."""
    return {task: cache_copy(folder, registry.get_task(task).hub_config, out / task)
            for task, folder in snapshots.items()}


@pytest.fixture(scope="module")
def deca_root(tmp_path_factory) -> Path:
    return write_decanlp(tmp_path_factory.mktemp("decanlp") / ".data")


@pytest.fixture(scope="module")
def hub_dirs(tmp_path_factory) -> dict[str, Path]:
    snapshots = write_hub(tmp_path_factory.mktemp("hub"))
    return cache_hub(snapshots, tmp_path_factory.mktemp("hub_cache"))


@pytest.fixture(scope="module")
def deca(deca_root) -> dict[str, dict[str, pd.DataFrame]]:
    with contextlib.redirect_stderr(io.StringIO()) as err:
        loaded = {t: dr.load_decanlp_task(t, "decanlp", deca_root, SEED, FRACTION)
                  for t in registry.BENCHMARKS["decanlp"]}  # fmt: skip
    loaded["_warnings"] = err.getvalue().splitlines()  # type: ignore[assignment]
    return loaded


def records(frame: pd.DataFrame) -> list[dict]:
    """The rows without idx and answers (`gold` has those)."""
    return [{k: v for k, v in row.items() if k not in ("idx", "answers")}
            for row in frame.to_dict("records")]


def gold(frame: pd.DataFrame) -> list[list[str]]:
    return [list(answers) for answers in frame["answers"]]


def held_out(n: int) -> set[int]:
    """Positions in the official train pool that the seeded permutation holds out."""
    n_validation = max(1, round(n * FRACTION))
    return set(np.random.default_rng(SEED).permutation(n)[:n_validation].tolist())


def train_pool(splits: dict[str, pd.DataFrame]) -> list[dict]:
    """The usable official train rows in file order, put back together from train and
    validation."""
    train, validation = records(splits["train"]), records(splits["validation"])
    held = held_out(len(train) + len(validation))
    return [validation.pop(0) if i in held else train.pop(0)
            for i in range(len(held) + len(train))]


def assert_held_out(splits: dict[str, pd.DataFrame], pool: list[dict]) -> None:
    """Validation is the seeded permutation's first rows of the official train pool."""
    held = held_out(len(pool))
    assert records(splits["validation"]) == [r for i, r in enumerate(pool) if i in held]
    assert records(splits["train"]) == [r for i, r in enumerate(pool) if i not in held]


# --- every task ---------------------------------------------------------------------------------

@pytest.mark.parametrize("task", registry.BENCHMARKS["decanlp"])
def test_every_task_has_the_contract_schema(deca, task):
    splits = deca[task]
    spec = registry.get_task(task)
    check_splits(spec, splits)
    assert list(splits) == ["train", "validation", "test"]
    for frame in splits.values():
        assert list(frame.columns) == columns(spec)
        assert frame["idx"].tolist() == list(range(len(frame)))
        assert frame["idx"].dtype == "int64"
        for column in ("context", "question", "answer"):
            assert isinstance(frame[column].dtype, pd.StringDtype)
            assert (frame[column] == frame[column].str.lower()).all()
        for column in ("label", "answer_start"):
            if column in frame:
                assert frame[column].dtype == "int64"
        answers = gold(frame)
        assert all(a[0] == row and len(set(a)) == len(a) for a, row in
                   zip(answers, frame["answer"], strict=True))  # fmt: skip
        if spec.kind == registry.SPAN:
            for row in frame.itertuples():
                if row.answer_start >= 0:
                    start = row.answer_start
                    assert row.context[start:start + len(row.answer)] == row.answer
                elif row.answer_start == dr.UNANSWERABLE_START:
                    assert row.answer == registry.UNANSWERABLE
                else:
                    assert row.answer_start == dr.NOT_A_SPAN and row.answer not in row.context
            assert frame.attrs["not_spans"] == (frame["answer_start"] == dr.NOT_A_SPAN).sum()
    assert len(splits["validation"]) == max(
        1, round((len(splits["train"]) + len(splits["validation"])) * FRACTION))


@pytest.mark.parametrize("task", registry.BENCHMARKS["decanlp"])
def test_frames_round_trip_through_parquet(deca, task, tmp_path):
    from taskconflict.io import write_parquet

    for split, frame in deca[task].items():
        write_parquet(frame, tmp_path / f"{split}.parquet")
        back = pd.read_parquet(tmp_path / f"{split}.parquet")
        assert list(back.columns) == list(frame.columns)
        assert gold(back) == gold(frame)
        assert str(pq.read_schema(tmp_path / f"{split}.parquet").field("answers").type) in (
            "list<item: string>", "list<element: string>")
        others = [c for c in frame.columns if c not in ("answers", "headers")]
        pd.testing.assert_frame_equal(back[others], frame[others])


def test_generated_and_real_frames_share_columns_and_dtypes(deca):
    from taskconflict.config import TaskDataConfig
    from taskconflict.data.decanlp_generated import generate_decanlp_task

    for task in ("sst", "wikisql", "zre"):
        generated = generate_decanlp_task(TaskDataConfig(task, "generated", 1, 20, 5, 0.1, 0.0))
        for split, frame in deca[task].items():
            assert dict(frame.dtypes) == dict(generated[split].dtypes)


def test_sst(deca):
    splits = deca["sst"]
    question = "is this review negative or positive ?"
    expected = [{"context": s.lower(), "question": question,
                 "answer": ["negative", "positive"][y], "label": y} for s, y in SST_TRAIN]
    assert_held_out(splits, expected)
    assert records(splits["test"])[1] == {"context": "boring plot, bad jokes.",
                                          "question": question, "answer": "negative", "label": 0}
    assert len(splits["test"]) == len(SST_DEV)  # dev is the test split, test.csv is not read
    assert train_pool(splits) == expected
    assert train_pool(splits)[6]["context"] == 'it is "great", really.'


def test_mnli(deca):
    splits = deca["mnli_deca"]
    kept = [row for row in MNLI_TRAIN if row[2] != "-"]
    assert_held_out(splits, [
        {"context": f'premise: " {p.lower()} "',
         "question": f'hypothesis: " {h.lower()} " -- entailment , neutral , or contradiction ?',
         "answer": g, "label": ["entailment", "neutral", "contradiction"].index(g)}
        for p, h, g in kept
    ])
    assert splits["test"]["label"].tolist() == [0, 2]  # dev matched only


def test_iwslt(deca):
    splits = deca["iwslt"]
    pairs = [(en.lower(), de.lower()) for en, de in IWSLT_TRAIN if en and de]
    assert [(r["context"], r["answer"]) for r in train_pool(splits)] == pairs
    assert set(splits["train"]["question"]) == {"translate from english to german"}
    assert [(r["context"], r["answer"]) for r in records(splits["test"])] == [
        (en.lower(), de.lower()) for en, de in IWSLT_DEV]  # tst2013, entities unescaped


def test_cnn_dm_concatenates_cnn_and_dailymail(deca):
    splits = deca["cnn_dm"]
    pool = train_pool(splits)
    assert len(pool) == len(CNN_TRAIN) + len(DM_TRAIN)
    assert pool[0] == {"context": "cnn story 0 about the economy.",
                       "question": "what is the summary ?",
                       "answer": "highlight 0. second point 0."}
    assert pool[-1]["context"] == "daily mail story 3, with a fine detail."
    assert splits["test"]["answer"].tolist() == ["cnn dev summary. second.",
                                                 "dm dev summary. second."]


def test_wikisql_answers_parse_back_and_headers(deca):
    splits = deca["wikisql"]
    pool = train_pool(splits)
    assert [r["answer"] for r in pool] == WIKISQL_TRAIN_ANSWERS
    assert splits["test"]["answer"].tolist() == WIKISQL_DEV_ANSWERS
    assert pool[1]["headers"] == ["name", "height (m)", "year"]
    assert pool[1]["context"] == (
        "the table has columns name , height (m) , year and key words select , from , where , "
        "count , max , min , sum , avg , and , = , > , < -- what is the tallest height (m) "
        "after 1990?"
    )
    assert {r["question"] for r in pool} == {"what is the translation from english to sql ?"}
    for frame in splits.values():
        answers, headers = frame["answer"].tolist(), frame["headers"].tolist()
        assert lfem(answers, [[a] for a in answers], headers=headers) == 100
        for answer, table in zip(answers, headers, strict=True):
            assert parse_sql(answer, table) is not None
    form = parse_sql(pool[2]["answer"], pool[2]["headers"])
    assert form.select == 0 and form.aggregation == "none"
    assert form.conditions == ((1, "<", "2.5"), (2, "=", "2001"))  # in the query's order


def test_squad_offsets_hints_and_unlocated_answers(deca):
    splits = deca["squad"]
    pool = train_pool(splits)
    assert len(pool) == len(SQUAD_TRAIN)  # "green" is not in its context: kept, not a span
    assert [r["answer_start"] for r in pool if r["answer"] == "green"] == [dr.NOT_A_SPAN]
    assert pool[0]["answer_start"] == 21  # the given offset, not the first "paris"
    lowered = "\u0130stanbul has a port. The port is old.".lower()
    assert pool[1]["context"] == lowered
    assert pool[1]["answer_start"] == lowered.rindex("port")  # mapped through lowercasing
    assert pool[2]["question"] == "which river is long?"
    test = records(splits["test"])
    assert [(r["answer"], r["answer_start"]) for r in test] == [
        ("berlin", 0), ("bark", dr.NOT_A_SPAN), ("santa clara", 34)]
    assert sum(f.attrs["not_spans"] for f in (splits["train"], splits["validation"])) == 1
    assert splits["test"].attrs["not_spans"] == 1
    assert any("squad: 1 of 9 official train rows have an answer that is not a span" in w
               for w in deca["_warnings"])


def test_squad_keeps_every_distinct_gold_answer(deca, hub_dirs):
    """v1.1's `answers` list: the first is the target and the span, the others are kept (once
    each, after lowercasing) for scoring; the hub's `answers.text` gives the same."""
    hub = dr.load_decanlp_task("squad", "hub", hub_dirs["squad"], SEED, FRACTION)
    for splits in (deca["squad"], hub):
        test = splits["test"]
        assert gold(test) == [["berlin"], ["bark"], SQUAD_GOLD]
        assert (test["answer"][2], test["answer_start"][2]) == ("santa clara", 34)
        pool = pd.concat([splits["train"], splits["validation"]])
        assert gold(pool[pool["question"] == "what do i love?"]) == [["paris"]]  # Paris, paris


def test_srl(deca):
    splits = deca["srl"]
    assert [(r["context"], r["question"], r["answer"]) for r in train_pool(splits)] == [
        (c.lower(), q.lower(), a.lower()) for c, q, a in SRL_TRAIN]
    assert records(splits["test"]) == [{"context": "carla painted the fence.",
                                        "question": "what did someone paint?",
                                        "answer": "the fence", "answer_start": 14}]
    assert gold(splits["test"]) == [["the fence", "fence"]]  # decaNLP's all_answers, once each
    assert all(a == [r] for a, r in zip(gold(splits["train"]), splits["train"]["answer"],
                                        strict=True))


def test_zre_unanswerable_is_minus_one_and_several_answers_are_not_a_span(deca):
    splits = deca["zre"]
    pool = train_pool(splits)
    # decaNLP joins several answers with ", ": "eve roe, fay roe" is no span, but a text target
    assert [r["answer"] for r in pool] == ["vienna", "ajax", "unanswerable", "eve roe, fay roe",
                                           "1990", "painter", "unanswerable", "oslo"]
    assert [r["answer_start"] for r in pool if r["answer"] == "unanswerable"] == [
        dr.UNANSWERABLE_START] * 2
    assert [r["answer_start"] for r in pool if "," in r["answer"]] == [dr.NOT_A_SPAN]
    assert sum(f.attrs["not_spans"] for f in (splits["train"], splits["validation"])) == 1
    assert all(a == [r] for a, r in zip(gold(splits["train"]), splits["train"]["answer"],
                                        strict=True))  # one (joined) answer, as decaNLP scores
    assert any("zre: 1 of 8 official train rows have an answer that is not a span of their "
               'context (decaNLP joins several answers with ", ")' in w and "-2" in w
               for w in deca["_warnings"])
    assert pool[0] == {"context": "anna smith was born in vienna.",
                       "question": "where was anna smith born?", "answer": "vienna",
                       "answer_start": 23}
    test = records(splits["test"])
    assert [(r["answer"], r["answer_start"]) for r in test] == [("busan", 19),
                                                               ("unanswerable", -1)]


def test_winograd_schema_txt(deca):
    splits = deca["winograd"]
    pool = train_pool(splits)
    assert len(pool) == dr.WINOGRAD_TRAIN  # "television" is in the question only: kept
    assert [r["answer_start"] for r in pool if r["answer"] == "television"] == [dr.NOT_A_SPAN]
    assert pool[0]["context"].endswith("turned it on.")
    assert pool[0]["question"] == "what did fred turn on? dishwasher or television?"
    assert pool[1]["context"].endswith("turned it off.") and pool[1]["answer"] == "television"
    assert pool[2] == {"context": "al1 thanked bo1 because he was so helpful.",
                       "question": "who was helpful? bo1 or al1?", "answer": "bo1",
                       "answer_start": 12}
    assert pool[3]["answer"] == "al1" and pool[3]["answer_start"] == 0
    test = records(splits["test"])  # decaNLP's validation: examples 80..83
    assert len(test) == 4
    assert test[0] == {
        "context": "emma's mother had died long ago, and her place had been taken by an "
                   "excellent woman as governess.",
        "question": "whose place had been taken? mother's or emma's?",
        "answer": "mother's", "answer_start": dr.NOT_A_SPAN}  # fmt: skip  (not in the sentence)
    assert test[1]["context"].startswith("emma's mother") and "education had been managed" in (
        test[1]["context"])
    assert (test[1]["answer"], test[1]["answer_start"]) == ("emma's", 0)
    assert test[2]["question"] == "who was victorious yakutsk or kamchatka?"
    assert (test[3]["answer"], test[3]["answer_start"]) == ("kamchatka", dr.NOT_A_SPAN)
    assert splits["test"].attrs["not_spans"] == 2
    assert any("no blank line after it" in w for w in deca["_warnings"])


def test_validation_is_seeded(deca_root):
    one = dr.load_decanlp_task("sst", "decanlp", deca_root, 1, 0.3)
    again = dr.load_decanlp_task("sst", "decanlp", deca_root, 1, 0.3)
    other = dr.load_decanlp_task("sst", "decanlp", deca_root, 2, 0.3)
    pd.testing.assert_frame_equal(one["validation"], again["validation"])
    assert len(one["validation"]) == 3 and len(one["train"]) == 7
    assert set(one["validation"]["context"]) != set(other["validation"]["context"])
    tiny = dr.load_decanlp_task("sst", "decanlp", deca_root, 1, 0.01)
    assert len(tiny["validation"]) == 1  # at least one row


# --- the hub layout -----------------------------------------------------------------------------

@pytest.mark.parametrize("task", HUB_TASKS)
def test_hub_layout_gives_the_decanlp_frames(deca, hub_dirs, task):
    hub = dr.load_decanlp_task(task, "hub", hub_dirs[task], SEED, FRACTION)
    check_splits(registry.get_task(task), hub)
    assert list(hub) == list(deca[task])
    for split, frame in hub.items():
        assert dict(frame.dtypes) == dict(deca[task][split].dtypes)
        pd.testing.assert_frame_equal(frame, deca[task][split])


def test_hub_reads_only_zre_fold_zero_and_the_cnn_config(deca, hub_dirs, capsys):
    capsys.readouterr()
    zre = dr.load_decanlp_task("zre", "hub", hub_dirs["zre"], SEED, FRACTION)
    assert sum(len(f) for f in zre.values()) == len(ZRE_TRAIN) + len(ZRE_DEV)
    assert capsys.readouterr().err.splitlines() == [  # the hub split and its row, on one line
        "warning: decanlp zre: 1 of 8 official train rows have an answer that is not a span of "
        'their context (decaNLP joins several answers with ", "); kept with answer_start -2 (not '
        "a span) as text targets, span heads do not train on them: community-datasets/qa_zre "
        "train split row 3"]
    assert not any("zed zo" in c for f in zre.values() for c in f["context"])
    cnn = dr.load_decanlp_task("cnn_dm", "hub", hub_dirs["cnn_dm"], SEED, FRACTION)
    assert not any(c.startswith("old ") for f in cnn.values() for c in f["context"])


# --- failures -----------------------------------------------------------------------------------

def test_dropped_rows_are_named_by_file_and_line_on_one_line(tmp_path, capsys):
    import warnings

    root = write_decanlp(tmp_path / ".data")
    cnn, dm = root / "cnn" / "cnn" / "training.jsonl", root / "dailymail" / "training.jsonl"
    with cnn.open("a", encoding="utf-8") as file:  # line 6
        file.write(json.dumps({"context": "a story", "answer": " ", "question": "q"}) + "\n")
    with dm.open("a", encoding="utf-8") as file:  # line 5
        file.write(json.dumps({"context": "", "answer": "a", "question": "q"}) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a note is no Python warning
        splits = dr.load_decanlp_task("cnn_dm", "decanlp", root, SEED, FRACTION)
    assert len(splits["train"]) + len(splits["validation"]) == len(CNN_TRAIN) + len(DM_TRAIN)
    assert capsys.readouterr().err.splitlines() == [
        "warning: decanlp cnn_dm: dropped 2 of 11 official train rows with an empty context, "
        f"question or answer: {cnn} line 6; {dm} line 5"]


def test_every_missing_file_of_a_task_is_named_at_once(tmp_path):
    root = write_decanlp(tmp_path / ".data")
    (root / "wikisql" / "data" / "dev.tables.jsonl").unlink()
    (root / "wikisql" / "data" / "train.jsonl").unlink()
    with pytest.raises(FileNotFoundError) as error:
        dr.load_decanlp_task("wikisql", "decanlp", root, SEED, FRACTION)
    message = str(error.value)
    assert f"decanlp wikisql: no {root / 'wikisql' / 'data' / 'train.jsonl'}; point" in message
    assert f"decanlp wikisql: no {root / 'wikisql' / 'data' / 'dev.tables.jsonl'}; " in message


def test_missing_directory_names_task_path_and_remedy(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError) as error:
        dr.load_decanlp_task("squad", "decanlp", missing, SEED, FRACTION)
    message = str(error.value)
    assert "decanlp squad" in message and str(missing) in message
    assert "data.local.decanlp" in message and "source hub" in message


def test_missing_file_fails_before_reading_and_names_it(tmp_path):
    squad = tmp_path / "squad"
    squad.mkdir()
    (squad / "train-v1.1.json").write_text("{not json")  # never read: dev is missing
    with pytest.raises(FileNotFoundError) as error:
        dr.load_decanlp_task("squad", "decanlp", tmp_path, SEED, FRACTION)
    assert str(squad / "dev-v1.1.json") in str(error.value)
    assert "decanlp squad" in str(error.value)
    with pytest.raises(FileNotFoundError) as error:
        dr.load_decanlp_task("winograd", "decanlp", tmp_path, SEED, FRACTION)
    assert str(tmp_path / "schema" / "schema.txt") in str(error.value)
    assert "source hub" not in str(error.value)  # no hub copy to fall back on


def test_missing_hub_copy_names_the_dataset_and_the_cache_stage(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        dr.load_decanlp_task("squad", "hub", tmp_path, SEED, FRACTION)
    message = str(error.value)
    assert f"decanlp squad: no copy of the hub dataset rajpurkar/squad in {tmp_path}" in message
    assert "cache stage" in message and "data.local.decanlp" in message


@pytest.mark.parametrize("task", ["iwslt", "wikisql", "srl", "winograd"])
def test_hub_layout_of_a_local_only_task_says_so(tmp_path, task):
    with pytest.raises(ValueError, match=f"decanlp {task}: .*local decaNLP directory"):
        dr.load_decanlp_task(task, "hub", tmp_path, SEED, FRACTION)


def test_unknown_task_or_layout_lists_the_valid_ones(tmp_path):
    with pytest.raises(ValueError, match="sst, mnli_deca, iwslt"):
        dr.load_decanlp_task("cola", "decanlp", tmp_path, SEED, FRACTION)
    with pytest.raises(ValueError, match="decanlp, hub"):
        dr.load_decanlp_task("sst", "tsv", tmp_path, SEED, FRACTION)


def test_malformed_lines_name_file_and_line(tmp_path):
    zre = tmp_path / "zre"
    write_jsonl(zre / "train.jsonl", zre_decanlp(ZRE_TRAIN))
    write_jsonl(zre / "dev.jsonl", zre_decanlp(ZRE_DEV))
    with (zre / "train.jsonl").open("a") as file:
        file.write('{"context": "x", "question": "y"\n')
    with pytest.raises(ValueError, match=rf"decanlp zre: .*train.jsonl line {len(ZRE_TRAIN) + 1}"):
        dr.load_decanlp_task("zre", "decanlp", tmp_path, SEED, FRACTION)

    sst = tmp_path / "sst"
    sst.mkdir()
    (sst / "train_binary_sent.csv").write_text('label,sentence\n1,"good"\n7,"bad"\n')
    (sst / "dev_binary_sent.csv").write_text('label,sentence\n1,"good"\n')
    with pytest.raises(ValueError, match=r"train_binary_sent.csv line 3"):
        dr.load_decanlp_task("sst", "decanlp", tmp_path, SEED, FRACTION)

    schema = tmp_path / "schema"
    schema.mkdir()
    (schema / "schema.txt").write_text("A [b/c] d.\nWho?\nb/c\n\nOnly two\nlines\n\n")
    with pytest.raises(ValueError, match=r"schema.txt line 5: a schema has 3 lines"):
        dr.load_decanlp_task("winograd", "decanlp", tmp_path, SEED, FRACTION)

    sql = tmp_path / "wikisql" / "data"
    for name in ("train", "dev"):
        write_jsonl(sql / f"{name}.tables.jsonl", [{"id": "t", "header": ["A", "B"]}])
        write_jsonl(sql / f"{name}.jsonl", [
            {"question": "q", "table_id": "t", "sql": {"sel": 0, "agg": 0, "conds": []}},
            {"question": "q", "table_id": "t", "sql": {"sel": 5, "agg": 0, "conds": []}}])
    with pytest.raises(ValueError, match=r"train.jsonl line 2: bad sql"):
        dr.load_decanlp_task("wikisql", "decanlp", tmp_path, SEED, FRACTION)


def test_hub_zre_needs_ten_equal_folds(tmp_path):
    rows = [{"relation": "r", "question": q, "subject": s, "context": c, "answers": a}
            for c, q, s, a in ZRE_TRAIN]  # 8 rows: not 10 folds
    write_parquet(tmp_path / "zre" / "data" / "train-00000-of-00001.parquet", rows)
    write_parquet(tmp_path / "zre" / "data" / "validation-00000-of-00001.parquet", rows[:1] * 10)
    cached = cache_hub({"zre": tmp_path / "zre"}, tmp_path / "cache")
    with pytest.raises(ValueError, match="zre: community-datasets/qa_zre train split .* holds 8 "
                                         "rows, not 10 equal folds"):
        dr.load_decanlp_task("zre", "hub", cached["zre"], SEED, FRACTION)


# --- near misses: files that are almost what a loader reads ----------------------------------

def test_raw_zre_download_says_to_run_decanlp_once_or_point_at_the_jsonl(tmp_path):
    """decaNLP's download unpacks relation_splits/{split}.{0..9} (tab-separated: relation,
    question, subject, context, answers...) and writes {split}.jsonl from fold 0 on its first
    run; without that run there is no jsonl."""
    folder = tmp_path / "zre" / "relation_splits"
    folder.mkdir(parents=True)
    for split in ("train", "dev", "test"):
        for fold in range(10):
            (folder / f"{split}.{fold}").write_text(
                "educated at\tWhere did XXX study?\tJon Ek\tJon Ek studied in Oslo.\tOslo\n")
    with pytest.raises(FileNotFoundError) as error:
        dr.load_decanlp_task("zre", "decanlp", tmp_path, SEED, FRACTION)
    message = str(error.value)
    assert f"no {folder / 'train.jsonl'}, but {folder / 'train.0'} is there" in message
    assert "raw download" in message and "first run" in message
    assert "python train.py --train_tasks zre" in message
    assert "zre/relation_splits/train.jsonl and zre/relation_splits/dev.jsonl" in message
    assert "source hub" in message


def test_raw_srl_download_says_to_run_decanlp_once_or_point_at_the_jsonl(tmp_path):
    folder = tmp_path / "srl"
    folder.mkdir()
    for split in ("train", "dev", "test"):
        (folder / f"wiki1.{split}.qa").write_text(
            "WIKI1_0 3\nCarla painted the fence .\npainted 1\n"
            "what _ someone painted _ _ _ ?\tthe fence\n\n")
    write_jsonl(folder / "train.jsonl", [{"context": "c", "question": "q", "answer": "c"}])
    with pytest.raises(FileNotFoundError) as error:  # train converted, dev not yet
        dr.load_decanlp_task("srl", "decanlp", tmp_path, SEED, FRACTION)
    message = str(error.value)
    assert f"no {folder / 'dev.jsonl'}, but {folder / 'wiki1.dev.qa'} is there" in message
    assert "python train.py --train_tasks srl" in message
    assert "srl/train.jsonl and srl/dev.jsonl" in message
    assert "source hub" not in message  # QA-SRL has no hub copy


def squad_2_json() -> dict:
    """SQuAD 2.0's layout: an unanswerable question has no answers, is_impossible and
    plausible_answers; answerable ones have is_impossible false."""
    qas = [{"id": "a", "question": "What is big?", "is_impossible": False,
            "answers": [{"text": "Paris", "answer_start": 0}]},
           {"id": "b", "question": "What is small?", "is_impossible": True, "answers": [],
            "plausible_answers": [{"text": "Paris", "answer_start": 0}]}]  # fmt: skip
    return {"version": "v2.0", "data": [{"title": "t", "paragraphs": [
        {"context": "Paris is big.", "qas": qas}]}]}  # fmt: skip


def test_squad_2_json_says_it_is_squad_2_and_v1_1_is_needed(tmp_path):
    squad = tmp_path / "squad"
    squad.mkdir()
    data = squad_2_json()
    for name in ("train-v1.1.json", "dev-v1.1.json"):  # 2.0 files under the 1.1 names
        (squad / name).write_text(json.dumps(data))
    with pytest.raises(ValueError) as error:
        dr.load_decanlp_task("squad", "decanlp", tmp_path, SEED, FRACTION)
    message = str(error.value)
    assert f"{squad / 'train-v1.1.json'} is SQuAD 2.0 (version 'v2.0')" in message
    assert "SQuAD v1.1" in message and "rajpurkar.github.io/SQuAD-explorer" in message
    del data["version"]  # the questions' fields tell it too
    (squad / "train-v1.1.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"is SQuAD 2.0 \(question 'a' has is_impossible\)"):
        dr.load_decanlp_task("squad", "decanlp", tmp_path, SEED, FRACTION)


def test_only_squad_2_files_say_v1_1_is_needed(tmp_path):
    squad = tmp_path / "squad"
    squad.mkdir()
    for name in ("train-v2.0.json", "dev-v2.0.json"):
        (squad / name).write_text(json.dumps(squad_2_json()))
    with pytest.raises(FileNotFoundError) as error:
        dr.load_decanlp_task("squad", "decanlp", tmp_path, SEED, FRACTION)
    message = str(error.value)
    assert f"no {squad / 'train-v1.1.json'}, only {squad / 'train-v2.0.json'}" in message
    assert "SQuAD 2.0" in message and "train-v1.1.json and dev-v1.1.json" in message


def test_hub_squad_2_says_to_use_the_v1_1_dataset(tmp_path):
    """rajpurkar/squad_v2 has rajpurkar/squad's columns; its unanswerable rows have empty
    answers."""
    for name in ("train", "validation"):
        write_parquet(tmp_path / "squad_v2" / "plain_text" / f"{name}-00000-of-00001.parquet", [
            {"id": "a", "title": "t", "context": "Paris is big.", "question": "What is big?",
             "answers": hub_answers([("Paris", 0)])},
            {"id": "b", "title": "t", "context": "Paris is big.", "question": "What is small?",
             "answers": hub_answers([])}])  # fmt: skip
    write_card(tmp_path / "squad_v2", {"plain_text": {s: f"plain_text/{s}-*"
                                                      for s in ("train", "validation")}})
    cached = cache_hub({"squad": tmp_path / "squad_v2"}, tmp_path / "cache")
    with pytest.raises(ValueError) as error:
        dr.load_decanlp_task("squad", "hub", cached["squad"], SEED, FRACTION)
    message = str(error.value)
    assert "decanlp squad: rajpurkar/squad plain_text train split" in message
    assert "row 1: has no answer" in message
    assert "SQuAD 2.0" in message and "rajpurkar/squad_v2" in message
    assert "hub dataset rajpurkar/squad " in message


def test_srl_all_answers_must_be_text(tmp_path):
    folder = tmp_path / "srl"
    for name in ("train", "dev"):
        write_jsonl(folder / f"{name}.jsonl", [
            {"context": "a b", "question": "q", "answer": "a", "all_answers": ["a"]},
            {"context": "a b", "question": "q", "answer": "b", "all_answers": "b"}])
    with pytest.raises(ValueError, match=r"srl: .*train.jsonl line 2: all_answers is not"):
        dr.load_decanlp_task("srl", "decanlp", tmp_path, SEED, FRACTION)
