"""The generated GLUE-like benchmark: determinism, splits, learnability, shared forms."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import data_cfg as cfg
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from taskconflict import registry
from taskconflict.data import world
from taskconflict.data.glue_generated import (
    _PARTICIPLE_OF_PAST,
    STS_SCORES,
    generate_task,
)
from taskconflict.data.prepare import check_splits, prepare_task
from taskconflict.prompts import render

GLUE = registry.BENCHMARKS["glue"]


@pytest.fixture(scope="module")
def glue():
    return {t: generate_task(cfg(t)) for t in GLUE}


def test_same_seed_gives_byte_identical_parquet(tmp_path):
    for task in ("cola", "stsb", "mnli"):
        prepare_task(cfg(task), tmp_path / "a" / task)
        prepare_task(cfg(task), tmp_path / "b" / task)
        for split in registry.get_task(task).splits:
            a = (tmp_path / "a" / task / f"{split}.parquet").read_bytes()
            b = (tmp_path / "b" / task / f"{split}.parquet").read_bytes()
            assert a == b, (task, split)


def test_another_seed_gives_other_data():
    a = generate_task(cfg("rte"))["train"]
    b = generate_task(cfg("rte", seed=4))["train"]
    assert not a.equals(b)


def test_split_sizes_and_schema(glue):
    for task_name, splits in glue.items():
        task = registry.get_task(task_name)
        check_splits(task, splits)
        assert len(splits["validation"]) == 60
        assert len(splits["train"]) == 540
        assert len(splits["test"]) == 150
        for frame in splits.values():
            assert list(frame.columns) == ["idx", *task.fields, "label"]
            assert frame["idx"].tolist() == list(range(len(frame)))
            expected = "float64" if task.kind == registry.REGRESSION else "int64"
            assert str(frame["label"].dtype) == expected
    assert len(glue["mnli"]["test_mismatched"]) == 150


def test_validation_and_test_are_held_out_of_train(glue):
    for task_name, splits in glue.items():
        fields = list(registry.get_task(task_name).fields)
        keys = {name: set(map(tuple, f[fields].to_numpy())) for name, f in splits.items()}
        assert not keys["train"] & keys["validation"], task_name
        assert not keys["train"] & keys["test"], task_name


def test_labels_cover_every_class_without_one_dominating(glue):
    for task_name, splits in glue.items():
        task = registry.get_task(task_name)
        labels = splits["train"]["label"]
        if task.kind == registry.REGRESSION:
            assert 0.0 <= labels.min() and labels.max() <= 5.0
            assert labels.std() > 1.0
            continue
        shares = labels.value_counts(normalize=True)
        assert len(shares) == len(task.label_words), task_name
        assert shares.max() < 0.75, task_name


def test_mismatched_domain_uses_words_training_never_sees(glue):
    matched_words = {w for g in world.MATCHED_GENRES for w in world.GENRE_BY_NAME[g].places}
    unseen_places = {w for g in world.MISMATCHED_GENRES for w in world.GENRE_BY_NAME[g].places}
    text = " ".join(glue["mnli"]["train"]["premise"])
    assert not unseen_places & set(text.split())
    mismatched = " ".join(glue["mnli"]["test_mismatched"]["premise"]).split()
    assert unseen_places & set(mismatched)
    assert not matched_words & set(mismatched)


POSITIVE = {w for s, v in world.OPINION_VERBS if s > 0 for f in v.forms for w in f}


def sst2_rule(sentence):
    """The generator's own rule, re-derived from the text: the first clause's verb polarity,
    flipped by 'not' (a second person's opposite opinion after a comma does not count)."""
    words = sentence.split(" , ")[0].split()
    positive = any(w in POSITIVE for w in words)
    return int(positive != ("not" in words))


def test_sst2_labels_follow_a_rule_up_to_the_label_noise():
    clean = generate_task(cfg("sst2", label_noise=0.0))["train"]
    rule = clean["sentence"].map(sst2_rule)
    assert (rule == clean["label"]).all()
    contrasted = clean["sentence"].str.contains(" , ")
    assert 0.15 < contrasted.mean() < 0.35  # CONTRASTED: a second, opposite opinion follows
    assert (clean.loc[contrasted, "sentence"].map(lambda s: sst2_rule(s.split(" , ")[1]))
            != clean.loc[contrasted, "label"]).all()
    noisy = generate_task(cfg("sst2", label_noise=0.2))["train"]
    agreement = (noisy["sentence"].map(sst2_rule) == noisy["label"]).mean()
    assert 0.72 < agreement < 0.88


def test_test_labels_are_the_rules_noise_goes_on_train_and_validation_only():
    """With label noise 0.3, every test (and mismatched test) label is the noise-free one;
    about 30% of the train and validation labels are flipped (noise always picks another
    class). The inputs are the same at either noise rate."""
    for name in GLUE:
        task = registry.get_task(name)
        clean = generate_task(cfg(name, label_noise=0.0))
        noisy = generate_task(cfg(name, label_noise=0.3))
        for split in task.test_splits:
            assert noisy[split].equals(clean[split]), (name, split)  # zero noisy test labels
        for split in ("train", "validation"):
            fields = list(task.fields)
            assert noisy[split][fields].equals(clean[split][fields]), (name, split)
        if task.kind == registry.CLASSIFICATION:
            pool = pd.concat([noisy["train"], noisy["validation"]])["label"]
            gold = pd.concat([clean["train"], clean["validation"]])["label"]
            flipped = (pool != gold).mean()  # 600 rows: sd about 0.019
            assert 0.22 < flipped < 0.38, (name, flipped)


def test_sst2_test_labels_follow_the_rule_exactly():
    splits = generate_task(cfg("sst2", label_noise=0.2))
    test = splits["test"]
    assert (test["sentence"].map(sst2_rule) == test["label"]).all()
    train = splits["train"]
    assert 0.72 < (train["sentence"].map(sst2_rule) == train["label"]).mean() < 0.88


def test_stsb_test_scores_are_the_operations_train_scores_are_jittered():
    splits = generate_task(cfg("stsb", label_noise=0.1))
    assert set(splits["test"]["label"]) <= set(STS_SCORES.values())  # 5.0, 3.75, 2.5, 1.0
    assert splits["test"]["label"].nunique() == len(STS_SCORES)
    below_five = [v for v in STS_SCORES.values() if v < 5.0]  # 5.0 + jitter clips to 5.0
    assert splits["test"]["label"].isin(below_five).mean() > 0.4
    for split in ("train", "validation"):
        exact = splits[split]["label"].isin(below_five).mean()
        assert exact < 0.05, (split, exact)  # Gaussian jitter (sd 0.35), 2 decimals


def test_train_and_validation_rows_do_not_depend_on_the_test_split():
    a = generate_task(cfg("mnli"))
    b = generate_task(cfg("mnli", test_size=40))
    for split in ("train", "validation"):
        assert a[split].equals(b[split]), split
    assert len(b["test"]) == len(b["test_mismatched"]) == 40


def test_cola_errors_are_broken_sentences():
    clean = generate_task(cfg("cola", label_noise=0.0))["train"]
    assert clean["sentence"].str.endswith(" .").all()
    assert 0.2 < (clean["label"] == 0).mean() < 0.4
    acceptable = set(clean.loc[clean.label == 1, "sentence"])
    broken = set(clean.loc[clean.label == 0, "sentence"])
    assert broken and not acceptable & broken


def test_cola_has_errors_a_bag_of_words_sees_and_errors_only_word_order_shows():
    """A verb in its bare -ing form is a word no well-formed sentence has, so a unigram model
    beats the majority class; repeated or misplaced words are visible only in word order,
    so it stays far from perfect."""
    data = generate_task(cfg("cola", label_noise=0.0, train_size=1500))["train"]
    participles = set(_PARTICIPLE_OF_PAST.values())
    has_participle = data["sentence"].map(lambda s: bool(set(s.split()) & participles))
    assert not has_participle[data.label == 1].any()
    assert 0.15 < has_participle[data.label == 0].mean() < 0.35
    majority = data["label"].value_counts(normalize=True).max()
    words = CountVectorizer().fit_transform(data["sentence"])
    unigram = cross_val_score(LogisticRegression(max_iter=2000), words, data["label"], cv=3)
    assert majority + 0.08 < unigram.mean() < 0.9, (majority, unigram.mean())


def test_stsb_score_falls_with_the_number_of_changed_slots():
    data = generate_task(cfg("stsb", label_noise=0.0))["train"]
    same = data[data.sentence1 == data.sentence2]["label"]
    assert same.mean() > 4.0
    assert data["label"].corr(
        pd.Series([len(set(a.split()) ^ set(b.split()))
                   for a, b in zip(data.sentence1, data.sentence2, strict=True)])
    ) < -0.5


def bag_of_words_accuracy(texts, labels):
    features = CountVectorizer(ngram_range=(1, 2)).fit_transform(texts)
    model = LogisticRegression(max_iter=2000)
    return cross_val_score(model, features, labels, cv=3).mean()


def test_without_prompts_pair_tasks_cannot_be_told_apart(glue):
    """MRPC, STS-B, MNLI and RTE inputs share one form: a bag-of-words classifier that
    must name the task from the null-prompted input is near chance (25%); with the
    default prompt it is perfect."""
    pair_tasks = ("mrpc", "stsb", "mnli", "rte")
    for style, low, high in (("null", 0.0, 0.45), ("default", 0.99, 1.0)):
        texts, labels = [], []
        for name in pair_tasks:
            rendered = render(registry.get_task(name), glue[name]["train"][:400], style)
            texts += list(rendered["source"])
            labels += [name] * len(rendered)
        accuracy = bag_of_words_accuracy(texts, labels)
        assert low <= accuracy <= high, (style, accuracy)


def test_labels_are_learnable_but_not_trivial(glue):
    """A linear bag-of-words model beats the majority class on SST-2 yet stays well below
    100: the labels depend on the words, plus noise and structure it cannot see."""
    for name in ("sst2",):
        train = glue[name]["train"]
        majority = train["label"].value_counts(normalize=True).max()
        accuracy = bag_of_words_accuracy(train["sentence"], train["label"])
        assert majority + 0.05 < accuracy < 0.97, (name, majority, accuracy)


def test_too_many_examples_for_the_generator_is_a_clear_error(monkeypatch):
    few = ["a .", "b .", "c ."]
    task = registry.get_task("sst2")
    draw = lambda rng, _: ({"sentence": rng.choice(few)}, 0)  # noqa: E731
    monkeypatch.setitem(registry.TASKS, "sst2",
                        replace(task, generated=replace(task.generated, draw=draw)))
    with pytest.raises(RuntimeError, match="sst2: the generator yields fewer than 5"):
        generate_task(cfg("sst2", train_size=5, test_size=1))


def test_generation_is_independent_per_task():
    """Changing one task's data parameters leaves the other tasks' data unchanged."""
    a = generate_task(cfg("cola"))["train"]
    generate_task(cfg("sst2", train_size=50))
    assert a.equals(generate_task(cfg("cola"))["train"])
    assert np.array_equal(a["label"], generate_task(cfg("cola"))["train"]["label"])


def test_some_contradictions_replace_a_detail_instead_of_denying():
    """REPLACE: another person, thing, place or time, no negation word; MRPC reads the same
    pairs as different, STS-B scores them between elaborated and negated."""
    from taskconflict.data.glue_generated import REPLACE

    frame = generate_task(cfg("mnli", label_noise=0.0))["train"]
    contradictions = frame[frame["label"] == 2]
    undenied = contradictions[~contradictions["hypothesis"].str.contains(r"\bnot\b")]
    share = len(undenied) / len(frame)
    assert 0.05 < share < 0.15  # PAIR_OPERATIONS gives REPLACE 0.1
    for premise, hypothesis in zip(undenied["premise"], undenied["hypothesis"], strict=True):
        assert premise != hypothesis
    assert STS_SCORES["negate"] < STS_SCORES[REPLACE] < STS_SCORES["elaborate"]


def test_mrpc_pairs_are_half_restatements_so_no_class_is_a_majority():
    frame = generate_task(cfg("mrpc", label_noise=0.0))["train"]
    assert frame["label"].mean() == pytest.approx(0.5, abs=0.04)
