"""Diverse prompts and output spaces: the templates file, the letters, and that a rendered
row's answer words are the ones its output is parsed against."""

import pandas as pd
import pytest

from taskconflict import registry
from taskconflict.label_spaces import OVERLAPPING_POOL, label_space, label_words
from taskconflict.metrics import parse_prediction
from taskconflict.prompts import TEMPLATES_FILE, Template, _template, diverse_templates, render

GLUE = registry.BENCHMARKS["glue"]
CLASSIFIERS = [t for t in GLUE if registry.get_task(t).kind == registry.CLASSIFICATION]


def test_templates_file_parses_and_covers_every_glue_task():
    templates = diverse_templates()
    assert set(templates) == set(GLUE)
    for name, entries in templates.items():
        task = registry.get_task(name)
        assert 4 <= len(entries) <= 7, name
        assert len({t.text for t in entries}) == len(entries), name
        for template in entries:
            filled = template.text.format(**{f: f"<{f}>" for f in task.fields})
            assert all(f"<{f}>" in filled for f in task.fields), template
            assert len(template.answers) == len(task.labels)
            assert len(set(template.answers)) == len(task.labels)


def test_a_template_that_misses_a_field_or_an_answer_is_named():
    rte = registry.get_task("rte")
    with pytest.raises(ValueError, match=r"rte\[2\].*sentence2"):
        _template(rte, {"template": "{sentence1} ?", "answers": ["yes", "no"]},
                  f"{TEMPLATES_FILE}: rte[2]")
    with pytest.raises(ValueError, match="2 distinct answer words"):
        _template(rte, {"template": "{sentence1} {sentence2}", "answers": ["yes", "yes"]}, "x")
    with pytest.raises(ValueError, match="unknown field 'premise'"):
        _template(rte, {"template": "{premise} {sentence1} {sentence2}",
                        "answers": ["a", "b"]}, "x")


def test_distinct_letters_share_no_letter_across_tasks():
    for benchmark in registry.BENCHMARKS:
        for seed in range(5):
            space = label_space(benchmark, "distinct", seed)
            letters = [w for words in space.values() for w in words]
            assert len(letters) == len(set(letters)), (benchmark, seed)
            assert all(len(w) == 1 and w.isalpha() for w in letters)
            assert {t for t in space} == {
                t for t in registry.BENCHMARKS[benchmark]
                if registry.get_task(t).kind == registry.CLASSIFICATION}


def test_overlapping_letters_reuse_a_small_pool_across_tasks():
    space = label_space("glue", "overlapping", seed=3)
    letters = [w for words in space.values() for w in words]
    assert len(set(letters)) <= OVERLAPPING_POOL < len(letters)
    assert all(len(set(words)) == len(words) for words in space.values())  # within a task
    assert space == label_space("glue", "overlapping", seed=3)  # seeded
    assert any(label_space("glue", "overlapping", seed=s) != space for s in range(4, 9))
    assert label_words("mnli", "default", 0) == ("entailment", "neutral", "contradiction")


def frame(task, n=40):
    fields = {f: [f"{f} {i} ." for i in range(n)] for f in task.fields}
    classes = max(len(task.labels), 1)
    return pd.DataFrame({"idx": range(n), **fields, "label": [i % classes for i in range(n)]})


def test_diverse_rows_answer_with_their_templates_words_and_parse_back():
    mnli = registry.get_task("mnli")
    data = frame(mnli)
    out = render(mnli, data, "diverse", seed=1, split="train")
    used = set()
    for row in out.to_dict("records"):
        assert list(row["label_words"])[row["label"]] == row["target"]
        assert parse_prediction(mnli, f" {row['target']} ", row["label_words"]) == row["label"]
        template, = [t for t in diverse_templates()["mnli"]
                     if t.text.format(**row) == row["source"]]
        assert tuple(row["label_words"]) == template.answers  # the drawn template's words
        used.add(template)
    assert len(used) > 2  # several templates drawn
    again = render(mnli, data, "diverse", seed=1, split="train")
    assert out["source"].equals(again["source"])
    other = render(mnli, data, "diverse", seed=2, split="train")
    assert not out["source"].equals(other["source"])
    assert parse_prediction(mnli, "entailment", ("yes", "maybe", "no")) is None


def test_letter_spaces_replace_the_label_words():
    rte = registry.get_task("rte")
    out = render(rte, frame(rte), "default", labels="distinct", seed=0)
    letters = label_words("rte", "distinct", 0)
    assert set(out["target"]) == set(letters)
    assert (out["source"].str.startswith("rte sentence1: ")).all()
    assert all(tuple(w) == letters for w in out["label_words"])
    stsb = registry.get_task("stsb")
    scored = render(stsb, frame(stsb).assign(label=1.0), "diverse", labels="distinct")
    assert "label_words" not in scored and set(scored["target"]) == {"1.0"}


def test_a_task_without_templates_is_refused_by_name():
    squad = registry.get_task("squad")
    rows = pd.DataFrame({"context": ["a b ."], "question": ["a ?"], "answer": ["a"]})
    with pytest.raises(ValueError, match="'squad' has no diverse prompts"):
        render(squad, rows, "diverse")
    assert isinstance(diverse_templates()["cola"][0], Template)
