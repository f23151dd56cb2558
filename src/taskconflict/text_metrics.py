"""Scoring generated text on the DecaNLP tasks, as decaNLP's `metrics.py` does (each x100).

The paper scores with a copy of that file, so each metric here follows its definitions,
quirks included. Every metric takes the generated texts and, per example, a list of gold
answers: an example may have several, and it scores as the best of them (max over
references), then examples are averaged. The exceptions say so: QA-ZRE's corpus F1 is
corpus-level over the union of an example's answers, IWSLT's BLEU is corpus-level over the
first reference, CNN/DM's ROUGE pools the references as ROUGE-1.5.5 does, and WikiSQL's
logical-form match also needs each table's headers.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import sacrebleu
from rouge_score import rouge_scorer, tokenizers

from taskconflict.registry import UNANSWERABLE

# ---------------------------------------------------------------------------------------------
# Shared plumbing


def _check(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> None:
    """Fail loudly on inputs that would silently score the wrong thing.

    A bare string is itself a sequence of strings, so `references=["paris"]` would score
    against the characters "p", "a", ...; an example with no gold answer has no max.
    """
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    if not predictions:
        raise ValueError("no examples to score")
    for i, refs in enumerate(references):
        if isinstance(refs, str):
            raise TypeError(f"example {i}: references must be a list of strings, not a string")
        if not refs:
            raise ValueError(f"example {i} has no reference answer")


def _best_average(
    predictions: Sequence[str],
    references: Sequence[Sequence[str]],
    score: Callable[[str, str], float],
) -> float:
    """Each example scores as its best reference; the examples' mean, x100."""
    _check(predictions, references)
    pairs = zip(predictions, references, strict=True)
    total = sum(max(score(p, r) for r in refs) for p, refs in pairs)
    return 100 * total / len(predictions)


# ---------------------------------------------------------------------------------------------
# SQuAD-style span metrics (SQuAD, QA-SRL, Winograd, MNLI, SST)

_PUNCTUATION = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """Lowercase, drop punctuation and the articles a/an/the, collapse whitespace (SQuAD)."""
    text = "".join(c for c in text.lower() if c not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _exact(prediction: str, reference: str) -> float:
    return float(prediction == reference)


def _token_f1(prediction: str, reference: str) -> float:
    """SQuAD token F1 over bags of normalised tokens; two empty answers agree fully."""
    pred, gold = normalize_answer(prediction).split(), normalize_answer(reference).split()
    if not pred or not gold:
        return float(pred == gold)
    same = sum((Counter(pred) & Counter(gold)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(gold)
    return 2 * precision * recall / (precision + recall)


def em(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Exact string match, with no normalisation at all (decaNLP's `em`)."""
    return _best_average(predictions, references, _exact)


def nf1(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """SQuAD token F1 after `normalize_answer`: partial credit for partly right spans."""
    return _best_average(predictions, references, _token_f1)


# ---------------------------------------------------------------------------------------------
# QA-ZRE corpus F1

_ZRE_STOPWORDS = frozenset({"the", "a", "an", "and"})
_NO_ANSWER = frozenset({UNANSWERABLE})


def _answer_set(text: str) -> frozenset[str]:
    """The set of tokens of `normalize_answer(text)`, less the/a/an/and (decaNLP's `simplify`).

    Empty for an empty answer, which is not the same as the answer {"unanswerable"}.
    """
    return frozenset(normalize_answer(text).split()) - _ZRE_STOPWORDS


def corpus_f1(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """QA-ZRE F1 over the corpus, counted as decaNLP's `computeCF1`/`score` count it.

    An example's gold is the union of its references' token sets (`_answer_set`). It is a
    true positive if the prediction's set equals the gold and the gold is not exactly
    {"unanswerable"}; a system positive if the prediction is not exactly {"unanswerable"}:
    so an empty prediction is a positive (a wrong answer), not an abstention; a real positive
    if the gold is not exactly {"unanswerable"}. P = tp / system, R = tp / real; 0.0 if tp = 0.
    """
    _check(predictions, references)
    tp = system = real = 0
    for prediction, refs in zip(predictions, references, strict=True):
        gold = frozenset().union(*(_answer_set(r) for r in refs))
        answer = _answer_set(prediction)
        tp += answer == gold and gold != _NO_ANSWER
        system += answer != _NO_ANSWER
        real += gold != _NO_ANSWER
    if tp == 0:
        return 0.0
    precision, recall = tp / system, tp / real
    return 100 * 2 * precision * recall / (precision + recall)


# ---------------------------------------------------------------------------------------------
# WikiSQL logical-form exact match

AGGREGATIONS = ("max", "min", "count", "sum", "avg")
"""Aggregation keywords; a query without one has aggregation "none"."""
OPERATORS = ("=", ">", "<")

_SPACED = re.compile(r"\s*([()=<>])\s*")
_QUERY = re.compile(r"^select (.+?) from table(?: where (.+))?$")


class LogicalForm(NamedTuple):
    """A WikiSQL query as decaNLP's `to_lf` structures it: `{sel, agg, conds}`."""

    select: int
    """Index of the selected column in the table's headers."""
    aggregation: str
    """Either "none" or one of AGGREGATIONS."""
    conditions: tuple[tuple[int, str, str], ...]
    """(column index, operator, value) triples in the query's order, which counts: decaNLP
    compares its parsed `conds` list to WikiSQL's as lists."""


def _canonical(text: str) -> str:
    """Lowercase, space out brackets and operators, collapse whitespace.

    Applied alike to queries, headers and values, so `count(name)`, `age=30` and
    `Height (m)` all line up token by token.
    """
    return " ".join(_SPACED.sub(r" \1 ", text.lower()).split())


def _column(text: str, columns: Mapping[str, int]) -> int | None:
    """The column a select clause names, bare or in brackets as in `count ( name )`."""
    if text in columns:
        return columns[text]
    if text.startswith("( ") and text.endswith(" )"):
        return columns.get(text[2:-2])
    return None


def _select(text: str, columns: Mapping[str, int]) -> tuple[int, str] | None:
    """(column, aggregation) of a select clause.

    A leading aggregation keyword is read as one whenever the rest names a column; only
    otherwise is the whole clause tried as a column name (a header such as "count").
    """
    head, _, rest = text.partition(" ")
    if head in AGGREGATIONS and rest:
        column = _column(rest, columns)
        if column is not None:
            return column, head
    column = _column(text, columns)
    return None if column is None else (column, "none")


def _conditions(
    text: str, headers: Sequence[str], columns: Mapping[str, int]
) -> list[tuple[int, str, str]] | None:
    """Conditions `<column> <op> <value> and ...`, or None if the text is not such a list.

    Column names are matched against the headers, longest first, since they may contain
    spaces. A value may contain " and ": it is split there only if what follows parses as
    further conditions, taking the earliest such split.
    """
    for header in headers:
        for op in OPERATORS:
            prefix = f"{header} {op} "
            if not text.startswith(prefix):
                continue
            rest = text[len(prefix) :]
            condition = (columns[header], op)
            for match in re.finditer(" and ", rest):
                value, tail = rest[: match.start()], rest[match.end() :]
                following = _conditions(tail, headers, columns) if value else None
                if following is not None:
                    return [(*condition, value), *following]
            if rest:
                return [(*condition, rest)]
    return None


def parse_sql(sql: str, headers: Sequence[str]) -> LogicalForm | None:
    """Parse `select [agg] <col> from table [where <col> <op> <value> and ...]`.

    decaNLP's format (`SELECT count name FROM table WHERE ...`) and the bracketed
    `select count ( name ) ...` both parse. Case and whitespace do not matter, in the query,
    the headers or the values; the order of the conditions is kept. Returns None for
    anything else: unparseable is wrong.
    """
    columns: dict[str, int] = {}
    for i, header in enumerate(headers):
        columns.setdefault(_canonical(header), i)  # a repeated header means its first column
    by_length = sorted((h for h in columns if h), key=len, reverse=True)
    match = _QUERY.match(_canonical(sql))
    if match is None:
        return None
    selected = _select(match.group(1), columns)
    if selected is None:
        return None
    conditions: list[tuple[int, str, str]] = []
    if match.group(2) is not None:
        parsed = _conditions(match.group(2), by_length, columns)
        if parsed is None:
            return None
        conditions = parsed
    return LogicalForm(selected[0], selected[1], tuple(conditions))


def lfem(
    predictions: Sequence[str],
    references: Sequence[Sequence[str]],
    headers: Sequence[Sequence[str]],
) -> float:
    """WikiSQL logical-form exact match (decaNLP's `computeLFEM`): the same selected column,
    aggregation and conditions, the conditions in the same order; case and spacing aside.

    decaNLP compares `to_lf(prediction)` with WikiSQL's gold `sql` dict, whose `conds` is
    a list, so `where a = 1 and b = 2` does not match `where b = 2 and a = 1`.

    `headers[i]` are the column names of example i's table (the task's `headers` column,
    which its registry entry's metric passes by keyword).
    A prediction or reference that does not parse never matches.
    """
    if len(headers) != len(predictions):
        raise ValueError(f"{len(predictions)} predictions for {len(headers)} header lists")
    _check(predictions, references)
    hits = 0
    for prediction, refs, table in zip(predictions, references, headers, strict=True):
        predicted = parse_sql(prediction, table)
        if predicted is not None and any(parse_sql(r, table) == predicted for r in refs):
            hits += 1
    return 100 * hits / len(predictions)


# ---------------------------------------------------------------------------------------------
# Summarisation and translation

_ROUGE_TYPES = {"rouge1": 1, "rouge2": 2, "rougeLsum": 1}
"""rouge_score type -> n of the units it counts (rougeLsum counts tokens, like unigrams)."""
_ROUGE = rouge_scorer.RougeScorer(list(_ROUGE_TYPES), use_stemmer=True)
_ROUGE_TOKENS = tokenizers.DefaultTokenizer(use_stemmer=True)


def _sentences(text: str) -> str:
    """decaNLP's `split_sentences`: split at every ".", even in "3.5" or "u.s.", drop empty
    pieces, one whitespace-collapsed sentence a line (the line breaks rougeLsum reads)."""
    pieces = (" ".join(piece.split()) for piece in text.strip().split("."))
    return "\n".join(piece for piece in pieces if piece)


def _rouge(prediction: str, references: Sequence[str]) -> float:
    """Mean of the ROUGE-1, ROUGE-2 and ROUGE-L F-measures of one example.

    Several references pool as ROUGE-1.5.5's default "model average" (`-f A`) pools them:
    hits and reference units are summed over references and the prediction's units counted
    once per reference, so R = sum(hits) / sum(ref units), P = sum(hits) / (k * pred units).
    With one reference this is plain ROUGE.
    """
    summary = _sentences(prediction)
    targets = [_sentences(r) for r in references]
    summary_tokens = len(_ROUGE_TOKENS.tokenize(summary))
    target_tokens = [len(_ROUGE_TOKENS.tokenize(t)) for t in targets]
    scores = [_ROUGE.score(t, summary) for t in targets]  # rouge_score takes (target, pred)
    total = 0.0
    for rouge_type, n in _ROUGE_TYPES.items():
        units = [max(length - n + 1, 0) for length in target_tokens]
        hits = sum(round(s[rouge_type].recall * u) for s, u in zip(scores, units, strict=True))
        predicted = len(targets) * max(summary_tokens - n + 1, 0)
        if hits:
            recall, precision = hits / sum(units), hits / predicted
            total += 2 * precision * recall / (precision + recall)
    return total / len(_ROUGE_TYPES)


def rouge(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """CNN/DM as decaNLP's `computeROUGE`: the examples' mean of ROUGE-1, -2 and -L F.

    decaNLP runs ROUGE-1.5.5 with `-m -n 2` (Porter stemmer, no stopword removal, F with
    alpha 0.5) on the texts split into sentences at "." (`_sentences`). ROUGE-L is then
    summary-level (union LCS over sentences): rouge_score's rougeLsum on the sentences one a
    line. ROUGE-1/2 n-grams run across sentence ends, as in ROUGE-1.5.5. The tokeniser is
    rouge_score's (lowercase, alphanumeric tokens, stems tokens over 3 characters). Several
    references are pooled, not maxed over (see `_rouge`). An empty prediction scores 0.
    """
    _check(predictions, references)
    pairs = zip(predictions, references, strict=True)
    return 100 * sum(_rouge(p, refs) for p, refs in pairs) / len(predictions)


def bleu(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """IWSLT: sacrebleu corpus BLEU, lowercased, 13a tokeniser, first reference per example.

    Corpus BLEU is not an average over examples, and decaNLP's data have one reference per
    sentence, so extra references are ignored rather than turned into reference streams.
    """
    _check(predictions, references)
    first = [refs[0] for refs in references]
    return float(sacrebleu.corpus_bleu(list(predictions), [first], lowercase=True).score)
