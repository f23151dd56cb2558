"""The task registry and the text-to-text rendering of its tasks."""

import pandas as pd
import pytest

from taskconflict import registry
from taskconflict.metrics import parse_prediction
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


# score, paper ('{:.1f}' of the raw score), t5 (round(score * 5) / 5, then '{:.1f}'); both
# roundings are half-to-even, as Python's and TensorFlow's are.
STSB_TARGETS = [
    (3.14, "3.1", "3.2"),  # t5: 15.7 -> 16 -> 3.2
    (2.25, "2.2", "2.2"),  # paper: exactly half, to even; t5: 11.25 -> 11 -> 2.2
    (2.32, "2.3", "2.4"),  # t5: 11.6 -> 12 -> 2.4
    (0.05, "0.1", "0.0"),  # paper: 0.05 is stored a hair above 0.05; t5: 0.25 -> 0
    (4.9, "4.9", "4.8"),  # t5: 24.5 -> 24 (half to even) -> 4.8
    (3.75, "3.8", "3.8"),  # paper: exactly half, to even; t5: 18.75 -> 19 -> 3.8
    (3.77, "3.8", "3.8"),
    (5.0, "5.0", "5.0"),
    (0.0, "0.0", "0.0"),
]


@pytest.mark.parametrize(("score", "paper", "t5"), STSB_TARGETS)
def test_stsb_targets_paper_by_default_t5_rounding_on_request(score, paper, t5):
    stsb = registry.get_task("stsb")
    assert render_target(stsb, score) == paper  # the default is the paper's code
    assert render_target(stsb, score, stsb_target="paper") == paper
    assert render_target(stsb, score, stsb_target="t5") == t5


def test_render_passes_the_stsb_target_format_and_evaluation_parses_both():
    stsb = registry.get_task("stsb")
    scores = [score for score, _, _ in STSB_TARGETS]
    frame = pd.DataFrame({"idx": range(len(scores)), "sentence1": ["a ."] * len(scores),
                          "sentence2": ["b ."] * len(scores), "label": scores})
    for style in ("default", "diverse"):
        for fmt, column in (("paper", 1), ("t5", 2)):
            out = render(stsb, frame, style, stsb_target=fmt, split="test")
            assert list(out["target"]) == [row[column] for row in STSB_TARGETS]
            assert list(out["label"]) == scores  # the gold score stays raw
            for target in out["target"]:
                assert parse_prediction(stsb, target) == float(target)
    assert list(render(stsb, frame, "default")["target"]) == [p for _, p, _ in STSB_TARGETS]
    with pytest.raises(ValueError, match="unknown STS-B target format 'round'.*paper, t5"):
        render(stsb, frame, "default", stsb_target="round")
    rte = registry.get_task("rte")  # other tasks ignore it (but a typo is still refused)
    pairs = pd.DataFrame({"idx": [0], "sentence1": ["a ."], "sentence2": ["b ."], "label": [1]})
    assert list(render(rte, pairs, "default", stsb_target="t5")["target"]) == ["not_entailment"]


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
    words = set(text.split())  # every STS-B target either format writes, 0.0 ... 5.0
    assert {f"{x / 10:.1f}" for x in range(51)} <= words
