"""Multi-task aggregators: one update from the K task gradients, weighted by their Gram matrix.

The paper's multi-task step follows the SUM of the task gradients. The multi-task optimisation
literature instead follows sum_k w_k g_k, with weights computed from the K x K Gram matrix
G = [g_a . g_b] (MGDA, PCGrad, CAGrad, IMTL-G, UPGrad, ...), to remove the conflict this project
measures. Such a method needs the K gradients separately (one backward per task) but its weights
only from G, a K x K problem however large the model. The methods are TorchJD's
(https://torchjd.org), called, never re-implemented; `AGGREGATORS` names each one with the
arguments we use. `sum` is the paper's step and gives exactly the summed gradient. TorchJD 0.18's
methods that need more than G (NashMTL, ExcessMTL, ConFIG, GradDrop, TrimmedMean: the Jacobian
itself; MoDo, SDMGrad: two batches per task) are not here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
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
    Weighting,
)


@dataclass(frozen=True)
class Param:
    """One constructor argument of a TorchJD weighting."""

    name: str
    value: object
    meaning: str


@dataclass(frozen=True)
class Aggregator:
    """Our name for a TorchJD weighting, with the arguments we construct it with."""

    name: str
    weighting: type[Weighting]
    summary: str
    params: tuple[Param, ...] = ()
    extra: str | None = None
    """The pip extra of torchjd that the weighting needs (`torchjd[extra]`), if any."""
    stateful: bool = False
    """Weights depend on earlier calls: build one weighting per run and keep it."""

    def build(self) -> Weighting:
        """A new TorchJD weighting; ImportError naming the pip extra if its solver is missing."""
        try:
            return self.weighting(**{p.name: p.value for p in self.params})
        except ImportError as error:
            raise ImportError(
                f"aggregator {self.name!r} ({self.weighting.__name__}) needs optional "
                f"dependencies that are not installed: pip install 'torchjd[{self.extra}]==0.18.0'"
                f" ({error})"
            ) from error


_DUAL_CONE = Param("projector", None, "None: QuadprogProjector(norm_eps=1e-4, reg_eps=1e-4), a "
                   "QP solved in float64 on the CPU on the normalised, regularised Gram matrix")
_MEAN_PREF = Param("pref_vector", None, "None: the uniform preference 1/K for every task")

AGGREGATORS: dict[str, Aggregator] = {a.name: a for a in (
    Aggregator("sum", SumWeighting, "the paper's step: every weight 1, the summed gradient"),
    Aggregator("mean", MeanWeighting, "every weight 1/K, the mean gradient"),
    Aggregator("random", RandomWeighting,
               "random loss weighting (RLW): softmax of K standard normals, drawn every step"),
    Aggregator("upgrad", UPGradWeighting,
               "UPGrad: each gradient projected onto the dual cone of all, then combined",
               (_MEAN_PREF, _DUAL_CONE), extra="quadprog_projector"),
    Aggregator("dualproj", DualProjWeighting,
               "DualProj: the mean gradient projected onto the dual cone of the gradients",
               (_MEAN_PREF, _DUAL_CONE), extra="quadprog_projector"),
    Aggregator("mgda", MGDAWeighting,
               "MGDA: the minimum-norm point of the gradients' convex hull (Frank-Wolfe)",
               (Param("epsilon", 0.001, "stop when the Frank-Wolfe step size falls below it"),
                Param("max_iters", 100, "at most this many Frank-Wolfe iterations"))),
    Aggregator("pcgrad", PCGradWeighting,
               "PCGrad: each gradient stripped of its components against the others, in a "
               "random task order (global torch RNG), then summed"),
    Aggregator("cagrad", CAGradWeighting,
               "CAGrad: the step closest to the mean gradient that maximises the worst task's "
               "progress", (Param("c", 0.4, "radius of the ball around the mean gradient, "
                                  "relative to its norm (the authors' NYUv2 value)"),
                             Param("norm_eps", 0.0001, "guards the Gram normalisation")),
               extra="cagrad"),
    Aggregator("imtl_g", IMTLGWeighting,
               "IMTL-G: weights summing to 1 whose update projects equally on every unit task "
               "gradient"),
    Aggregator("aligned_mtl", AlignedMTLWeighting,
               "Aligned-MTL: the gradients made orthogonal and equal in norm (eigendecomposition "
               "of G), then combined", (_MEAN_PREF, Param(
                   "scale_mode", "min", "scale of the aligned gradients: the smallest "
                   "eigenvalue of G (TorchJD's default; the original code used 'rmse')"))),
    Aggregator("fairgrad", FairGradWeighting,
               "FairGrad: alpha-fair allocation of progress among tasks, G w = w^(-1/alpha)",
               (Param("alpha", 2.0, "fairness (0: the mean, 1: proportional, large: max-min); "
                      "the authors' CelebA and QM9 value"),
                Param("max_iters", None, "None: scipy least_squares' default, 100 K")),
               extra="fairgrad"),
    Aggregator("gradvac", GradVacWeighting,
               "GradVac: each gradient moved towards an EMA of past cosines to every other task",
               (Param("beta", 0.5, "EMA rate of the target cosines (TorchJD's default; the "
                      "paper's is 0.01)"),
                Param("eps", 1e-8, "guards the divisions by gradient norms")), stateful=True),
    Aggregator("pcd", PCDWeighting,
               "Priority-Constrained Descent: follow task 0 (the primary) while guaranteeing "
               "every other task a fraction tau of its own progress; not symmetric in the tasks",
               (Param("tau", 0.02, "fraction of normalised progress guaranteed to each task "
                      "after the first"),
                Param("beta", 0.999, "EMA decay of the squared gradient norms that normalise"),
                Param("eps", 1e-8, "added to that EMA before its inverse square root")),
               stateful=True),
    Aggregator("krum", KrumWeighting,
               "Krum (Byzantine-robust averaging): the gradient closest to its K - 2 nearest "
               "others; needs K >= n_byzantine + 3",
               (Param("n_byzantine", 0, "tasks allowed to be adversarial"),
                Param("n_selected", 1, "gradients kept and averaged (Multi-Krum when > 1)"))),
)}


def get(name: str) -> Aggregator:
    """The table entry for `name`; ValueError naming the known aggregators otherwise."""
    try:
        return AGGREGATORS[name]
    except KeyError:
        raise ValueError(f"unknown aggregator {name!r}; known: "
                         f"{', '.join(AGGREGATORS)}") from None


def build(name: str) -> Weighting:
    """A new TorchJD weighting for `name`. Keep one per run for a stateful aggregator."""
    return get(name).build()


def weights(aggregator: str | Weighting, gram: torch.Tensor) -> torch.Tensor:
    """The K task weights from the K x K Gram matrix, on its device and in its dtype.

    `aggregator` is a name (a new weighting is built, so a stateful one starts afresh) or a
    weighting from `build`. `sum` gives ones, `mean` 1/K.
    """
    weighting = build(aggregator) if isinstance(aggregator, str) else aggregator
    if gram.ndim != 2 or gram.shape[0] != gram.shape[1] or gram.shape[0] == 0:
        raise ValueError(f"expected a K x K Gram matrix, got shape {tuple(gram.shape)}")
    return weighting(gram)


def combine(aggregator: str | Weighting, grads: torch.Tensor,
            gram: torch.Tensor | None = None) -> torch.Tensor:
    """sum_k w_k g_k for the K x P task gradients `grads`: the update of the shared parameters.

    The Gram matrix is grads @ grads.T on the grads' device unless `gram` is given (e.g. one
    accumulated in float64). `sum` returns grads.sum(0), bit-identical to the summed gradient
    (a weighted matrix product may add in another order).
    """
    if grads.ndim != 2:
        raise ValueError(f"expected K x P task gradients, got shape {tuple(grads.shape)}")
    weighting = build(aggregator) if isinstance(aggregator, str) else aggregator
    if type(weighting) is SumWeighting:
        return grads.sum(0)
    w = weights(weighting, grads @ grads.T if gram is None else gram)
    return w.to(device=grads.device, dtype=grads.dtype) @ grads
