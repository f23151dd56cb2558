"""DecaNLP text metrics against hand-computed values (arithmetic in the comments)."""

import math

import pytest
import sacrebleu

from taskconflict import registry
from taskconflict.text_metrics import (
    LogicalForm,
    bleu,
    corpus_f1,
    em,
    lfem,
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


def test_em_is_strict():
    predictions = ["The Cat!", "dog"]
    references = [["cat"], ["dog"]]
    # em: "The Cat!" != "cat", "dog" == "dog" -> 1/2
    assert em(predictions, references) == 50.0


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
        em(["paris"], [[]])


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


def test_corpus_f1_gold_is_the_union_of_the_references():
    # decaNLP's `score`: gold = union of the references' token sets = {paris, rome}
    assert corpus_f1(["rome"], [["paris", "rome"]]) == 0.0  # {rome} != {paris, rome}
    assert corpus_f1(["paris"], [["paris", "rome"]]) == 0.0  # {paris} != {paris, rome}
    assert corpus_f1(["rome and paris"], [["paris", "rome"]]) == 100.0  # tp = sys = real = 1


def test_corpus_f1_empty_prediction_is_a_system_positive():
    golds = [["paris"], ["anna"], ["unanswerable"], ["unanswerable"]]
    predictions = ["paris", "", "", "unanswerable"]
    # "" is no abstention: its set {} is not exactly {unanswerable}, so it is a system
    # positive, wrong for "anna" and a false positive where the gold is "unanswerable".
    # tp = 1 (paris); system positives = paris, "", "" = 3; real positives = paris, anna = 2
    # P = 1/3, R = 1/2, F1 = 2 * (1/6) / (5/6) = 2/5
    assert corpus_f1(predictions, golds) == pytest.approx(40.0)
    # were "" an abstention like "unanswerable", P would be 1/1 and F1 = 2 * (1/2) / (3/2) = 2/3
    assert corpus_f1(["paris", "unanswerable", "unanswerable", "unanswerable"], golds) == (
        pytest.approx(100 * 2 / 3)
    )


def test_corpus_f1_only_exactly_unanswerable_abstains():
    golds = [["paris"], ["unanswerable"]]
    # "the unanswerable." simplifies to {unanswerable}: an abstention (no system positive),
    # and a true negative on the second example; "paris unanswerable" is an answer, and wrong.
    # tp = 1, system = 1 (paris), real = 1 -> F1 = 1
    assert corpus_f1(["paris", "the unanswerable."], golds) == pytest.approx(100.0)
    # tp = 1, system = 2, real = 1 -> P = 1/2, R = 1, F1 = 2 * (1/2) / (3/2) = 2/3
    assert corpus_f1(["paris", "paris unanswerable"], golds) == pytest.approx(100 * 2 / 3)


def test_corpus_f1_empty_prediction_matching_an_empty_gold_is_a_true_positive():
    # gold "the" simplifies to {} (articles go), which is not {unanswerable}: a real positive,
    # and the empty prediction's {} equals it: tp = system = real = 1
    assert corpus_f1([""], [["the"]]) == pytest.approx(100.0)


@pytest.mark.parametrize(
    ("predictions", "golds"),
    [
        (["unanswerable", "unanswerable"], [["unanswerable"], ["unanswerable"]]),  # nothing
        (["unanswerable", ""], [["paris"], ["anna"]]),  # answers wrongly once: tp = 0
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
    assert form == LogicalForm(0, "count", ((1, "=", "30"), (2, "=", "paris")))
    assert parse_sql("SELECT city FROM table", HEADERS) == LogicalForm(2, "none", ())


def test_parse_sql_ignores_case_and_spacing():
    reference = "select count ( name ) from table where age = 30 and city = paris"
    variants = [
        "SELECT COUNT(name) FROM table WHERE age=30 AND city = Paris",
        "SELECT count name FROM table WHERE age = 30 AND city = PARIS",  # decaNLP's own format
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


def test_lfem_compares_conditions_in_order():
    # decaNLP compares the parsed `conds` list with WikiSQL's list: order counts
    reference = "select name from table where age = 30 and city = paris"
    same = "SELECT name FROM table WHERE age=30 AND city = Paris"
    swapped = "select name from table where city = paris and age = 30"
    # Age is column 1, City 2: the swapped query lists (2, ...) first
    assert parse_sql(same, HEADERS) == LogicalForm(0, "none", ((1, "=", "30"), (2, "=", "paris")))
    assert parse_sql(swapped, HEADERS) == LogicalForm(
        0, "none", ((2, "=", "paris"), (1, "=", "30"))
    )
    assert lfem([same], [[reference]], headers=[HEADERS]) == 100.0
    assert lfem([swapped], [[reference]], headers=[HEADERS]) == 0.0
    # one hit of two examples -> 1/2
    assert lfem([same, swapped], [[reference]] * 2, headers=[HEADERS] * 2) == 50.0


def test_multi_word_header_matches_longest_first():
    form = parse_sql("select name from table where home team = st kilda", HEADERS)
    # "home team" (column 3), not "home" (column 4) with value "team = st kilda"
    assert form == LogicalForm(0, "none", ((3, "=", "st kilda"),))
    assert parse_sql("select home team from table", HEADERS) == LogicalForm(3, "none", ())
    assert parse_sql("select home from table where home = x", HEADERS) == LogicalForm(
        4, "none", ((4, "=", "x"),)
    )


def test_headers_with_brackets_and_values_with_and():
    headers = ["Player", "Height (m)", "Team"]
    form = parse_sql("SELECT max Height (m) FROM table WHERE team = tom and jerry", headers)
    assert form == LogicalForm(1, "max", ((2, "=", "tom and jerry"),))
    # " and " splits a value only where further conditions follow
    form = parse_sql(
        "select player from table where team = tom and jerry and height (m) > 2", headers
    )
    assert form == LogicalForm(0, "none", ((2, "=", "tom and jerry"), (1, ">", "2")))


def test_header_named_like_an_aggregation():
    headers = ["Count", "Name"]
    assert parse_sql("select count from table", headers) == LogicalForm(0, "none", ())
    assert parse_sql("select count name from table", headers) == LogicalForm(1, "count", ())
    assert parse_sql("select count count from table", headers) == LogicalForm(0, "count", ())


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


def test_rouge_stems():
    # Porter: "runs" and "running" both stem to "run", so all 4 tokens match: R1 = R2 = RL = 1
    assert rouge(["the dog runs fast"], [["the dog running fast"]]) == pytest.approx(100.0)
    # unstemmed they would not: R1 = 3/4, R2 = 1/3 (the dog), RL = 3/4 -> mean 11/18 < 1


def test_rouge_l_is_summary_level_over_sentences_split_at_dots():
    # gold sentences [police arrived] [the man fled]; prediction [the man fled] [police arrived]
    # ROUGE-1: the same 5 tokens -> 1
    # ROUGE-2 (n-grams run across sentence ends): gold police-arrived, arrived-the, the-man,
    #   man-fled; pred the-man, man-fled, fled-police, police-arrived: 3 of 4 shared -> 3/4
    # ROUGE-Lsum: union LCS of gold sentence 1 with the prediction's sentences = 2 tokens,
    #   of gold sentence 2 = 3 tokens: 5 of 5 -> 1
    #   (sentence-level ROUGE-L would take one LCS, "the man fled" = 3 of 5 -> 3/5)
    # mean = (1 + 3/4 + 1) / 3 = 11/12, not (1 + 3/4 + 3/5) / 3 = 47/60
    score = rouge(["the man fled. police arrived."], [["police arrived. the man fled"]])
    assert score == pytest.approx(100 * 11 / 12)


def test_rouge_splits_sentences_at_every_dot_even_in_numbers():
    # decaNLP splits "it rose 3.5" into [it rose 3] [5]; the prediction is one sentence
    # ROUGE-1: tokens it rose 3 5 vs it rose 5 3 -> 4 of 4 -> 1
    # ROUGE-2: it-rose, rose-3, 3-5 vs it-rose, rose-5, 5-3: 1 of 3 -> 1/3
    # ROUGE-Lsum: LCS([it rose 3], pred) = 3, LCS([5], pred) = 1 -> 4 of 4 -> 1
    #   (unsplit, LCS(it rose 3 5, it rose 5 3) = 3 of 4)
    # mean = (1 + 1/3 + 1) / 3 = 7/9
    assert rouge(["it rose 5 3"], [["it rose 3.5"]]) == pytest.approx(100 * 7 / 9)


def test_rouge_pools_references_as_rouge_155_model_average():
    # pred "the cat sat" (3 tokens, 2 bigrams), golds "the cat sat" and "the dog" (k = 2)
    # ROUGE-1: hits 3 + 1 (the), gold units 3 + 2 -> R = 4/5; P = 4 / (2 * 3) = 2/3
    #   F = 2 * (4/5) * (2/3) / (4/5 + 2/3) = (16/15) / (22/15) = 8/11
    # ROUGE-2: hits 2 + 0, gold units 2 + 1 -> R = 2/3; P = 2 / (2 * 2) = 1/2
    #   F = 2 * (2/3) * (1/2) / (2/3 + 1/2) = (2/3) / (7/6) = 4/7
    # ROUGE-Lsum: LCS 3 + 1, as ROUGE-1 -> 8/11
    # mean = (8/11 + 4/7 + 8/11) / 3 = (168 + 132 + 168) / 231 / 3 = 156/231 = 52/77
    # (the max over references would be 1)
    assert rouge(["the cat sat"], [["the cat sat", "the dog"]]) == pytest.approx(100 * 52 / 77)


def test_rouge_mean_over_examples_and_empty_prediction():
    # example 1: 11/18 as in test_rouge_by_hand; example 2: empty prediction -> 0
    predictions = ["the cat ran", ""]
    references = [["the cat sat"], ["the dog barked"]]
    assert rouge(predictions, references) == pytest.approx(100 * (11 / 18 + 0) / 2)
    assert rouge([" . . "], [["the dog barked"]]) == 0.0  # only dots: no sentence at all


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


# --- the registry ------------------------------------------------------------------------------


def test_every_text_metric_the_registry_names_scores_a_perfect_answer_100():
    named = {m.name: m for t in registry.TASKS.values()
             if t.kind in (registry.SPAN, registry.SEQUENCE) for m in t.metric_fns}
    assert set(named) == {"em", "nf1", "corpus_f1", "lfem", "rouge", "bleu"}
    for name, metric in named.items():
        inputs = {"headers": [["a"]]} if metric.inputs else {}
        answer = "select a from table" if name == "lfem" else "the cat sat on the mat"
        value = registry.resolve(metric.function)([answer], [[answer]], **inputs)
        assert math.isclose(value, 100.0), name
