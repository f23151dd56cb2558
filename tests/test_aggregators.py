"""Gram-based aggregators: our table gives TorchJD's weights, and the updates behave as derived
by hand on gradients whose conflicts are known by construction."""

from __future__ import annotations

import math

import pytest
import torch
import torchjd
import torchjd._mixins  # its find_spec is how TorchJD detects missing extras
from torchjd.aggregation import (
    AlignedMTLWeighting,
    CAGradWeighting,
    DualProjWeighting,
    FairGradWeighting,
    GradVacWeighting,
    IMTLGWeighting,
    KrumWeighting,
    MeanWeighting,
    MGDAWeighting,
    PCDWeighting,
    PCGradWeighting,
    RandomWeighting,
    SumWeighting,
    UPGradWeighting,
)
from torchjd.aggregation._weighting_bases import _GramianWeighting

from taskconflict import aggregators
from taskconflict.aggregators import AGGREGATORS, combine, weights

# The same methods and arguments, spelled out independently of the table.
TORCHJD = {
    "sum": SumWeighting,
    "mean": MeanWeighting,
    "random": RandomWeighting,
    "upgrad": UPGradWeighting,
    "dualproj": DualProjWeighting,
    "mgda": lambda: MGDAWeighting(epsilon=1e-3, max_iters=100),
    "pcgrad": PCGradWeighting,
    "cagrad": lambda: CAGradWeighting(c=0.4),
    "imtl_g": IMTLGWeighting,
    "aligned_mtl": lambda: AlignedMTLWeighting(scale_mode="min"),
    "fairgrad": lambda: FairGradWeighting(alpha=2.0),
    "gradvac": lambda: GradVacWeighting(beta=0.5),
    "pcd": lambda: PCDWeighting(tau=0.02, beta=0.999),
    "krum": lambda: KrumWeighting(n_byzantine=0, n_selected=1),
}

GRADIENTS = {  # K x P task gradients
    "opposed": [[1.0, 0.0], [-1.0, 0.0]],
    "equal": [[0.6, 0.8], [0.6, 0.8]],
    "dominant": [[10.0, 0.0], [0.0, 1.0]],  # orthogonal, norms 10 and 1
    # g1 . g2 = -2 and the sum (-1, 1) pulls against g1.
    "conflicting": [[1.0, 0.0], [-2.0, 1.0]],
    # g3 opposes g1 and g2 (dots -2, -2) and the sum (-1, -1, 0.5) pulls against both.
    "three": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [-2.0, -2.0, 0.5]],
    "three_equal": [[0.6, 0.8, 0.0]] * 3,
}


def grads(case: str, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.tensor(GRADIENTS[case], dtype=dtype)


def gram(case: str) -> torch.Tensor:
    g = grads(case)
    return g @ g.T


def built(name: str):
    """The table's weighting, or a skip naming the missing pip extra."""
    try:
        return aggregators.build(name)
    except ImportError as error:
        pytest.skip(str(error))


def test_every_method_is_checked_against_torchjd() -> None:
    assert set(TORCHJD) == set(AGGREGATORS)


def test_table_has_every_gramian_weighting_of_torchjd() -> None:
    gramian_based = {cls for name in torchjd.aggregation.__all__
                     if isinstance(cls := getattr(torchjd.aggregation, name), type)
                     and issubclass(cls, _GramianWeighting)}
    assert gramian_based <= {a.weighting for a in AGGREGATORS.values()}


@pytest.mark.parametrize("name", AGGREGATORS)
def test_table_entry_describes_its_weighting(name: str) -> None:
    entry = AGGREGATORS[name]
    weighting = built(name)
    assert type(weighting) is entry.weighting
    assert entry.summary and all(p.meaning for p in entry.params)
    assert entry.stateful == isinstance(weighting, torchjd.Stateful)


@pytest.mark.parametrize("case", GRADIENTS)
@pytest.mark.parametrize("name", AGGREGATORS)
def test_weights_are_torchjds(name: str, case: str) -> None:
    built(name)
    g = gram(case)
    try:
        torch.manual_seed(0)  # pcgrad, gradvac and random draw from the global RNG
        expected = TORCHJD[name]()(g)
    except ValueError:  # krum needs three tasks: so must we
        with pytest.raises(ValueError):
            weights(name, g)
        return
    torch.manual_seed(0)
    torch.testing.assert_close(weights(name, g), expected, rtol=0, atol=0)
    torch.manual_seed(0)
    torch.testing.assert_close(combine(name, grads(case)), expected @ grads(case))


def test_sum_is_the_summed_gradient_bit_for_bit() -> None:
    torch.manual_seed(0)
    g = torch.randn(5, 10_007)  # five float32 rows: ones @ g adds them in another order
    assert torch.equal(weights("sum", g @ g.T), torch.ones(5))
    assert torch.equal(combine("sum", g), g.sum(0))


@pytest.mark.parametrize("k", [2, 3, 9])
def test_mean_is_one_over_k(k: int) -> None:
    g = torch.randn(k, 17, dtype=torch.float64)
    torch.testing.assert_close(weights("mean", g @ g.T), torch.full((k,), 1 / k,
                                                                    dtype=torch.float64))
    torch.testing.assert_close(combine("mean", g), g.mean(0))


@pytest.mark.parametrize("case", ["conflicting", "three"])
def test_the_sum_conflicts_in_the_conflict_cases(case: str) -> None:
    g = grads(case)
    assert (g @ g.sum(0)).min() < 0


@pytest.mark.parametrize("name, case", [
    *((name, "conflicting") for name in ("pcgrad", "mgda", "upgrad", "dualproj")),
    *((name, "three") for name in ("mgda", "upgrad", "dualproj")),  # PCGrad: two tasks only
])
def test_conflicting_gradients_give_a_non_conflicting_update(name: str, case: str) -> None:
    built(name)
    g = grads(case)
    dots = g @ combine(name, g)
    w = weights(name, g @ g.T)
    # UPGrad and DualProj solve their QP on G / tr(G) + 1e-4 I, whose optimality conditions give
    # g_k . u >= -1e-4 tr(G) w_k instead of >= 0.
    slack = 1e-4 * g.square().sum() * w if name in ("upgrad", "dualproj") else 0.0
    assert (dots >= -slack - 1e-12).all(), dots
    assert dots.max() > 0


def test_pcgrad_projects_each_of_two_conflicting_gradients_off_the_other() -> None:
    # g1' = g1 - (g1.g2 / |g2|^2) g2 = g1 + 0.4 g2, g2' = g2 + 2 g1: weights (1 + 2, 1 + 0.4).
    torch.testing.assert_close(weights("pcgrad", gram("conflicting")),
                               torch.tensor([3.0, 1.4], dtype=torch.float64))


@pytest.mark.parametrize("name", ["mgda", "upgrad", "dualproj", "imtl_g", "pcgrad"])
def test_opposed_equal_gradients_give_no_update(name: str) -> None:
    built(name)
    torch.testing.assert_close(combine(name, grads("opposed")),
                               torch.zeros(2, dtype=torch.float64), atol=1e-12, rtol=0)


def test_mgda_on_opposed_gradients_is_their_midpoint() -> None:
    torch.testing.assert_close(weights("mgda", gram("opposed")),
                               torch.tensor([0.5, 0.5], dtype=torch.float64))


def test_mgda_balances_a_dominant_gradient() -> None:
    # Min-norm point of the segment [(10, 0), (0, 1)]: a = 1/101, u = (10, 100) / 101, and
    # u . g1 = u . g2 = |u|^2 = 100/101.
    w = weights("mgda", gram("dominant"))
    torch.testing.assert_close(w, torch.tensor([1 / 101, 100 / 101], dtype=torch.float64),
                               atol=1e-3, rtol=0)
    dots = grads("dominant") @ combine("mgda", grads("dominant"))
    torch.testing.assert_close(dots, torch.full((2,), 100 / 101, dtype=torch.float64),
                               atol=1e-3, rtol=0)


@pytest.mark.parametrize("case", ["dominant", "three"])
def test_imtl_g_projects_equally_on_every_unit_task_gradient(case: str) -> None:
    g = grads(case)
    projections = (g / g.norm(dim=1, keepdim=True)) @ combine("imtl_g", g)
    torch.testing.assert_close(projections, projections[:1].expand(len(g)))
    assert weights("imtl_g", g @ g.T).sum().item() == pytest.approx(1.0)
    if case == "dominant":  # pinv(G) d = (10 / 100, 1 / 1), normalised
        torch.testing.assert_close(weights("imtl_g", g @ g.T),
                                   torch.tensor([1 / 11, 10 / 11], dtype=torch.float64))


def test_upgrad_leaves_non_conflicting_gradients_unchanged() -> None:
    # Orthogonal gradients already lie in their dual cone: the update is the mean.
    built("upgrad")
    torch.testing.assert_close(weights("upgrad", gram("dominant")),
                               torch.tensor([0.5, 0.5], dtype=torch.float64), atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", AGGREGATORS)
def test_equal_gradients_give_an_update_along_them(name: str) -> None:
    built(name)
    case = "three_equal" if name == "krum" else "equal"
    g = grads(case)
    update = combine(name, g)
    common = g[0]
    assert update @ common > 0
    cosine = update @ common / (update.norm() * common.norm())
    assert cosine.item() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("name", AGGREGATORS)
def test_weights_follow_the_gram_matrix_dtype_and_combine_the_grads_dtype(name: str) -> None:
    built(name)
    g = grads("three", torch.float32)
    w = weights(name, g @ g.T)
    assert w.shape == (3,) and w.dtype == torch.float32 and w.device == g.device
    update = combine(name, g, gram=grads("three") @ grads("three").T)  # a float64 Gram matrix
    assert update.shape == (3,) and update.dtype == torch.float32
    assert all(math.isfinite(x) for x in update.tolist())


def test_a_stateful_weighting_built_once_remembers_earlier_steps() -> None:
    g = gram("three")
    torch.manual_seed(0)
    first = weights("gradvac", g)
    torch.manual_seed(0)
    assert torch.equal(weights("gradvac", g), first)  # a name builds a fresh weighting
    kept = aggregators.build("gradvac")
    torch.manual_seed(0)
    assert torch.equal(weights(kept, g), first)
    torch.manual_seed(0)
    assert not torch.equal(weights(kept, g), first)  # its EMA of the cosines has moved


def test_unknown_name_lists_the_known_aggregators() -> None:
    with pytest.raises(ValueError, match="unknown aggregator 'nash'.*upgrad.*mgda"):
        weights("nash", gram("equal"))
    with pytest.raises(ValueError, match="known: sum, mean"):
        combine("Sum", grads("equal"))


def test_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match="K x K"):
        weights("mean", torch.ones(2, 3))
    with pytest.raises(ValueError, match="K x P"):
        combine("sum", torch.ones(3))


@pytest.mark.parametrize("name", AGGREGATORS)
def test_a_missing_extra_is_named_at_construction(name: str, monkeypatch) -> None:
    monkeypatch.setattr(torchjd._mixins, "find_spec", lambda module: None)
    extra = AGGREGATORS[name].extra
    if extra is None:
        aggregators.build(name)  # needs nothing beyond torch
        return
    with pytest.raises(ImportError, match=rf"pip install 'torchjd\[{extra}\]==0.18.0'"):
        aggregators.build(name)
