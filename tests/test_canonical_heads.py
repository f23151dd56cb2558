"""Canonical heads beyond classification: answer spans (with "unanswerable") and sequences."""

import pandas as pd
import pytest
import torch
from test_training import assert_fused_equals_per_task, tiny_t5
from transformers import AutoTokenizer

from taskconflict.batches import load_task_data
from taskconflict.models import IGNORE, SPAN_TARGET, TOKENS, Batch, _best_spans, build_model
from taskconflict.registry import get_task

TASKS = ("squad", "zre", "iwslt", "sst")


def test_best_span_is_the_highest_scoring_valid_pair():
    start = torch.tensor([[-1.0, 5.0, 1.0, 0.0]])  # best: start 1 (5) + end 3 (4) = 9
    end = torch.tensor([[9.0, 0.0, 1.0, 4.0]])  # (0, 0) scores 8; end 0 before start 1: barred
    assert _best_spans(start, end, None) == [(1, 3)]
    assert _best_spans(start, end, torch.tensor([2.0])) == [None]  # no-answer classifier wins
    assert _best_spans(start, end, torch.tensor([-2.0])) == [(1, 3)]


def mixed_batches() -> dict[str, Batch]:
    g = torch.Generator().manual_seed(0)
    batches = {}
    for i, task in enumerate(TASKS):
        n, length = 3 + i, 8 + i
        ids = torch.randint(2, 64, (n, length), generator=g)
        mask = torch.ones_like(ids)
        mask[0, -2:] = 0
        if task in ("squad", "zre"):
            targets = torch.tensor([[1, 2], [3, 3], [0, 4]] + [[-1, -1]] * (n - 3))
        elif task == "iwslt":
            targets = torch.randint(2, 64, (n, 4), generator=g)
            targets[0, -1] = IGNORE
        else:
            targets = torch.randint(0, 2, (n,), generator=g)
        batches[task] = Batch(ids, mask, targets)
    return batches


def test_canonical_heads_match_tasks_and_share_the_encoder():
    model = build_model("canonical", tiny_t5(), TASKS)
    assert [model.target(t) for t in TASKS] == [SPAN_TARGET, SPAN_TARGET, TOKENS, "label"]
    assert model.heads["zre"].no_answer is not None and model.heads["squad"].no_answer is None
    assert set(model.decoders) == {"iwslt"} and model.decoders["iwslt"].encoder is model.encoder


def test_fused_step_equals_per_task_with_span_and_sequence_heads():
    model = build_model("canonical", tiny_t5(), TASKS).double()
    fused = assert_fused_equals_per_task(model, mixed_batches())
    assert any("heads.zre.no_answer" in name for name in fused)


def test_unanswerable_is_predicted_and_written_out(toy_tokenizer_dir, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(toy_tokenizer_dir)
    model = build_model("canonical", tiny_t5(vocab=len(tokenizer)), ["zre"]).eval()
    frame = span_frame()
    frame.to_parquet(tmp_path / "test.parquet")
    data = load_task_data(get_task("zre"), tmp_path / "test.parquet", tokenizer, 64, 16,
                          target=SPAN_TARGET)
    batch = data.batch([0, 1])
    with torch.no_grad():
        model.heads["zre"].no_answer.bias.fill_(10.0)  # certain that nothing answers
        spans = model.predict("zre", batch, tokenizer, 8)
        assert [data.span_text(i, s) for i, s in enumerate(spans)] == ["unanswerable"] * 2
        model.heads["zre"].no_answer.bias.fill_(-10.0)
        spans = model.predict("zre", batch, tokenizer, 8)
    assert all(s is not None and s[0] <= s[1] for s in spans)


def span_frame() -> pd.DataFrame:
    contexts = ["anna bought the red car in paris .", "ben painted the old fence ."]
    questions = ["who bought the red car ?", "where did ben paint the fence ?"]
    answers, starts = ["the red car", "unanswerable"], [11, -1]
    return pd.DataFrame({
        "idx": [0, 1], "context": contexts, "question": questions, "answer": answers,
        "answer_start": starts,
        "source": [f"question: {q} context: {c}" for q, c in zip(questions, contexts,
                                                                   strict=True)],
        "target": answers,
    })


@pytest.mark.parametrize("max_length, lost", [(64, 0), (12, 1)])
def test_answer_spans_map_to_tokens_and_truncation_is_counted(toy_tokenizer_dir, tmp_path,
                                                             max_length, lost):
    tokenizer = AutoTokenizer.from_pretrained(toy_tokenizer_dir)
    span_frame().to_parquet(tmp_path / "s.parquet")
    data = load_task_data(get_task("squad"), tmp_path / "s.parquet", tokenizer, max_length, 16,
                          target=SPAN_TARGET)
    assert data.lost_answers == lost
    start, end = data.targets[0].tolist()
    if lost:
        assert (start, end) == (-1, -1)
    else:
        assert data.span_text(0, (start, end)) == "the red car"
    assert data.targets[1].tolist() == [-1, -1]  # no answer in the context
