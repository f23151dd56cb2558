"""The aggregated multi-task step: shared parameters follow TorchJD's weighting of the task
gradients, task-specific ones their own task's gradient, and `sum` stays the paper's step."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from toy_models import TASKS, random_batches, tiny_t5

from taskconflict import aggregators, factors
from taskconflict.config import TrainConfig
from taskconflict.grid import Cell
from taskconflict.models import build_model
from taskconflict.train import AggregatedStep, multitask_step, train_cell

U = {"a": torch.tensor([1.0, 0.0]), "b": torch.tensor([-2.0, 0.5])}
"""Gradients of the two tasks' losses in the shared parameter: cosine -0.97, and their sum
(-1, 0.5) would undo task a's progress."""
SMALL = TrainConfig(steps=3, batch_size=4, max_input_length=48, log_every=1, conflict_every=3,
                    conflict_batches=1, conflict_batch_size=4, eval_batch_size=16)


class TwoTasks(nn.Module):
    """loss_t = theta . u_t + head_t^2: the shared theta gets u_t from task t, each head only
    its own task's gradient 2 head_t."""

    def __init__(self):
        super().__init__()
        self.theta = nn.Parameter(torch.zeros(2))
        self.heads = nn.ParameterDict({t: nn.Parameter(torch.tensor([0.5 + i]))
                                       for i, t in enumerate(U)})

    def task_losses(self, batches):
        return {t: self.theta @ U[t] + (self.heads[t] ** 2).sum() for t in batches}


def step(aggregator: str) -> tuple[TwoTasks, torch.Tensor]:
    """One aggregated step with plain SGD (lr 1, no clipping): the update is minus the
    gradient, so it can be read off the parameters."""
    model = TwoTasks()
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    before = model.theta.detach().clone()
    AggregatedStep(aggregator)(model, optimizer, {"a": None, "b": None}, "fp32", 1e9)
    return model, before - model.theta.detach()


@pytest.mark.parametrize("aggregator", ["pcgrad", "mgda", "upgrad"])
def test_the_shared_update_conflicts_with_no_task(aggregator):
    _, update = step(aggregator)
    for task, gradient in U.items():
        assert float(update @ gradient) >= -1e-6, (task, update)
    assert float(update.norm()) > 0
    _, summed = step("sum")
    assert float(summed @ U["a"]) < 0  # where the paper's step conflicts with task a


def test_pcgrad_gives_the_hand_computed_update():
    """PCGrad on two tasks: each gradient minus its projection on the other, then summed."""
    _, update = step("pcgrad")
    a, b = U["a"], U["b"]
    expected = (a - (a @ b) / (b @ b) * b) + (b - (b @ a) / (a @ a) * a)
    torch.testing.assert_close(update, expected)


@pytest.mark.parametrize("aggregator", ["sum", "mean", "pcgrad", "upgrad"])
def test_task_specific_parameters_get_their_own_gradient_only(aggregator):
    model, _ = step(aggregator)
    for i, task in enumerate(U):  # head_t - 2 head_t: whatever the aggregator
        torch.testing.assert_close(model.heads[task].detach(), torch.tensor([-(0.5 + i)]))


def test_sum_and_mean_follow_the_summed_and_the_mean_gradient():
    _, summed = step("sum")
    _, mean = step("mean")
    torch.testing.assert_close(summed, U["a"] + U["b"])
    torch.testing.assert_close(mean, (U["a"] + U["b"]) / 2)


@pytest.fixture
def tiny_cell_run(toy_run_inputs, tmp_path):
    """Train a canonical multi-task cell of the toy tasks for a few steps, in `variant`."""
    folder, data = toy_run_inputs

    def run(variant: str):
        cell = Cell("glue", "small", "canonical", "multi", variant, seed=1)
        out = tmp_path / variant
        train_cell(cell, SMALL, folder, {t: d / "train.parquet" for t, d in data.items()}, out)
        return out

    return run


def test_the_aggregated_sum_is_the_summed_gradient_of_a_real_model():
    """The buffer machinery on a canonical T5 (shared encoder, one head per task): with sum
    weights it takes the step the paper's takes, up to float summation order."""
    model = build_model("canonical", tiny_t5(), TASKS)
    twin = copy.deepcopy(model)
    batches = random_batches(generative=False)
    for m, take in ((model, "paper"), (twin, "aggregated")):
        optimizer = torch.optim.SGD(m.parameters(), lr=0.1)
        if take == "paper":
            multitask_step(m, optimizer, batches, "per-task", "fp32", 1e9)
        else:
            AggregatedStep("sum")(m, optimizer, batches, "fp32", 1e9)
    for (name, a), b in zip(model.named_parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7, msg=lambda m, n=name: f"{n}: {m}")


def test_a_sum_cell_trains_with_the_papers_step(monkeypatch, tiny_cell_run):
    """`aggregator: sum` (every Table 1 cell) never goes through the aggregated step: its
    training is today's `multitask_step`, bit for bit."""
    def refuse(*args, **kwargs):
        raise AssertionError("the sum cell built an aggregated step")

    monkeypatch.setattr("taskconflict.train.AggregatedStep", refuse)
    tiny_cell_run(factors.variant_name())


def test_a_cell_with_another_aggregator_trains(tiny_cell_run):
    sum_cell = tiny_cell_run(factors.variant_name())
    upgrad = tiny_cell_run(factors.variant_name(aggregator="upgrad"))
    assert (upgrad / "model.safetensors").is_file() and (upgrad / "conflict.parquet").is_file()
    assert (upgrad / "model.safetensors").read_bytes() != (
        sum_cell / "model.safetensors").read_bytes()


def test_every_aggregator_level_has_a_torchjd_weighting():
    assert set(factors.AGGREGATOR.names) == set(aggregators.AGGREGATORS)
    for name in factors.AGGREGATOR.names:
        aggregators.build(name)  # its solver is installed
