"""The generated DecaNLP-like benchmark: determinism, splits, schemas, and that each task's
answers are what its metric expects (spans at their offsets, parseable SQL, a translation
that copying does not solve, balanced Winograd candidates)."""

from dataclasses import replace

import pandas as pd
import pyarrow.parquet as pq
import pytest
import sacrebleu
from conftest import data_cfg as cfg

from taskconflict import registry
from taskconflict.data import decanlp_generated as dg
from taskconflict.data import world
from taskconflict.data.glue_generated import NLI_LABELS
from taskconflict.io import write_parquet
from taskconflict.paper import load_paper_results

DECANLP = registry.BENCHMARKS["decanlp"]
METRICS = {"accuracy", "bleu", "rouge", "lfem", "nf1", "corpus_f1", "em"}


@pytest.fixture(scope="module")
def deca():
    return {t: dg.generate_decanlp_task(cfg(t)) for t in DECANLP}


def rows(splits):
    return [row for frame in splits.values() for row in frame.to_dict("records")]


# --- registry ----------------------------------------------------------------------------------

def test_registry_has_the_nine_decanlp_tasks_with_generators_metrics_and_kinds():
    assert DECANLP == (
        "sst", "mnli_deca", "iwslt", "cnn_dm", "wikisql", "squad", "srl", "zre", "winograd",
    )  # fmt: skip
    for name in DECANLP:  # every task names its generator, in decanlp_generated
        generated = registry.get_task(name).generated
        assert registry.resolve(generated.draw) is getattr(dg, name)
        assert registry.resolve(generated.build) is dg.generate_decanlp_task
    kinds = {t: registry.get_task(t).kind for t in DECANLP}
    assert kinds == {
        "sst": registry.CLASSIFICATION, "mnli_deca": registry.CLASSIFICATION,
        "iwslt": registry.SEQUENCE, "cnn_dm": registry.SEQUENCE, "wikisql": registry.SEQUENCE,
        "squad": registry.SPAN, "srl": registry.SPAN, "zre": registry.SPAN,
        "winograd": registry.SPAN,
    }  # fmt: skip
    metrics = {t: registry.get_task(t).metric for t in DECANLP}
    assert metrics == {
        "sst": "accuracy", "mnli_deca": "accuracy", "iwslt": "bleu", "cnn_dm": "rouge",
        "wikisql": "lfem", "squad": "nf1", "srl": "nf1", "zre": "corpus_f1", "winograd": "em",
    }  # fmt: skip
    paper_tasks = set(load_paper_results().query("benchmark == 'decanlp'")["task"])
    for name in DECANLP:
        task = registry.get_task(name)
        assert task.benchmark == "decanlp" and task.kind in registry.TASK_KINDS
        assert set(task.metrics) <= METRICS
        assert task.fields == ("context", "question")
        assert task.prompt_fields == ("question", "context")
        assert task.splits == ("train", "validation", "test")
        assert task.unanswerable == (name == "zre")
        assert bool(task.label_words) == (task.kind == registry.CLASSIFICATION)
        assert task.paper_key in paper_tasks
    assert registry.get_task("mnli_deca").display == registry.get_task("mnli").display == "MNLI"


def test_label_words_stay_classification_words_and_registry_text_has_the_questions():
    classification = {w for t in registry.TASKS.values() for w in t.label_words}
    assert set(registry.all_label_words()) == classification
    text = "\n".join(registry.registry_text())
    for question in ("is this review negative or positive ?", "translate from english to german",
                     "what is the summary ?", "what is the translation from english to sql ?",
                     "-- entailment , neutral , or contradiction ?", "key words select , from",
                     "question:  context:", registry.UNANSWERABLE):
        assert question in text


# --- data contract -----------------------------------------------------------------------------

def test_same_seed_gives_identical_frames_and_byte_identical_parquet(tmp_path):
    for task in DECANLP:
        a, b = dg.generate_decanlp_task(cfg(task)), dg.generate_decanlp_task(cfg(task))
        for split in a:
            assert a[split].equals(b[split]), (task, split)
    for task in ("mnli_deca", "wikisql", "zre"):
        for run in ("a", "b"):
            for split, frame in dg.generate_decanlp_task(cfg(task)).items():
                write_parquet(frame, tmp_path / run / task / f"{split}.parquet")
        for split in registry.get_task(task).splits:
            a = (tmp_path / "a" / task / f"{split}.parquet").read_bytes()
            assert a == (tmp_path / "b" / task / f"{split}.parquet").read_bytes(), (task, split)
    schema = pq.read_schema(tmp_path / "a" / "wikisql" / "train.parquet")
    lists = ("list<item: string>", "list<element: string>")
    assert str(schema.field("headers").type) in lists
    assert str(schema.field("answers").type) in lists


def test_answers_round_trip_through_parquet(tmp_path):
    frame = dg.generate_decanlp_task(cfg("zre"))["test"]
    write_parquet(frame, tmp_path / "test.parquet")
    back = pd.read_parquet(tmp_path / "test.parquet")
    assert [list(a) for a in back["answers"]] == [[a] for a in frame["answer"]]
    assert list(back.columns) == list(frame.columns)


def test_another_seed_gives_other_data():
    a = dg.generate_decanlp_task(cfg("squad"))["train"]
    assert not a.equals(dg.generate_decanlp_task(cfg("squad", seed=4))["train"])


def test_split_sizes(deca):
    for task, splits in deca.items():
        assert list(splits) == ["train", "validation", "test"], task
        assert [len(f) for f in splits.values()] == [540, 60, 150], task


def test_validation_and_test_are_held_out_of_train(deca):
    for task, splits in deca.items():
        keys = {name: set(zip(f.context, f.question, strict=True)) for name, f in splits.items()}
        assert not keys["train"] & keys["validation"], task
        assert not keys["train"] & keys["test"], task
        assert not keys["validation"] & keys["test"], task


EXPECTED_COLUMNS = {
    registry.CLASSIFICATION: ["idx", "context", "question", "answer", "answers", "label"],
    registry.SEQUENCE: ["idx", "context", "question", "answer", "answers"],
    registry.SPAN: ["idx", "context", "question", "answer", "answers", "answer_start"],
}


def test_schema_per_kind(deca):
    for name, splits in deca.items():
        task = registry.get_task(name)
        expected = EXPECTED_COLUMNS[task.kind] + (["headers"] if name == "wikisql" else [])
        for frame in splits.values():
            assert list(frame.columns) == expected, name
            assert frame["idx"].tolist() == list(range(len(frame)))
            for column in ("context", "question", "answer"):
                assert str(frame[column].dtype) == "string", (name, column)
                assert (frame[column].str.strip() != "").all(), (name, column)
                assert (frame[column] == frame[column].str.lower()).all(), (name, column)
                assert not frame[column].str.contains("  ").any(), (name, column)
            for column in ("label", "answer_start"):
                if column in frame:
                    assert str(frame[column].dtype) == "int64", (name, column)
            assert frame["answer"].str.split().str.len().between(1, 15).all(), name
            assert [list(a) for a in frame["answers"]] == [[a] for a in frame["answer"]], name
            if task.kind == registry.CLASSIFICATION:
                assert frame["label"].between(0, len(task.label_words) - 1).all()
                assert (frame["answer"] == frame["label"].map(task.label_words.__getitem__)).all()


def test_classification_labels_are_balanced(deca):
    for name in ("sst", "mnli_deca"):
        task = registry.get_task(name)
        shares = deca[name]["train"]["label"].value_counts(normalize=True)
        assert len(shares) == len(task.label_words), name
        assert shares.max() < 0.6, name
    assert abs(deca["sst"]["train"]["label"].mean() - 0.5) < 0.08


def test_noise_only_flips_classification_answers():
    clean = dg.generate_decanlp_task(cfg("mnli_deca", label_noise=0.0))
    noisy = dg.generate_decanlp_task(cfg("mnli_deca", label_noise=0.2))
    assert clean["train"]["context"].equals(noisy["train"]["context"])
    flipped = (clean["train"]["label"] != noisy["train"]["label"]).mean()
    assert 0.12 < flipped < 0.28
    for task in ("squad", "wikisql"):
        a = dg.generate_decanlp_task(cfg(task, label_noise=0.0))
        assert a["train"].equals(dg.generate_decanlp_task(cfg(task, label_noise=0.3))["train"])


@pytest.mark.parametrize("task", ["sst", "mnli_deca"])
def test_noise_is_on_train_and_validation_labels_only(task):
    """The rule's label is the noise-free one (the inputs do not depend on the noise): test
    rows carry it always, train and validation rows differ from it at about the set rate."""
    rate = 0.2
    rule = dg.generate_decanlp_task(cfg(task, label_noise=0.0))
    noisy = dg.generate_decanlp_task(cfg(task, label_noise=rate))
    for split in rule:
        for column in ("context", "question"):
            assert rule[split][column].equals(noisy[split][column]), (split, column)
    assert rule["test"].equals(noisy["test"])  # zero noisy test labels
    pool = pd.concat([noisy["train"], noisy["validation"]])
    flipped = (pd.concat([rule["train"], rule["validation"]])["label"] != pool["label"]).mean()
    # flips are drawn at `rate` (a flip always moves to another class): 600 rows, sd ~0.016
    assert rate - 0.06 < flipped < rate + 0.06, flipped
    assert (noisy["train"]["answer"] == noisy["train"]["label"].map(
        registry.get_task(task).label_words.__getitem__)).all()


def test_test_labels_are_clean_without_changing_the_train_rows():
    """Train and validation rows are those of the noisy-test generator: the noise stream is
    drawn for the pool first, as before; only test rows stop drawing from it."""
    from taskconflict.data import glue_generated

    config = cfg("sst", label_noise=0.2)
    frames = dg.generate_decanlp_task(config)
    noise = glue_generated.task_rng(config.seed, "sst", "noise")
    rule = dg.generate_decanlp_task(cfg("sst", label_noise=0.0))
    task = registry.get_task("sst")
    pool = [*rule["validation"]["label"], *rule["train"]["label"]]
    expected = [glue_generated._add_noise(task, label, 0.2, noise) for label in pool]
    assert [*frames["validation"]["label"], *frames["train"]["label"]] == expected


def test_mnli_deca_uses_glue_mnli_pairs_in_decanlp_format(deca):
    frame = deca["mnli_deca"]["train"]
    assert frame["context"].str.fullmatch(r'premise: " .+ \. "').all()
    assert frame["question"].str.fullmatch(
        r'hypothesis: " .+ " -- entailment , neutral , or contradiction \?').all()
    assert set(frame["label"]) == set(NLI_LABELS.values())


# --- spans ---------------------------------------------------------------------------------

def test_span_answers_are_the_context_at_answer_start(deca):
    for name in DECANLP:
        task = registry.get_task(name)
        if task.kind != registry.SPAN:
            continue
        for row in rows(deca[name]):
            start, answer, context = row["answer_start"], row["answer"], row["context"]
            if task.unanswerable and answer == registry.UNANSWERABLE:
                assert start == -1, (name, row)
                continue
            assert start >= 0, (name, row)
            assert context[start : start + len(answer)] == answer, (name, row)
            assert start == 0 or context[start - 1] == " ", (name, row)
            assert context[start + len(answer)] == " ", (name, row)


def test_zre_has_a_minority_of_unanswerable_questions(deca):
    for frame in deca["zre"].values():
        share = (frame["answer"] == registry.UNANSWERABLE).mean()
        assert 0.2 <= share <= 0.4, share
    assert (deca["zre"]["train"]["answer_start"] == -1).mean() == pytest.approx(
        (deca["zre"]["train"]["answer"] == registry.UNANSWERABLE).mean())


def test_winograd_first_candidate_baseline_is_near_chance(deca):
    for split in ("train", "test"):  # validation is too small to hold to 35-65%
        frame = deca["winograd"][split]
        first = frame["context"].str.split().str[1] == frame["answer"]
        assert 0.35 <= first.mean() <= 0.65, first.mean()
        named_first = frame["question"].str.split().str[-5] == frame["answer"]
        assert 0.35 <= named_first.mean() <= 0.65
    train = deca["winograd"]["train"]
    deeds = train["question"].str.split().str[2]  # "who had repaired the ..."
    for deed in deeds.unique():  # the deed alone decides the referent: its typical doer
        assert train.loc[deeds == deed, "answer"].nunique() == 1, deed


# --- sequences -----------------------------------------------------------------------------

def test_wikisql_sql_parses_against_the_rows_own_headers(deca):
    aggregations = set()
    for row in rows(deca["wikisql"]):
        headers = list(row["headers"])
        assert 2 <= len(headers) <= 3 and len(set(headers)) == len(headers)
        # decaNLP's context without its SQL key words (dg.WIKISQL_CONTEXT)
        assert row["context"].startswith(f"the table has columns {' , '.join(headers)} -- ")
        assert "key words" not in row["context"]
        form = dg.parse_sql(row["answer"], headers)
        assert form is not None, row
        assert dg.render_sql(form) == row["answer"]
        column, aggregation, conditions = form
        aggregations.add(aggregation)
        mentioned = {column, *(c for c, _, _ in conditions)}
        assert mentioned <= set(headers)
        assert set(row["answer"].split()) & set(dg.HEADERS) <= set(headers)
        assert conditions and column not in {c for c, _, _ in conditions}
    assert aggregations == {"", *dg.AGGREGATIONS}
    assert dg.parse_sql("select max ( city ) from table", ["name", "age"]) is None
    assert dg.parse_sql("select name from table where", ["name"]) is None


def bleu(hypotheses, references):
    return sacrebleu.corpus_bleu(list(hypotheses), [list(references)], lowercase=True,
                                 force=True).score


def test_iwslt_copying_the_input_scores_low(deca):
    test = deca["iwslt"]["test"]
    assert (test["context"] != test["answer"]).all()
    assert bleu(test["context"], test["answer"]) < 20
    assert bleu(test["answer"], test["answer"]) == pytest.approx(100.0)


def test_iwslt_maps_each_word_the_same_way_everywhere(deca):
    """Each word maps to one word and only the verb moves (to just before the final '.'), so
    source and target align word by word once the verb is taken out of both."""
    mapping: dict[str, set[str]] = {}
    for row in rows(deca["iwslt"]):
        source, target = row["context"].split(), row["answer"].split()
        assert len(source) == len(target)
        verb = next(i for i, w in enumerate(source) if w in dg.VERB_FORMS)
        pairs = [*zip(source[:verb] + source[verb + 1 :], target[:-2] + target[-1:],
                      strict=True), (source[verb], target[-2])]
        for english, german in pairs:
            mapping.setdefault(english, set()).add(german)
            assert german == dg.german(english)
    assert all(len(g) == 1 for g in mapping.values())
    assert len(mapping) > 100
    changed = [w for w, g in mapping.items() if g != {w}]
    assert len(changed) > 0.6 * len(mapping)
    vocabulary = set(dg.lexicon_lines()[0].split())
    assert {g for gs in mapping.values() for g in gs if g not in mapping} <= vocabulary


def test_cnn_dm_summaries_are_shorter_than_their_stories(deca):
    ratios = []
    for row in rows(deca["cnn_dm"]):
        context, answer = row["context"].split(), row["answer"].split()
        assert len(answer) < len(context), row
        ratios.append(len(answer) / len(context))
        assert 3 <= row["context"].count(" . ") + 1 <= 5, row
        assert answer[0] in context  # about the story's own main event
    assert sum(ratios) / len(ratios) < 0.4


def test_too_many_examples_for_the_generator_is_a_clear_error(monkeypatch):
    task = registry.get_task("squad")
    draw = lambda rng, _: {"context": "a b .", "question": "b ?", "answer": "b",  # noqa: E731
                           "answer_start": 2}  # fmt: skip
    monkeypatch.setitem(registry.TASKS, "squad",
                        replace(task, generated=replace(task.generated, draw=draw)))
    with pytest.raises(RuntimeError, match="squad: the generator yields fewer than 5"):
        dg.generate_decanlp_task(cfg("squad", train_size=5, test_size=1))


# --- pre-training corpus -------------------------------------------------------------------

def test_corpus_holds_decanlp_forms_but_never_a_tasks_pair():
    from taskconflict.data.corpus import DECANLP_SHARE, documents

    docs = documents(2000, seed=3)
    reasons = [d for d in docs if " because " in d]
    sql = [d for d in docs if d.startswith("select ")]
    tables = [d for d in docs if d.startswith("the table has columns ")]
    share = (len(reasons) + len(sql) + len(tables)) / len(docs)
    assert DECANLP_SHARE / 2 < share < DECANLP_SHARE * 2, share
    for doc in reasons:  # the commonsense is stated: the deed's typical doer did it
        reason, stated = doc.split(" . ", 1)
        deed = reason.split(" because ")[1].split(" ", 1)[1]
        doer = stated.split()[1]
        verb = deed.split()[1]
        assert stated == f"the {doer} {deed} .", doc
        assert any(doer == dg.DOERS[v.forms[0][0]] and verb in {f[2] for f in v.forms}
                   for g in world.GENRES for v in g.verbs), doc
    assert all(" -- " not in d and "?" not in d for d in sql)  # SQL without its question
    assert all("select " not in d.split(" -- ")[1] for d in tables)  # questions without SQL


def test_a_tenth_of_winograd_test_schemas_name_deeds_training_never_shows():
    """Their doers are stated only in the pre-training corpus (`Generated.unseen_test_share`
    of Winograd's registry entry)."""
    splits = dg.generate_decanlp_task(cfg("winograd"))
    seen = {dg.doer(v) for g in world.MATCHED_GENRES for v in world.GENRE_BY_NAME[g].verbs}
    unseen = {dg.doer(v) for g in world.MISMATCHED_GENRES for v in world.GENRE_BY_NAME[g].verbs}
    assert set(splits["train"]["answer"]) <= seen and set(splits["validation"]["answer"]) <= seen
    test = splits["test"]["answer"]
    assert test.isin(unseen).sum() == round(len(test) * 0.1)
    assert test.isin(seen | unseen).all()
