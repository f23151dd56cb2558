"""Gradient-noise estimates (noise.py) on vectors whose noise is known, and the probe's
micro-batch norms (probe.py, probe_norms.parquet) on a tiny real model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from toy_models import TASKS, Interrupted, random_batches, tiny_t5

from taskconflict.config import TrainConfig
from taskconflict.conflict import gram_matrix, gram_to_frame
from taskconflict.grid import Cell
from taskconflict.models import build_model
from taskconflict.noise import (
    NOISE_COLUMNS,
    NORM_COLUMNS,
    noise_estimates,
    noise_scales,
    norms_to_frame,
    pooled_noise_scale,
    write_noise_table,
)
from taskconflict.probe import flat_gradient, measure_grams, measure_probe
from taskconflict.provenance import DataSource, Provenance


def frames(step_norms: dict[int, tuple[list[float], list[int], float]], part="encoder",
           task="cola") -> tuple[pd.DataFrame, pd.DataFrame]:
    """conflict.parquet and probe_norms.parquet frames of one task: {step: (micro-batch
    squared norms, their example counts, big-batch squared norm)}."""
    conflict = pd.concat([gram_to_frame(step, part, [task], np.array([[big]]))
                          for step, (_, _, big) in step_norms.items()], ignore_index=True)
    norms = pd.concat([norms_to_frame(step, {part: {task: micro}}, {task: sizes})
                       for step, (micro, sizes, _) in step_norms.items()], ignore_index=True)
    return conflict, norms


# -- hand-computed cases ----------------------------------------------------------------


def test_a_hand_computed_case_to_the_digit():
    """Per-example gradients (1,0), (3,0) | (0,2), (2,2): micro-batch means (2,0) and (1,2),
    squared norms 4 and 5; big-batch mean (1.5,1), squared norm 3.25. B_small 2, B_big 4:
    |G|^2 = (4 * 3.25 - 2 * 4.5) / 2 = 2, tr = (4.5 - 3.25) / (1/2 - 1/4) = 5, B_simple 2.5."""
    examples = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    micro = examples.reshape(2, 2, 2).mean(axis=1)
    micro_sq = (micro**2).sum(axis=1).tolist()
    big_sq = float((examples.mean(axis=0) ** 2).sum())
    assert micro_sq == [4.0, 5.0] and big_sq == 3.25
    conflict, norms = frames({7: (micro_sq, [2, 2], big_sq)})
    row = noise_scales(conflict, norms).iloc[0]
    assert (row["step"], row["part"], row["task"]) == (7, "encoder", "cola")
    assert (row["micro_batches"], row["examples"]) == (2, 4)
    assert (row["b_small"], row["b_big"]) == (2.0, 4.0)
    assert (row["small_sq_norm"], row["big_sq_norm"]) == (4.5, 3.25)
    assert row["grad_sq_norm"] == 2.0
    assert row["trace_cov"] == 5.0
    assert row["noise_scale"] == 2.5
    assert not row["nonpositive_grad_sq_norm"]


def test_one_micro_batch_gives_no_estimate():
    conflict, norms = frames({0: ([4.0], [8], 4.0)})
    row = noise_scales(conflict, norms).iloc[0]
    assert row["b_small"] == row["b_big"] == 8.0
    assert np.isnan([row["grad_sq_norm"], row["trace_cov"], row["noise_scale"]]).all()
    assert not row["nonpositive_grad_sq_norm"]


def test_a_nonpositive_gradient_estimate_is_flagged_and_gives_no_noise_scale():
    """Micro-batches far noisier than their mean: |G|^2 = (2 * 1 - 1 * 10) / 1 = -8."""
    conflict, norms = frames({0: ([10.0, 10.0], [1, 1], 1.0)})
    row = noise_scales(conflict, norms).iloc[0]
    assert row["grad_sq_norm"] == -8.0  # kept: unbiased, for averaging over steps
    assert row["trace_cov"] == 18.0
    assert np.isnan(row["noise_scale"]) and row["nonpositive_grad_sq_norm"]


def test_unequal_micro_batches_use_the_harmonic_mean_size():
    """Sizes 1 and 3: B_small = 1 / mean(1, 1/3) = 1.5, B_big = 2 * 1.5 = 3."""
    conflict, norms = frames({0: ([9.0, 5.0], [1, 3], 4.0)})
    row = noise_scales(conflict, norms).iloc[0]
    assert (row["b_small"], row["b_big"], row["examples"]) == (1.5, 3.0, 4)
    assert row["grad_sq_norm"] == pytest.approx((3 * 4 - 1.5 * 7) / 1.5)
    assert row["trace_cov"] == pytest.approx((7 - 4) / (1 / 1.5 - 1 / 3))


def test_frames_have_the_documented_dtypes_empty_or_not():
    empty = norms_to_frame(0, {}, {})
    assert empty.empty and dict(empty.dtypes.astype(str)) == NORM_COLUMNS
    conflict, norms = frames({0: ([1.0, 2.0], [4, 4], 1.0), 5: ([3.0, 2.0], [4, 4], 2.0)})
    assert dict(norms.dtypes.astype(str)) == NORM_COLUMNS
    assert norms["micro_batch"].tolist() == [0, 1, 0, 1]
    for frame in (noise_scales(conflict, norms), noise_scales(conflict, empty)):
        assert dict(frame.dtypes.astype(str)) == NOISE_COLUMNS


def test_norms_without_their_gram_diagonal_are_an_error():
    conflict, norms = frames({0: ([1.0, 2.0], [4, 4], 1.0)})
    with pytest.raises(ValueError, match="no Gram diagonal"):
        noise_scales(conflict, norms.assign(task="mnli"))
    with pytest.raises(ValueError, match="twice"):
        noise_scales(conflict, pd.concat([norms, norms]))
    with pytest.raises(ValueError, match="lacks columns"):
        noise_scales(conflict, norms.drop(columns="examples"))
    # a Gram diagonal without norms (a run from before they were kept): no row, no error
    assert noise_scales(conflict, norms.iloc[:0]).empty


def test_pooling_averages_the_estimates_before_dividing():
    conflict, norms = frames({0: ([4.0, 5.0], [2, 2], 3.25), 1: ([10.0, 10.0], [1, 1], 1.0),
                              2: ([4.0], [2], 4.0)})
    pooled = pooled_noise_scale(noise_scales(conflict, norms)).iloc[0]
    assert pooled["steps"] == 2  # step 2 has one micro-batch: no estimate
    assert pooled["grad_sq_norm"] == (2.0 - 8.0) / 2 and pooled["trace_cov"] == (5 + 18) / 2
    assert np.isnan(pooled["noise_scale"])  # mean |G|^2 negative
    pooled = pooled_noise_scale(noise_scales(*frames({0: ([4.0, 5.0], [2, 2], 3.25)})))
    assert pooled["noise_scale"].tolist() == [2.5]


def test_the_table_files_name_cells_in_words_and_say_what_was_run(tmp_path):
    conflict, norms = frames({0: ([4.0, 5.0], [2, 2], 3.25)})
    cell = Cell("glue", "small", "text-to-text", "multi", seed=1)
    folder = tmp_path / "runs" / cell.id
    folder.mkdir(parents=True)
    conflict.to_parquet(folder / "conflict.parquet")
    norms.to_parquet(folder / "probe_norms.parquet")
    provenance = Provenance("demo", (DataSource("glue", "generated"),), "small: tiny", True,
                            200, 16, 1)
    table = write_noise_table([folder / "conflict.parquet"], tmp_path / "noise.csv",
                              tmp_path / "noise.html", provenance)
    assert table["cell"].tolist() == [cell.id] and table["noise_scale"].tolist() == [2.5]
    page = (tmp_path / "noise.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and provenance.sentence() in page
    assert f"<th scope=\"row\">{cell.title}</th>" in page  # the cell in words, not its id
    assert '<td class="num">2.5</td>' in page and cell.id not in page


# -- sampled gradients of known noise ----------------------------------------------------


def sample(rng, mean: np.ndarray, noise: np.ndarray, draws: int, sizes: list[int]):
    """`draws` measurements: per micro-batch j, the mean of sizes[j] per-example gradients
    g_i = G + A z_i (z_i standard normal, so Sigma = A A^T). Returns the micro-batch squared
    norms (draws x n) and the big batch's (the mean of the micro-batch means)."""
    micro = np.stack([(mean + rng.standard_normal((draws, b, noise.shape[1])) @ noise.T
                       ).mean(axis=1) for b in sizes], axis=1)
    return (micro**2).sum(axis=2), (micro.mean(axis=1) ** 2).sum(axis=1)


def within(values: np.ndarray, truth: float, sigmas: float = 4.0) -> bool:
    error = values.std(ddof=1) / np.sqrt(len(values))
    return abs(values.mean() - truth) < sigmas * error


def test_isotropic_noise_is_recovered_in_expectation():
    """G with |G|^2 = 1 in d = 16, noise sigma^2 I with sigma = 0.5: tr(Sigma) = 4,
    B_simple = 4. n = 4 micro-batches of b = 4."""
    rng = np.random.default_rng(0)
    d, sigma, b, n, draws = 16, 0.5, 4, 4, 20_000
    mean = np.full(d, 1 / np.sqrt(d))
    small, big = sample(rng, mean, sigma * np.eye(d), draws, [b] * n)
    grad, trace, _ = noise_estimates(small.mean(axis=1), big, b, n * b)
    assert within(grad, 1.0) and within(trace, sigma**2 * d)
    assert grad.mean() == pytest.approx(1.0, rel=0.02)
    assert trace.mean() == pytest.approx(4.0, rel=0.02)
    assert trace.mean() / grad.mean() == pytest.approx(4.0, rel=0.03)
    # what the correction removes: |G_big|^2 is biased by tr(Sigma) / B_big = 0.25
    assert big.mean() == pytest.approx(1.25, rel=0.02) and not within(big, 1.0)


def test_correlated_noise_and_unequal_micro_batches_through_the_frames():
    """Sigma = A A^T of a random A (tr = |A|_F^2), micro-batches of 1, 3 and 8 examples,
    each draw one step of a conflict/probe_norms pair of frames."""
    rng = np.random.default_rng(1)
    d, draws, sizes = 8, 8_000, [1, 3, 8]
    mean = rng.standard_normal(d)
    noise = rng.standard_normal((d, d)) * 0.7
    small, big = sample(rng, mean, noise, draws, sizes)
    conflict, norms = frames({step: (small[step].tolist(), sizes, float(big[step]))
                              for step in range(draws)})
    scales = noise_scales(conflict, norms)
    assert len(scales) == draws and (scales["b_big"] == 3 / (1 + 1 / 3 + 1 / 8) * 3).all()
    truth_grad, truth_trace = float(mean @ mean), float((noise**2).sum())
    assert within(scales["grad_sq_norm"].to_numpy(), truth_grad)
    assert within(scales["trace_cov"].to_numpy(), truth_trace)
    pooled = pooled_noise_scale(scales).iloc[0]
    assert pooled["steps"] == draws
    assert pooled["noise_scale"] == pytest.approx(truth_trace / truth_grad, rel=0.05)


def test_the_estimates_are_exact_for_any_draw_in_their_expectation_identity():
    """Whatever the draw, the estimates invert E|G_B|^2 = |G|^2 + tr / B at both sizes."""
    rng = np.random.default_rng(2)
    small, big = rng.uniform(1, 3, 50), rng.uniform(0.5, 1, 50)
    grad, trace, scale = noise_estimates(small, big, 4, 32)
    np.testing.assert_allclose(grad + trace / 4, small, rtol=1e-12)
    np.testing.assert_allclose(grad + trace / 32, big, rtol=1e-12)
    np.testing.assert_allclose(scale, np.where(grad > 0, trace / grad, np.nan))


# -- the probe on a tiny model -----------------------------------------------------------


MICRO_BATCHES = 3


def probe_inputs(decoder: bool = True):
    model = build_model("text-to-text", tiny_t5(), TASKS)
    parts = {"encoder": list(model.encoder_parameters().values())}
    if decoder:
        parts["decoder"] = list(model.decoder_parameters().values())
    draws = [random_batches(generative=True, seed=s) for s in range(1, MICRO_BATCHES + 1)]
    return model, {t: [d[t] for d in draws] for t in TASKS}, parts


def accumulated_grams(model, batches, parts):
    """The probe as it was before micro-batch norms: the micro-batches' gradients summed in
    `.grad`, flattened once per task (CPU: `.grad` zeroed in place)."""
    model.eval()
    vectors = {part: [] for part in parts}
    for task, task_batches in batches.items():
        model.zero_grad(set_to_none=False)
        for batch in task_batches:
            (model.task_losses({task: batch})[task] / len(task_batches)).backward()
        for part, params in parts.items():
            vectors[part].append(flat_gradient(params))
    model.zero_grad(set_to_none=True)
    model.train()
    return {part: gram_matrix(vs) for part, vs in vectors.items()}


def test_probe_grams_are_bit_for_bit_those_of_accumulating_in_grad():
    model, batches, parts = probe_inputs()
    expected = accumulated_grams(model, batches, parts)
    probe = measure_probe(model, batches, parts)
    assert probe.tasks == TASKS and set(probe.grams) == {"encoder", "decoder"}
    for part in parts:
        assert np.array_equal(probe.grams[part], expected[part])
        assert np.array_equal(measure_grams(model, batches, parts)[part], expected[part])
    assert model.training and all(p.grad is None for p in model.parameters())


def test_micro_batch_norms_are_each_micro_batch_gradients_norm():
    model, batches, parts = probe_inputs()
    probe = measure_probe(model, batches, parts)
    model.eval()
    for task, task_batches in batches.items():
        for j, batch in enumerate(task_batches):
            for part, params in parts.items():
                grads = torch.autograd.grad(model.task_losses({task: batch})[task], params,
                                            allow_unused=True)
                flat = torch.cat([(g if g is not None else torch.zeros_like(p)).flatten()
                                  for g, p in zip(grads, params, strict=True)]).double()
                assert probe.micro_norms[part][task][j] == pytest.approx(
                    float(flat @ flat), rel=1e-5)


def test_probe_norm_rows_and_jensen_on_a_tiny_model():
    model, batches, parts = probe_inputs()
    probe = measure_probe(model, batches, parts)
    frame = probe.norms_frame(step=3)
    assert dict(frame.dtypes.astype(str)) == NORM_COLUMNS
    assert len(frame) == len(parts) * len(TASKS) * MICRO_BATCHES
    assert (frame["step"] == 3).all() and (frame["sq_norm"] > 0).all()
    sizes = frame.groupby("task")["examples"].unique().map(list).to_dict()
    assert sizes == {t: [len(batches[t][0])] for t in TASKS}
    conflict = pd.concat([gram_to_frame(3, part, probe.tasks, gram)
                          for part, gram in probe.grams.items()], ignore_index=True)
    scales = noise_scales(conflict, frame)
    assert len(scales) == len(parts) * len(TASKS)
    # the big gradient is the mean of the micro-batch gradients: |mean|^2 <= mean |.|^2
    assert (scales["small_sq_norm"] >= scales["big_sq_norm"]).all()
    assert (scales["b_big"] == MICRO_BATCHES * scales["b_small"]).all()
    assert np.isfinite(scales[["grad_sq_norm", "trace_cov"]].to_numpy()).all()


# -- training writes probe_norms.parquet, resumed runs too --------------------------------


SHORT = TrainConfig(steps=6, batch_size=4, max_input_length=48, log_every=2, conflict_every=3,
                    conflict_batches=2, conflict_batch_size=4, eval_batch_size=16,
                    checkpoint_every=2)


def train_paths(data):
    return {t: d / "train.parquet" for t, d in data.items()}


def interrupt_after_checkpoint(monkeypatch, step: int) -> list[int]:
    """Make `train_cell` raise Interrupted right after it writes the checkpoint of `step`
    (as toy_models' helper, finding the LoopState among save_state's arguments)."""
    from taskconflict import train

    real_save, stop_at = train.save_state, [step]

    def save_then_stop(*args, **kwargs):
        real_save(*args, **kwargs)
        loop = next(a for a in (*args, *kwargs.values()) if isinstance(a, train.LoopState))
        if loop.step in stop_at:
            raise Interrupted

    monkeypatch.setattr(train, "save_state", save_then_stop)
    return stop_at


def test_training_writes_probe_norms_and_a_resumed_run_the_same(toy_run_inputs, tmp_path,
                                                                monkeypatch):
    from taskconflict.train import train_cell

    folder, data = toy_run_inputs
    cell = Cell("glue", "small", "text-to-text", "multi", seed=3)
    train_cell(cell, SHORT, folder, train_paths(data), tmp_path / "whole")
    norms = pd.read_parquet(tmp_path / "whole" / "probe_norms.parquet")
    assert dict(norms.dtypes.astype(str)) == NORM_COLUMNS
    assert sorted(norms["step"].unique()) == [0, 3, 6]
    assert set(norms["task"]) == set(TASKS) and set(norms["examples"]) == {4}
    assert len(norms) == 3 * norms["part"].nunique() * len(TASKS) * SHORT.conflict_batches
    scales = noise_scales(pd.read_parquet(tmp_path / "whole" / "conflict.parquet"), norms)
    assert (scales["small_sq_norm"] >= scales["big_sq_norm"]).all()

    stop_at = interrupt_after_checkpoint(monkeypatch, 4)
    with pytest.raises(Interrupted):
        train_cell(cell, SHORT, folder, train_paths(data), tmp_path / "resumed")
    stop_at.clear()
    train_cell(cell, SHORT, folder, train_paths(data), tmp_path / "resumed")
    pd.testing.assert_frame_equal(norms, pd.read_parquet(tmp_path / "resumed"
                                                         / "probe_norms.parquet"),
                                  check_exact=True)


def test_a_single_task_cell_writes_an_empty_typed_probe_norms(toy_run_inputs, tmp_path):
    from taskconflict.train import train_cell

    folder, data = toy_run_inputs
    train_cell(Cell("glue", "small", "text-to-text", "cola"), SHORT, folder,
               {"cola": data["cola"] / "train.parquet"}, tmp_path)
    norms = pd.read_parquet(tmp_path / "probe_norms.parquet")
    assert norms.empty and dict(norms.dtypes.astype(str)) == NORM_COLUMNS
