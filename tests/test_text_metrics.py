"""DecaNLP text metrics against hand-computed values (arithmetic in the comments)."""

import math

import pytest
import sacrebleu

from taskconflict.text_metrics import (
    TEXT_METRICS,
    LogicalForm,
    bleu,
    corpus_f1,
    deca_score,
    em,
    lfem,
    nem,
    nf1,
    normalize_answer,
    parse_sql,
    rouge,
)

# --- normalisation and span metrics ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The  Cat!", "cat"),
        ("  An apple, a pear and THE plum. ", "apple pear and plum"),
        ("theatre", "theatre"),  # articles only as whole words
        ("U.S.A.", "usa"),
        ("", ""),
    ],
)
def test_normalize_answer(text, expected):
    assert normalize_answer(text) == expected


def test_em_is_strict_nem_forgives_case_punctuation_and_articles():
    predictions = ["The Cat!", "dog"]
    references = [["cat"], ["dog"]]
    # em: "The Cat!" != "cat", "dog" == "dog" -> 1/2
    assert em(predictions, references) == 50.0
    # nem: both normalise equal -> 2/2
    assert nem(predictions, references) == 100.0


def test_nf1_partial_overlap():
    # {red, car} vs {red, bicycle} after dropping "the"/"a": 1 shared token,
    # P = 1/2, R = 1/2, F1 = 1/2
    assert nf1(["the red car"], [["a red bicycle"]]) == pytest.approx(50.0)


def test_nf1_counts_repeated_tokens_as_bags():
    # pred [red, red, car], gold [red, car]: shared = min counts = 1 + 1 = 2
    # P = 2/3, R = 2/2, F1 = 2 * (2/3) / (5/3) = 4/5
    assert nf1(["red red car"], [["red car"]]) == pytest.approx(80.0)


def test_nf1_empty_answers():
    assert nf1([""], [[""]]) == 100.0  # both empty agree
    assert nf1(["the"], [["a"]]) == 100.0  # both empty after normalisation
    assert nf1([""], [["cat"]]) == 0.0
    assert nf1(["cat"], [[""]]) == 0.0


def test_max_over_references_then_mean_over_examples():
    predictions = ["red car", "blue"]
    references = [["green bicycle", "red bicycle", "red car"], ["green"]]
    # example 1: best reference is "red car" -> 1; example 2: 0 -> mean 1/2
    assert nf1(predictions, references) == pytest.approx(50.0)
    assert em(predictions, references) == pytest.approx(50.0)
    # best of F1s 0, 1/2, 1 is 1 even if listed first
    assert nf1(["red car"], [["red car", "red bicycle"]]) == pytest.approx(100.0)


def test_bad_inputs_fail_loudly():
    with pytest.raises(ValueError, match="2 predictions for 1"):
        em(["a", "b"], [["a"]])
    with pytest.raises(ValueError, match="no examples"):
        nf1([], [])
    with pytest.raises(TypeError, match="list of strings"):
        em(["paris"], ["paris"])  # a bare string would be scored letter by letter
    with pytest.raises(ValueError, match="no reference"):
        nem(["paris"], [[]])


# --- QA-ZRE corpus F1 ------------------------------------------------------------------------


def test_corpus_f1_with_unanswerable():
    golds = [["paris"], ["unanswerable"], ["anna"], ["unanswerable"]]
    predictions = ["paris", "unanswerable", "unanswerable", "ben"]
    # tp = 1 (paris); the correct "unanswerable" is no true positive.
    # answered = 2 (paris, ben) -> P = 1/2; answerable = 2 (paris, anna) -> R = 1/2
    # F1 = 2 * 1/4 / 1 = 1/2
    assert corpus_f1(predictions, golds) == pytest.approx(50.0)


def test_corpus_f1_precision_and_recall_differ():
    golds = [["paris"], ["anna"], ["bob"], ["unanswerable"]]
    predictions = ["paris", "anna", "unanswerable", "unanswerable"]
    # tp = 2; answered = 2 -> P = 1; answerable = 3 -> R = 2/3
    # F1 = 2 * (2/3) / (5/3) = 4/5
    assert corpus_f1(predictions, golds) == pytest.approx(80.0)


def test_corpus_f1_compares_token_sets():
    # punctuation, case, order and the/a/an/and do not matter
    golds = [["Paris and London"], ["the Eiffel Tower"], ["Unanswerable."]]
    predictions = ["london, paris", "eiffel tower", "unanswerable"]
    # tp = 2; answered = 2; answerable = 2 -> P = R = F1 = 1
    assert corpus_f1(predictions, golds) == pytest.approx(100.0)


def test_corpus_f1_uses_first_reference_only():
    assert corpus_f1(["rome"], [["paris", "rome"]]) == 0.0
    assert corpus_f1(["paris"], [["paris", "rome"]]) == 100.0


@pytest.mark.parametrize(
    ("predictions", "golds"),
    [
        (["unanswerable", "unanswerable"], [["unanswerable"], ["unanswerable"]]),  # nothing
        (["unanswerable", ""], [["paris"], ["anna"]]),  # never answers: P is 0/0
        (["paris", "anna"], [["unanswerable"], ["unanswerable"]]),  # nothing answerable
    ],
)
def test_corpus_f1_undefined_is_zero(predictions, golds):
    assert corpus_f1(predictions, golds) == 0.0


# --- WikiSQL logical forms -------------------------------------------------------------------

HEADERS = ["Name", "Age", "City", "Home team", "Home"]


def test_parse_sql_reads_select_aggregation_and_conditions():
    form = parse_sql("select count ( name ) from table where age = 30 and city = paris", HEADERS)
    # Name is column 0, Age 1, City 2
    assert form == LogicalForm(0, "count", frozenset({(1, "=", "30"), (2, "=", "paris")}))
    assert parse_sql("SELECT city FROM table", HEADERS) == LogicalForm(2, "none", frozenset())


def test_parse_sql_ignores_condition_order_case_and_spacing():
    reference = "select count ( name ) from table where age = 30 and city = paris"
    variants = [
        "SELECT COUNT(name) FROM table WHERE city = Paris AND age=30",
        "SELECT count name FROM table WHERE city = PARIS AND age = 30",  # decaNLP's own format
        "select  count ( name )  from table  where  age =  30 and city = paris ",
    ]
    expected = parse_sql(reference, HEADERS)
    assert expected is not None
    for variant in variants:
        assert parse_sql(variant, HEADERS) == expected
    assert lfem(variants, [[reference]] * 3, headers=[HEADERS] * 3) == 100.0


@pytest.mark.parametrize(
    "changed",
    [
        "select count ( name ) from table where age > 30 and city = paris",  # operator
        "select count ( name ) from table where age = 31 and city = paris",  # value
        "select count ( city ) from table where age = 30 and city = paris",  # selected column
        "select count ( name ) from table where name = 30 and city = paris",  # condition column
        "select max ( name ) from table where age = 30 and city = paris",  # aggregation
        "select name from table where age = 30 and city = paris",  # no aggregation
        "select count ( name ) from table where age = 30",  # a condition fewer
    ],
)
def test_any_structural_difference_scores_zero(changed):
    reference = "select count ( name ) from table where age = 30 and city = paris"
    assert parse_sql(changed, HEADERS) is not None
    assert lfem([changed], [[reference]], headers=[HEADERS]) == 0.0


def test_multi_word_header_matches_longest_first():
    form = parse_sql("select name from table where home team = st kilda", HEADERS)
    # "home team" (column 3), not "home" (column 4) with value "team = st kilda"
    assert form == LogicalForm(0, "none", frozenset({(3, "=", "st kilda")}))
    assert parse_sql("select home team from table", HEADERS) == LogicalForm(3, "none", frozenset())
    assert parse_sql("select home from table where home = x", HEADERS) == LogicalForm(
        4, "none", frozenset({(4, "=", "x")})
    )


def test_headers_with_brackets_and_values_with_and():
    headers = ["Player", "Height (m)", "Team"]
    form = parse_sql("SELECT max Height (m) FROM table WHERE team = tom and jerry", headers)
    assert form == LogicalForm(1, "max", frozenset({(2, "=", "tom and jerry")}))
    # " and " splits a value only where further conditions follow
    form = parse_sql(
        "select player from table where team = tom and jerry and height (m) > 2", headers
    )
    assert form == LogicalForm(0, "none", frozenset({(2, "=", "tom and jerry"), (1, ">", "2")}))


def test_header_named_like_an_aggregation():
    headers = ["Count", "Name"]
    assert parse_sql("select count from table", headers) == LogicalForm(0, "none", frozenset())
    assert parse_sql("select count name from table", headers) == LogicalForm(
        1, "count", frozenset()
    )
    assert parse_sql("select count count from table", headers) == LogicalForm(
        0, "count", frozenset()
    )


@pytest.mark.parametrize(
    "sql",
    [
        "",
        "hello world",
        "select salary from table",  # no such column
        "select name from table where salary = 3",  # no such column
        "select name from table where age ! 3",  # no such operator
        "select name from table where age =",  # no value
        "select name from table where",  # no condition
        "select median name from table",  # no such aggregation
        "select name from people",  # decaNLP queries read from "table"
    ],
)
def test_unparseable_is_none_and_scores_zero(sql):
    assert parse_sql(sql, HEADERS) is None
    assert lfem([sql], [[sql]], headers=[HEADERS]) == 0.0  # None never matches, not even None


def test_lfem_is_per_example_with_its_own_table():
    predictions = ["select b from table", "select b from table"]
    references = [["select b from table"], ["select b from table"]]
    headers = [["a", "b"], ["c", "d"]]  # "b" is no column of the second table
    assert lfem(predictions, references, headers=headers) == 50.0
    with pytest.raises(ValueError, match="header lists"):
        lfem(predictions, references, headers=headers[:1])


def test_lfem_takes_the_best_reference():
    sql = "select name from table where age = 3"
    assert lfem([sql], [["not sql", sql]], headers=[HEADERS]) == 100.0


# --- ROUGE and BLEU --------------------------------------------------------------------------


def test_rouge_identical_is_100():
    text = "police arrested two men on friday ."
    assert rouge([text], [[text]]) == pytest.approx(100.0)


def test_rouge_by_hand():
    # pred "the cat ran" vs gold "the cat sat":
    # ROUGE-1: shared {the, cat} = 2 of 3 each way -> F = 2/3
    # ROUGE-2: bigrams {the cat, cat ran} vs {the cat, cat sat}, shared 1 of 2 -> F = 1/2
    # ROUGE-L: longest common subsequence "the cat" = 2 of 3 -> F = 2/3
    # mean = (2/3 + 1/2 + 2/3) / 3 = 11/18
    assert rouge(["the cat ran"], [["the cat sat"]]) == pytest.approx(100 * 11 / 18)


def test_rouge_max_over_references_and_mean_over_examples():
    # example 1: best reference is the identical one -> 1; example 2: 11/18 as above
    predictions = ["a b c", "the cat ran"]
    references = [["x y z", "a b c"], ["the cat sat"]]
    assert rouge(predictions, references) == pytest.approx(100 * (1 + 11 / 18) / 2)


def test_bleu_identical_is_100_and_lowercases():
    hyps = ["The Cat sat on the Mat .", "A dog barked at the postman today"]
    refs = [["the cat sat on the mat ."], ["a dog barked at the postman today"]]
    assert bleu(hyps, refs) == pytest.approx(100.0)


def test_bleu_matches_sacrebleu_with_first_reference():
    hyps = ["the cat is on the mat today", "there is a dog in the garden"]
    refs = [["The cat sat on the mat today", "ignored"], ["A dog is in the garden"]]
    expected = sacrebleu.corpus_bleu(
        hyps, [["The cat sat on the mat today", "A dog is in the garden"]], lowercase=True
    ).score
    assert 0 < expected < 100
    assert bleu(hyps, refs) == pytest.approx(expected)


def test_bleu_is_corpus_level_not_effective_order():
    # "the cat" has no 3- or 4-grams, so plain corpus BLEU is 0 even for a perfect match:
    # the exact call decaNLP makes, kept so scores stay comparable
    assert bleu(["The Cat"], [["the cat"]]) == 0.0


# --- decaScore and the registry --------------------------------------------------------------


def test_deca_score_sums():
    # 75.5 + 20.25 + 4.25 = 100
    assert deca_score({"squad": 75.5, "iwslt": 20.25, "wikisql": 4.25}) == pytest.approx(100.0)
    assert deca_score({}) == 0.0


def test_text_metrics_registry():
    assert set(TEXT_METRICS) == {"em", "nem", "nf1", "corpus_f1", "lfem", "rouge", "bleu"}
    for name, metric in TEXT_METRICS.items():
        if name == "lfem":
            value = metric(["select a from table"], [["select a from table"]], headers=[["a"]])
        else:
            value = metric(["the cat sat on the mat"], [["the cat sat on the mat"]])
        assert math.isclose(value, 100.0), name
