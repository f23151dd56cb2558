"""Every gold answer, through the pipeline: real DecaNLP data (the exact on-disk fixtures of
test_decanlp_real) prepared and rendered to parquet, tokenised, and scored against all of a
question's gold answers; and the rows whose gold answer is no span of the context (QA-ZRE's
several answers), which text targets keep and span-head training skips."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
import torch
from test_decanlp_real import FRACTION, SEED, SQUAD_GOLD, write_decanlp
from toy_models import tiny_t5
from transformers import AutoTokenizer

from taskconflict import registry
from taskconflict.batches import BatchStream, eval_batches, load_task_data
from taskconflict.config import TaskDataConfig, TrainConfig
from taskconflict.data.decanlp_generated import NOT_A_SPAN
from taskconflict.data.prepare import prepare_task
from taskconflict.evaluate import predict_split, score_text
from taskconflict.models import SPAN_TARGET, TOKENS, build_model
from taskconflict.prompts import render_task


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    """squad and zre from decaNLP's .data layout: prepared (the data stage) and rendered in the
    default prompt style, as the workflow writes them."""
    root = tmp_path_factory.mktemp("gold")
    data_root = write_decanlp(root / ".data")
    folders = {}
    for task in ("squad", "zre"):
        cfg = TaskDataConfig(task, "local", SEED, 1, 1, FRACTION, 0.0, location=str(data_root))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prepare_task(cfg, root / "data" / task)
        render_task(task, "default", "default", SEED, root / "data" / task,
                    root / "rendered" / task)
        folders[task] = root / "rendered" / task
    return folders


@pytest.fixture(scope="module")
def tokenizer(toy_tokenizer_dir):
    return AutoTokenizer.from_pretrained(toy_tokenizer_dir)


def test_rendered_parquet_keeps_every_gold_answer(rendered):
    test = pd.read_parquet(rendered["squad"] / "test.parquet")
    assert [list(a) for a in test["answers"]] == [["berlin"], ["bark"], SQUAD_GOLD]
    assert test["target"].tolist() == ["berlin", "bark", "santa clara"]  # the first: the target


def test_squad_is_scored_against_every_gold_answer(rendered, tokenizer):
    """A prediction that matches the second gold answer gets full nF1, as in decaNLP (max over
    the gold answers); against the first answer alone it would get 0."""
    task = registry.get_task("squad")
    data = load_task_data(task, rendered["squad"] / "test.parquet", tokenizer, 64, 16, TOKENS)
    predictions = ["berlin", "bark", "levi's stadium"]
    assert score_text(task, predictions, data)["nf1"] == pytest.approx(100.0)
    first_only = data.frame.drop(columns="answers")
    data.frame = first_only
    assert score_text(task, predictions, data)["nf1"] == pytest.approx(200 / 3)


JOINED = "eve roe, fay roe"
"""QA-ZRE's two answers as decaNLP joins them; the seeded hold-out leaves this row in train."""


def test_zre_several_answers_are_a_text_target(rendered, tokenizer):
    task = registry.get_task("zre")
    path = rendered["zre"] / "train.parquet"
    train = pd.read_parquet(path)
    joined = train[train["answer"] == JOINED]
    assert joined["answer_start"].tolist() == [NOT_A_SPAN]
    assert joined["target"].tolist() == [JOINED]
    assert [list(a) for a in joined["answers"]] == [[JOINED]]  # one answer, as decaNLP scores
    data = load_task_data(task, path, tokenizer, 64, 16, TOKENS)
    assert data.trainable is None  # text-to-text training draws every row
    row = data.frame.index[data.frame["answer"] == JOINED][0]
    assert tokenizer.decode(data.targets[row], skip_special_tokens=True) == JOINED


def test_span_training_skips_rows_that_are_not_spans_with_a_count(rendered, tokenizer, capsys):
    task = registry.get_task("zre")
    path = rendered["zre"] / "train.parquet"
    frame = pd.read_parquet(path)
    data = load_task_data(task, path, tokenizer, 64, 16, SPAN_TARGET)
    skipped = [i for i, s in enumerate(frame["answer_start"]) if s == NOT_A_SPAN]
    assert skipped and data.not_spans == len(skipped) and data.lost_answers == 0
    assert data.trainable == [i for i in range(len(frame)) if i not in skipped]
    assert [data.targets[i].tolist() for i in skipped] == [[NOT_A_SPAN, NOT_A_SPAN]]
    unanswerable = frame.index[frame["answer"] == registry.UNANSWERABLE].tolist()
    assert all(data.targets[i].tolist() == [-1, -1] for i in unanswerable)
    message = capsys.readouterr().err
    assert f"zre: {len(skipped)} of {len(frame)} rows of {path}" in message
    assert "span-head training skips them" in message

    drawn: list[int] = []
    batch_of = data.batch

    def recorded(rows: list[int]):
        drawn.extend(rows)
        return batch_of(rows)

    data.batch = recorded  # type: ignore[method-assign]
    stream = BatchStream(data, batch_size=3, seed=0)
    for _ in range(20):
        assert (stream.next().targets != NOT_A_SPAN).all()
    del data.batch
    assert sorted(drawn[: len(data.trainable)]) == data.trainable  # an epoch: each row once
    assert set(drawn) == set(data.trainable)

    model = build_model("canonical", tiny_t5(vocab=len(tokenizer)), ["zre"])
    loss = model.task_losses({"zre": stream.next()})["zre"]
    assert torch.isfinite(loss)
    with pytest.raises(IndexError):  # a not-a-span target is accepted by no loss
        model.task_losses({"zre": data.batch(skipped)})


def test_a_stream_with_no_span_to_train_on_says_so(rendered, tokenizer):
    data = load_task_data(registry.get_task("zre"), rendered["zre"] / "train.parquet",
                          tokenizer, 64, 16, SPAN_TARGET)
    data.trainable = []
    with pytest.raises(ValueError, match="zre: no row to train a span head on"):
        BatchStream(data, batch_size=2, seed=0)


def test_span_head_evaluation_scores_not_a_span_rows_by_their_text(tmp_path, tokenizer):
    """Evaluation predicts every row and scores the predicted span's text against the gold
    text, whether or not the gold answer is a span."""
    task = registry.get_task("squad")
    contexts = ["anna bought the red car in paris .", "ben painted the old fence ."]
    questions = ["what did anna buy ?", "what did ben paint ?"]
    answers, starts = ["the red cars", "the old fence"], [NOT_A_SPAN, 11]
    frame = pd.DataFrame({
        "idx": [0, 1], "context": contexts, "question": questions, "answer": answers,
        "answers": [[a] for a in answers], "answer_start": starts,
        "source": [f"question: {q} context: {c}" for q, c in zip(questions, contexts,
                                                                   strict=True)],
        "target": answers,
    })  # fmt: skip
    frame.to_parquet(tmp_path / "test.parquet")
    data = load_task_data(task, tmp_path / "test.parquet", tokenizer, 64, 16, SPAN_TARGET)
    assert data.not_spans == 1
    assert sorted(r for rows, _ in eval_batches(data, 1) for r in rows) == [0, 1]

    def span_of(row: int, text: str) -> tuple[int, int]:
        begin = data.frame["source"][row].rindex(text)
        tokens = [i for i, (a, b) in enumerate(data.offsets[row])
                  if b > begin and a < begin + len(text) and b > a]
        return tokens[0], tokens[-1]

    predictions = [data.span_text(0, span_of(0, "the red car")),
                   data.span_text(1, span_of(1, "the old fence"))]
    assert predictions == ["the red car", "the old fence"]
    scores = score_text(task, predictions, data)
    assert scores["examples"] == 2
    assert scores["nf1"] == pytest.approx((50 + 100) / 2)  # {red, car} against {red, cars}

    model = build_model("canonical", tiny_t5(vocab=len(tokenizer)), ["squad"]).eval()
    result = predict_split(model, task, tmp_path / "test.parquet", tokenizer,
                           TrainConfig(max_input_length=64, device="cpu"))
    assert result["examples"] == 2 and 0 <= result["nf1"] <= 100
