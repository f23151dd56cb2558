"""The task registry and the text-to-text rendering of its tasks."""

import pandas as pd
import pytest

from taskconflict import registry
from taskconflict.prompts import render, render_source, render_target


def test_glue_has_the_papers_eight_tasks_with_their_metrics():
    assert registry.BENCHMARKS["glue"] == (
        "cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte",
    )  # fmt: skip
    metrics = {t: registry.get_task(t).metric for t in registry.BENCHMARKS["glue"]}
    assert metrics["cola"] == "mcc" and metrics["stsb"] == "spearman"
    assert registry.get_task("mrpc").metrics == ("accuracy", "f1")
    assert registry.get_task("mnli").splits == (
        "train", "validation", "test", "test_mismatched",
    )  # fmt: skip


def test_every_prompt_uses_exactly_its_tasks_fields():
    for task in registry.TASKS.values():
        assert sorted(task.prompt_fields) == sorted(task.fields), task.name


def test_unknown_task_is_named():
    with pytest.raises(KeyError, match="colaa"):
        registry.get_task("colaa")


def test_default_prompts_follow_t5_with_fields_in_t5_order():
    mnli = registry.get_task("mnli")
    row = {"premise": "anna bought the car .", "hypothesis": "anna bought it ."}
    assert render_source(mnli, row, "default") == (
        "mnli hypothesis: anna bought it . premise: anna bought the car ."
    )
    assert render_source(mnli, row, "null") == "anna bought it . anna bought the car ."
    cola = registry.get_task("cola")
    assert render_source(cola, {"sentence": "x y ."}, "default") == "cola sentence: x y ."
    qnli = registry.get_task("qnli")
    assert render_source(qnli, {"question": "q ?", "sentence": "s ."}, "default") == (
        "qnli question: q ? sentence: s ."
    )


def test_label_words_and_stsb_numbers():
    assert render_target(registry.get_task("cola"), 1) == "acceptable"
    assert render_target(registry.get_task("rte"), 1) == "not_entailment"
    assert render_target(registry.get_task("mnli"), 2) == "contradiction"
    stsb = registry.get_task("stsb")
    # T5 rounds STS-B scores to the nearest 0.2 and writes one decimal.
    assert render_target(stsb, 3.77) == "3.8"
    assert render_target(stsb, 2.32) == "2.4"
    assert render_target(stsb, 5.0) == "5.0"
    assert render_target(stsb, 0.05) == "0.0"


def test_unknown_prompt_style_fails():
    with pytest.raises(ValueError, match="prompt style"):
        render_source(registry.get_task("cola"), {"sentence": "a ."}, "fancy")


def test_render_adds_source_and_target_columns():
    task = registry.get_task("rte")
    frame = pd.DataFrame(
        {"idx": [0, 1], "sentence1": ["a .", "b ."], "sentence2": ["c .", "d ."], "label": [0, 1]}
    )
    out = render(task, frame, "default")
    assert list(out["source"]) == ["rte sentence1: a . sentence2: c .",
                                   "rte sentence1: b . sentence2: d ."]
    assert list(out["target"]) == ["entailment", "not_entailment"]
    assert list(out["label"]) == [0, 1]


def test_registry_text_covers_prompts_and_labels():
    text = " ".join(registry.registry_text())
    for word in ("mnli", "hypothesis:", "premise:", "not_entailment", "3.8", "unacceptable"):
        assert word in text
