"""Metrics against hand-computed values, and how bad outputs are parsed and scored."""

import math
import warnings

import numpy as np
import pytest
from scipy.stats import pearsonr

from taskconflict import registry
from taskconflict.metrics import (
    accuracy,
    f1,
    mcc,
    parse_prediction,
    pearson,
    score,
    spearman,
)

TASK = registry.get_task


def arrays(*values: list[float]) -> list[np.ndarray]:
    return [np.asarray(v) for v in values]


LABEL_TASKS = [t for t in registry.TASKS.values()
               if t.kind in (registry.CLASSIFICATION, registry.REGRESSION)]


def test_every_registry_metric_and_parser_is_a_function_of_its_module():
    """Label tasks are scored here; span and sequence tasks by text_metrics."""
    from taskconflict import metrics, text_metrics

    for task in registry.TASKS.values():
        module = metrics if task in LABEL_TASKS else text_metrics
        for metric in task.metric_fns:
            assert registry.resolve(metric.function) is getattr(module, metric.name), task.name
        assert callable(registry.resolve(task.parse)), task.name
    assert [m.inputs for m in TASK("wikisql").metric_fns] == [("headers",)]


def test_mcc_by_hand():
    # TP=2 (0, 4), FP=1 (1), TN=2 (2, 3), FN=0
    # (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (4 - 0) / sqrt(3*2*3*2) = 4/6
    assert mcc(*arrays([1, 1, 0, 0, 1], [1, 0, 0, 0, 1])) == pytest.approx(100 * 4 / 6)


def test_accuracy_by_hand():
    # 4 of 5 agree (all but position 1)
    assert accuracy(*arrays([1, 1, 0, 0, 1], [1, 0, 0, 0, 1])) == pytest.approx(80.0)


def test_f1_by_hand():
    # preds  1 0 1 1 0 0
    # labels 1 1 0 1 0 1  -> TP=2 (0, 3), FP=1 (2), FN=2 (1, 5)
    # precision 2/3, recall 2/4; F1 = 2*(2/3)*(1/2) / (2/3 + 1/2) = (2/3) / (7/6) = 4/7
    assert f1(*arrays([1, 0, 1, 1, 0, 0], [1, 1, 0, 1, 0, 1])) == pytest.approx(100 * 4 / 7)


def test_f1_positive_class_is_one():
    # only class 0 is right: TP=0 for class 1, so F1=0 although accuracy is 50
    assert f1(*arrays([0, 0], [0, 1])) == 0.0


def test_spearman_by_hand():
    # reversed ranks -> -1
    assert spearman(*arrays([1, 2, 3, 4], [40, 30, 20, 10])) == pytest.approx(-100.0)
    # d = -1, 1, -1, 1, 0; sum d^2 = 4; rho = 1 - 6*4 / (5*(25-1)) = 1 - 24/120 = 0.8
    assert spearman(*arrays([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])) == pytest.approx(80.0)


def test_pearson_by_hand():
    # y = 2x + 1 exactly -> 1
    assert pearson(*arrays([1, 2, 3], [3, 5, 7])) == pytest.approx(100.0)
    # centred x = -1, 0, 1 and y = -1, 1, 0: sum xy = 1, sum x^2 = sum y^2 = 2; r = 1/2
    assert pearson(*arrays([1, 2, 3], [1, 3, 2])) == pytest.approx(50.0)


@pytest.mark.parametrize("metric", [mcc, spearman, pearson])
@pytest.mark.parametrize(
    ("predictions", "labels"),
    [([1, 1, 1], [1, 0, 1]), ([0, 1, 1], [1, 1, 1]), ([1, 1, 1], [1, 1, 1])],
)
def test_constant_side_has_no_correlation(metric, predictions, labels):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert metric(*arrays(predictions, labels)) == 0.0


@pytest.mark.parametrize(
    ("task", "text", "expected"),
    [
        ("cola", "acceptable", 1),
        ("cola", "unacceptable", 0),
        ("rte", " not_entailment ", 1),
        ("rte", "entailment", 0),
        ("rte", "maybe", None),
        ("rte", "", None),
        ("mnli", "contradiction\n", 2),
        ("stsb", "3.8", 3.8),
        ("stsb", " 0.0 ", 0.0),
        ("stsb", "three", None),
        ("stsb", "nan", None),
        ("stsb", "inf", None),
        ("stsb", "-inf", None),
    ],
)
def test_parse_prediction(task, text, expected):  # by each task's own parser
    parsed = parse_prediction(TASK(task), text)
    if expected is None:
        assert parsed is None
    else:
        assert parsed == expected and type(parsed) is type(expected)


def test_bad_output_counts_as_wrong():
    # the None on gold 1 becomes class 0: 2 of 3 right
    result = score(TASK("rte"), [0, None, 1], [0, 1, 1])
    assert result == {"accuracy": pytest.approx(100 * 2 / 3), "bad_outputs": 1, "examples": 3}


def test_bad_output_on_positive_gold_is_a_false_negative():
    labels = [1, 1, 0, 0]
    result = score(TASK("mrpc"), [1, None, 0, 1], labels)
    # as predicting [1, 0, 0, 1]: TP=1, FN=1, FP=1, TN=1 -> accuracy 2/4, F1 = 2*1/(2+1+1)
    assert result["accuracy"] == pytest.approx(50.0)
    assert result["f1"] == pytest.approx(50.0)
    assert result["bad_outputs"] == 1
    same = score(TASK("mrpc"), [1, 0, 0, 1], labels)
    assert (same["accuracy"], same["f1"]) == (result["accuracy"], result["f1"])


def test_bad_output_on_negative_gold_is_a_false_positive():
    # as predicting [1, 1, 1, 1] for [1, 1, 0, 0]: TP=2, FP=2 -> F1 = 2*2 / (2*2 + 2) = 4/6
    result = score(TASK("mrpc"), [1, 1, None, 1], [1, 1, 0, 0])
    assert result["f1"] == pytest.approx(100 * 4 / 6)
    assert result["accuracy"] == pytest.approx(50.0)


def test_bad_output_lowers_mcc():
    # as predicting [1, 0, 1, 0] for [1, 1, 0, 0]: TP=TN=FP=FN=1 -> (1 - 1) / ... = 0
    assert score(TASK("cola"), [1, None, None, 0], [1, 1, 0, 0])["mcc"] == 0.0


def test_bad_regression_output_is_minus_one():
    labels = [1.2, 2.0, 2.8, 4.4]
    result = score(TASK("stsb"), [1.0, None, 3.0, 4.0], labels)
    imputed = [1.0, -1.0, 3.0, 4.0]
    # ranks of imputed 2, 1, 3, 4 vs 1, 2, 3, 4: sum d^2 = 2; rho = 1 - 6*2 / (4*15) = 0.8
    assert result["spearman"] == pytest.approx(80.0)
    assert result["pearson"] == pytest.approx(100 * pearsonr(imputed, labels).statistic)
    assert result["bad_outputs"] == 1 and result["examples"] == 4


def test_bad_output_is_never_right_on_three_classes():
    assert score(TASK("mnli"), [None, None, None], [0, 1, 2])["accuracy"] == 0.0
    assert score(TASK("mnli"), [None, 1, 2], [0, 1, 2])["accuracy"] == pytest.approx(200 / 3)


def test_score_has_every_metric_of_the_task():
    for task in LABEL_TASKS:
        labels = [0.0, 1.0, 1.0] if task.kind == registry.REGRESSION else [0, 1, 1]
        result = score(task, [0, 1, None], labels)
        assert list(result) == [*task.metrics, "bad_outputs", "examples"], task.name
        assert not any(math.isnan(v) for v in result.values()), task.name


def test_length_mismatch_names_the_task():
    with pytest.raises(ValueError, match="rte"):
        score(TASK("rte"), [0, 1], [0, 1, 1])


@pytest.mark.parametrize(("task", "prediction"), [("rte", 2), ("mnli", 3), ("cola", -1)])
def test_out_of_range_prediction_names_the_task(task, prediction):
    with pytest.raises(ValueError, match=task):
        score(TASK(task), [prediction], [0])


def test_label_that_is_no_class_names_the_task():
    with pytest.raises(ValueError, match="mnli"):
        score(TASK("mnli"), [None], [-1])


@pytest.mark.parametrize(("text", "expected"), [("the fence", "the fence"), (" x ", " x "),
                                                ("", None), (" \n", None)])
def test_text_answers_parse_as_themselves_and_empty_ones_are_bad(text, expected):
    assert parse_prediction(TASK("squad"), text) == expected
