"""Diverse prompts and output spaces: the templates file, the letters, and that a rendered
row's answer words are the ones its output is parsed against."""

import pandas as pd
import pytest

from taskconflict import registry
from taskconflict.label_spaces import OVERLAPPING_POOL, answer_words, label_space
from taskconflict.metrics import parse_prediction
from taskconflict.prompts import (
    TEMPLATES_FILE,
    Template,
    _template,
    diverse_templates,
    eval_template,
    load_templates,
    render,
)

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
            assert len(template.answers) == len(task.label_words)
            assert len(set(template.answers)) == len(task.label_words)
        assert [t.eval for t in entries].count(True) == 1, name
        # the fixed (validation / test) template is the task's first, as flagged in the file
        assert eval_template(task) is entries[0], name


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
    assert answer_words("mnli", "default", 0) == ("entailment", "neutral", "contradiction")


def frame(task, n=40):
    fields = {f: [f"{f} {i} ." for i in range(n)] for f in task.fields}
    classes = max(len(task.label_words), 1)
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
    out = render(rte, frame(rte), "default", output_space="distinct", seed=0)
    letters = answer_words("rte", "distinct", 0)
    assert set(out["target"]) == set(letters)
    assert (out["source"].str.startswith("rte sentence1: ")).all()
    assert all(tuple(w) == letters for w in out["label_words"])
    stsb = registry.get_task("stsb")
    scored = render(stsb, frame(stsb).assign(label=1.0), "diverse", output_space="distinct")
    assert "label_words" not in scored and set(scored["target"]) == {"1.0"}


def test_a_task_without_templates_is_refused_by_name():
    squad = registry.get_task("squad")
    rows = pd.DataFrame({"context": ["a b ."], "question": ["a ?"], "answer": ["a"]})
    with pytest.raises(ValueError, match="'squad' has no diverse prompts"):
        render(squad, rows, "diverse")
    assert isinstance(diverse_templates()["cola"][0], Template)


def test_validation_and_test_rows_use_the_tasks_fixed_template_train_rows_vary():
    for name in GLUE:
        task = registry.get_task(name)
        data = frame(task)
        fixed = eval_template(task)
        for split in task.splits[1:]:  # validation, test (and MNLI's test_mismatched)
            out = render(task, data, "diverse", seed=3, split=split)
            rows = data[list(task.fields)].to_dict("records")
            assert list(out["source"]) == [fixed.text.format(**row) for row in rows], split
            if task.kind == registry.CLASSIFICATION:
                assert all(tuple(w) == fixed.answers for w in out["label_words"])
                assert list(out["target"]) == [fixed.answers[y] for y in data["label"]]
            # the same whatever the seed: evaluation compares cells across seeds
            again = render(task, data, "diverse", seed=4, split=split)
            assert out["source"].equals(again["source"])
        train = render(task, data, "diverse", seed=3, split="train")
        used = {t.text for t in diverse_templates()[name]
                for row, source in zip(data.to_dict("records"), train["source"], strict=True)
                if t.text.format(**row) == source}
        assert len(used) > 2, name  # 40 rows draw from 4-7 templates


def test_letter_spaces_keep_the_fixed_template_at_test_time():
    rte = registry.get_task("rte")
    data = frame(rte)
    out = render(rte, data, "diverse", output_space="distinct", seed=0, split="test")
    fixed = eval_template(rte)
    assert list(out["source"]) == [fixed.text.format(**row) for row in data.to_dict("records")]
    letters = answer_words("rte", "distinct", 0)
    assert list(out["target"]) == [letters[y] for y in data["label"]]


GOOD_RTE = [
    '  - {template: "{sentence1} ? {sentence2}", answers: ["yes", "no"], eval: true}',
    '  - {template: "{sentence2} ! {sentence1}", answers: ["a", "b"]}',
]


@pytest.mark.parametrize(("entries", "message"), [
    ([GOOD_RTE[0].replace(", eval: true", ""), GOOD_RTE[1]],
     r"bad\.yaml: rte: exactly one template needs `eval: true`.*found 0"),
    ([GOOD_RTE[0], GOOD_RTE[1].replace("]}", "], eval: true}")],
     r"bad\.yaml: rte: exactly one template needs `eval: true`.*found 2 \(entries \[0, 1\]\)"),
    ([GOOD_RTE[0].replace("eval: true", 'eval: "yes"'), GOOD_RTE[1]],
     r"bad\.yaml: rte\[0\]: `eval` must be true or false, not 'yes'"),
    ([GOOD_RTE[0].replace("eval: true", "evaluate: true"), GOOD_RTE[1]],
     r"bad\.yaml: rte\[0\]: unknown key\(s\) \['evaluate'\]"),
    ([GOOD_RTE[0], GOOD_RTE[1].replace("{sentence2} ", "")],
     r"bad\.yaml: rte\[1\]: template does not use field\(s\) \['sentence2'\]"),
])
def test_a_bad_prompts_file_is_refused_naming_the_file_and_task(tmp_path, entries, message):
    path = tmp_path / "bad.yaml"
    path.write_text("rte:\n" + "\n".join(entries) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_templates(path)


def test_a_good_prompts_file_loads_and_unknown_tasks_are_named(tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text("rte:\n" + "\n".join(GOOD_RTE) + "\n", encoding="utf-8")
    rte, = load_templates(path).values()
    assert [t.eval for t in rte] == [True, False] and rte[1].answers == ("a", "b")
    path.write_text("rtee:\n" + "\n".join(GOOD_RTE) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"good\.yaml: unknown task 'rtee'"):
        load_templates(path)
    path.write_text("rte: []\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"good\.yaml: rte: expected a non-empty list"):
        load_templates(path)
