"""Architectures, the multi-task step, conflict probes, and reproducible training."""

import json

import pandas as pd
import pytest
import torch
from toy_models import TASKS, hand_gram, random_batches, tiny_t5
from transformers import T5ForConditionalGeneration

from taskconflict.batches import STEP_MODES, step_groups
from taskconflict.config import TrainConfig
from taskconflict.conflict import frame_to_grams
from taskconflict.evaluate import evaluate_cell
from taskconflict.factors import ARCHITECTURE
from taskconflict.grid import Cell
from taskconflict.models import IGNORE, Batch, build_model
from taskconflict.probe import measure_grams
from taskconflict.train import train_cell


def gradients(model) -> dict[str, torch.Tensor]:
    return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("architecture", ARCHITECTURE.names)
def test_fused_step_gives_the_sum_of_per_task_gradients(architecture):
    """In float64, so that only a real difference (not summation order) can fail it."""
    model = build_model(architecture, tiny_t5(), TASKS).double()
    batches = random_batches(generative=model.target("cola") == "tokens")
    for batch in batches.values():
        if batch.targets.is_floating_point():
            batch.targets = batch.targets.double()

    fused = assert_fused_equals_per_task(model, batches)
    assert len(fused) > 10


def assert_fused_equals_per_task(model, batches) -> dict[str, torch.Tensor]:
    """One pass over the concatenated batches gives the per-task gradients' sum (float64)."""
    sum(model.task_losses(batches).values()).backward()
    fused = gradients(model)
    model.zero_grad(set_to_none=True)
    for task, batch in batches.items():
        model.task_losses({task: batch})[task].backward()
    per_task = gradients(model)
    assert fused.keys() == per_task.keys()
    for name in fused:
        torch.testing.assert_close(fused[name], per_task[name], rtol=1e-9, atol=1e-12,
                                   msg=lambda m, n=name: f"{n}: {m}")
    return fused


def test_text_to_text_id_shares_the_encoder_and_copies_the_decoder():
    t5 = tiny_t5()
    model = build_model("text-to-text-id", t5, TASKS)
    for decoder in model.decoders.values():
        assert decoder.encoder is model.encoder
    first, second = (model.decoders[t].decoder.block[0].layer[0].SelfAttention.q.weight
                     for t in TASKS[:2])
    assert first is not second and torch.equal(first, second)
    losses = model.task_losses(random_batches(generative=True))
    losses["cola"].backward()
    assert model.decoders["stsb"].decoder.block[0].layer[0].SelfAttention.q.weight.grad is None
    assert model.encoder.block[0].layer[0].SelfAttention.q.weight.grad is not None


def test_canonical_pooling_ignores_padding():
    model = build_model("canonical", tiny_t5(), TASKS).eval()
    ids = torch.tensor([[5, 6, 7, 1]])
    padded = torch.tensor([[5, 6, 7, 1, 0, 0]])
    a = model._encode(ids, torch.ones_like(ids))[1]
    b = model._encode(padded, (padded != 0).long())[1]
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_conflict_probe_gram_matches_hand_computed_gradients():
    model = build_model("text-to-text", tiny_t5(), TASKS)
    batches = random_batches(generative=True)
    params = list(model.encoder_parameters().values())
    expected = hand_gram(model, batches, params)
    grams = measure_grams(model, {t: [b] for t, b in batches.items()}, {"encoder": params})
    assert grams["encoder"].shape == (3, 3)
    torch.testing.assert_close(torch.tensor(grams["encoder"]), expected, rtol=1e-4, atol=1e-8)
    assert all(p.grad is None for p in model.parameters())


SMALL = TrainConfig(steps=6, batch_size=4, max_input_length=48, log_every=2, conflict_every=3,
                    conflict_batches=2, conflict_batch_size=4, eval_batch_size=16)


@pytest.mark.parametrize("architecture", ARCHITECTURE.names)
def test_training_twice_gives_identical_results(toy_run_inputs, tmp_path, architecture):
    folder, data = toy_run_inputs
    cell = Cell("glue", "small", architecture, "multi", seed=3)
    outputs = []
    for run in ("a", "b"):
        out = tmp_path / run
        train_cell(cell, SMALL, folder, {t: d / "train.parquet" for t, d in data.items()}, out)
        evaluate_cell(cell, SMALL, folder, out / "model.safetensors", data, out / "metrics.json")
        outputs.append(out)
    a, b = outputs
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()
    assert json.loads((a / "metrics.json").read_text()) == json.loads(
        (b / "metrics.json").read_text())
    pd.testing.assert_frame_equal(pd.read_parquet(a / "train_log.parquet"),
                                  pd.read_parquet(b / "train_log.parquet"))

    log = pd.read_parquet(a / "train_log.parquet")
    assert list(log.columns) == ["step", "task", "loss", "learning_rate", "grad_norm"]
    assert sorted(log["step"].unique()) == [2, 4, 6] and set(log["task"]) == set(TASKS)
    grams = frame_to_grams(pd.read_parquet(a / "conflict.parquet"))
    assert sorted(step for step, _ in grams) == [0, 3, 6]
    metrics = json.loads((a / "metrics.json").read_text())
    assert metrics["cell"] == cell.id
    assert set(metrics["tasks"]["mnli"]) == {"validation", "test", "test_mismatched"}
    assert metrics["tasks"]["cola"]["test"]["examples"] == 24
    assert set(metrics["tasks"]["stsb"]["test"]) == {"spearman", "pearson", "bad_outputs",
                                                    "examples"}


def test_single_task_cell_logs_no_conflict_and_uses_its_lr(toy_run_inputs, tmp_path):
    folder, data = toy_run_inputs
    cell = Cell("glue", "small", "text-to-text", "cola")
    cfg = TrainConfig(**{**SMALL.__dict__, "lr_single_task": 2e-4})
    train_cell(cell, cfg, folder, {"cola": data["cola"] / "train.parquet"}, tmp_path)
    assert pd.read_parquet(tmp_path / "conflict.parquet").empty
    log = pd.read_parquet(tmp_path / "train_log.parquet")
    assert set(log["learning_rate"]) == {2e-4} and set(log["task"]) == {"cola"}


def test_nan_loss_stops_the_run_naming_the_cell(toy_run_inputs, tmp_path):
    folder, data = toy_run_inputs
    cell = Cell("glue", "small", "canonical", "cola")
    cfg = TrainConfig(**{**SMALL.__dict__, "lr_single_task": 1e30})
    with pytest.raises(FloatingPointError, match=r"glue/small/canonical/cola/.*step \d"):
        train_cell(cell, cfg, folder, {"cola": data["cola"] / "train.parquet"}, tmp_path)
    assert not (tmp_path / "model.safetensors").exists()


def test_weights_round_trip_and_refuse_another_architecture(tmp_path):
    from taskconflict.weights import load_weights, save_weights

    model = build_model("text-to-text-id", tiny_t5(), TASKS)
    save_weights(model, tmp_path / "a.safetensors")
    save_weights(model, tmp_path / "b.safetensors")
    assert (tmp_path / "a.safetensors").read_bytes() == (tmp_path / "b.safetensors").read_bytes()
    torch.manual_seed(5)
    other = build_model("text-to-text-id", tiny_t5(), TASKS)
    for p in other.parameters():
        torch.nn.init.normal_(p)
    load_weights(other, tmp_path / "a.safetensors")
    for (name, a), b in zip(model.state_dict().items(), other.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert other.decoders["cola"].encoder is other.encoder  # sharing survives loading
    with pytest.raises(ValueError, match="a.safetensors"):
        load_weights(build_model("canonical", tiny_t5(), TASKS), tmp_path / "a.safetensors")


def test_step_groups_split_tasks_by_input_width():
    def batch(width):
        return Batch(torch.ones(2, width, dtype=torch.long), torch.ones(2, width), torch.zeros(2))

    batches = {"a": batch(30), "b": batch(10), "c": batch(12), "d": batch(36), "e": batch(13)}
    assert step_groups(batches, "fused") == [["a", "b", "c", "d", "e"]]
    assert step_groups(batches, "per-task") == [["a"], ["b"], ["c"], ["d"], ["e"]]
    # 12 and 13 are within 1.3x of 10; 36 is within 1.3x of 30
    assert step_groups(batches, "grouped") == [["b", "c", "e"], ["a", "d"]]
    with pytest.raises(ValueError, match="unknown step_mode 'bogus'"):
        step_groups(batches, "bogus")


def test_every_step_mode_trains_like_the_fused_one(toy_run_inputs, tmp_path):
    """Same gradients, so the same training up to float rounding."""
    folder, data = toy_run_inputs
    cell = Cell("glue", "small", "text-to-text", "multi", seed=1)
    logs = {}
    for mode in STEP_MODES:
        cfg = TrainConfig(**{**SMALL.__dict__, "step_mode": mode, "conflict_every": 0})
        out = tmp_path / mode
        train_cell(cell, cfg, folder, {t: d / "train.parquet" for t, d in data.items()}, out)
        logs[mode] = pd.read_parquet(out / "train_log.parquet")
    for mode in ("per-task", "grouped"):
        pd.testing.assert_frame_equal(logs["fused"], logs[mode], rtol=1e-4)


def test_teacher_forced_scoring_matches_greedy_decoding_on_the_first_token(toy_run_inputs):
    """At the first target position both condition on the start token only, so the paper's
    teacher-forced argmax equals greedy decoding there; it answers with exactly as many
    tokens as the gold target, whatever it predicts."""
    folder, _ = toy_run_inputs
    model = build_model("text-to-text", T5ForConditionalGeneration.from_pretrained(folder),
                        ["cola"]).eval()
    g = torch.Generator().manual_seed(0)
    inputs = torch.randint(5, 60, (6, 9), generator=g)
    batch = Batch(inputs, torch.ones_like(inputs), torch.randint(5, 50, (6, 4), generator=g))
    batch.targets[0, 2:] = IGNORE  # a shorter gold target: padding stays padding
    with torch.no_grad():
        forced = model.teacher_forced_tokens("cola", batch)
        greedy = model.t5.generate(input_ids=inputs, attention_mask=torch.ones_like(inputs),
                                   max_new_tokens=1, do_sample=False, num_beams=1)
    assert forced.shape == (6, 4)
    assert torch.equal(forced[:, 0], greedy[:, 1])  # generate's first column is the start
    assert (forced[0, 2:] == model.t5.config.pad_token_id).all()


def test_evaluation_in_teacher_forced_mode_scores_every_task(toy_run_inputs, tmp_path):
    folder, data = toy_run_inputs
    cell = Cell("glue", "small", "text-to-text", "multi", seed=3)
    train_cell(cell, SMALL, folder, {t: d / "train.parquet" for t, d in data.items()}, tmp_path)
    forced = TrainConfig(**{**SMALL.__dict__, "eval_mode": "teacher_forced"})
    evaluate_cell(cell, forced, folder, tmp_path / "model.safetensors", data, tmp_path / "m.json")
    metrics = json.loads((tmp_path / "m.json").read_text())["tasks"]
    assert metrics["cola"]["test"]["examples"] == 24 and "spearman" in metrics["stsb"]["test"]
