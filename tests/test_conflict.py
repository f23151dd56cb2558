"""Conflict measures on gradients whose cosines and norms are known by construction."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from taskconflict.conflict import (
    conflict_curve,
    conflict_measures,
    frame_to_grams,
    gram_matrix,
    gram_to_frame,
)


def measures(vectors: list[list[float]]):
    return conflict_measures(gram_matrix(torch.tensor(vectors, dtype=torch.float32)))


def test_gram_matrix_is_float64_dot_products() -> None:
    v = torch.tensor([[1.0, 2.0, 0.0], [3.0, -1.0, 4.0]])
    g = gram_matrix(v)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, [[5.0, 1.0], [1.0, 26.0]])


@pytest.mark.parametrize("k", [2, 3, 5])
def test_identical_unit_vectors(k: int) -> None:
    m = measures([[0.6, 0.8]] * k)
    assert m.c_dir == pytest.approx(1 - 1 / k)
    assert m.c_mg == pytest.approx(0.0, abs=1e-12)
    assert m.c_mg_normalised == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(m.cosine, np.ones((k, k)), atol=1e-6)


def test_orthogonal_vectors_have_no_directional_conflict() -> None:
    m = measures(np.eye(4).tolist())
    assert m.c_dir == pytest.approx(0.0, abs=1e-12)


def test_opposite_vectors() -> None:
    m = measures([[1.0, 2.0], [-1.0, -2.0]])
    assert m.c_dir == pytest.approx(-0.5)
    assert m.cosine[0, 1] == pytest.approx(-1.0)


def test_three_vectors_at_120_degrees() -> None:
    angles = [0.0, 2 * math.pi / 3, 4 * math.pi / 3]
    m = measures([[math.cos(a), math.sin(a)] for a in angles])
    assert m.c_dir == pytest.approx(-1 / 3, abs=1e-6)


def test_magnitude_conflict_of_known_norms() -> None:
    m = measures([[1.0, 0.0], [0.0, 2.0], [3.0, 0.0]])
    np.testing.assert_allclose(m.squared_norms, [1.0, 4.0, 9.0])
    assert m.c_mg == pytest.approx(np.var([1.0, 4.0, 9.0]))
    assert m.c_mg == pytest.approx(98 / 9)  # 10.888...
    assert m.c_mg_normalised == pytest.approx((98 / 9) / (14 / 3) ** 2)


def test_c_dir_is_scaled_mean_pairwise_cosine() -> None:
    rng = np.random.default_rng(0)
    v = rng.normal(size=(6, 50))
    m = conflict_measures(gram_matrix(torch.from_numpy(v)))
    unit = v / np.linalg.norm(v, axis=1, keepdims=True)
    cos = unit @ unit.T
    k = len(v)
    off_diagonal = cos[~np.eye(k, dtype=bool)].mean()
    assert m.c_dir == pytest.approx((k - 1) / k * off_diagonal)
    assert m.c_dir == pytest.approx(np.sum(unit.mean(axis=0) ** 2) - 1 / k)
    np.testing.assert_allclose(m.cosine, cos, atol=1e-12)


def test_scaling_all_gradients() -> None:
    rng = np.random.default_rng(1)
    v = rng.normal(size=(4, 20))
    c = 3.0
    a = conflict_measures(gram_matrix(torch.from_numpy(v)))
    b = conflict_measures(gram_matrix(torch.from_numpy(c * v)))
    assert b.c_dir == pytest.approx(a.c_dir)
    assert b.c_mg_normalised == pytest.approx(a.c_mg_normalised)
    assert b.c_mg == pytest.approx(a.c_mg * c**4)


def test_zero_gradient_is_an_error() -> None:
    with pytest.raises(ValueError, match="task index 1"):
        measures([[1.0, 0.0], [0.0, 0.0]])


def test_non_square_gram_is_an_error() -> None:
    with pytest.raises(ValueError, match="square"):
        conflict_measures(np.ones((2, 3)))


def test_frame_round_trip() -> None:
    rng = np.random.default_rng(2)
    tasks = ("rte", "cola", "mnli")  # not sorted: the order must survive
    v = rng.normal(size=(3, 10))
    g = v @ v.T
    frame = pd.concat([
        gram_to_frame(10, "encoder", tasks, g),
        gram_to_frame(10, "decoder", tasks, 2 * g),
        gram_to_frame(20, "encoder", tasks, 3 * g),
    ], ignore_index=True)
    assert list(frame.columns) == ["step", "part", "task_a", "task_b", "dot"]
    assert len(frame) == 27 and frame["step"].dtype == np.int64
    grams = frame_to_grams(frame.sample(frac=1.0, random_state=0))
    assert set(grams) == {(10, "encoder"), (10, "decoder"), (20, "encoder")}
    for key, factor in (((10, "encoder"), 1), ((10, "decoder"), 2), ((20, "encoder"), 3)):
        names, gram = grams[key]
        order = [tasks.index(t) for t in names]
        np.testing.assert_allclose(gram, factor * g[np.ix_(order, order)])
    names, gram = frame_to_grams(frame)[(10, "encoder")]
    assert names == tasks
    np.testing.assert_allclose(gram, g)


def test_frame_with_missing_pair_is_an_error() -> None:
    frame = gram_to_frame(0, "encoder", ("a", "b"), np.eye(2)).iloc[:-1]
    with pytest.raises(ValueError, match="missing"):
        frame_to_grams(frame)


def test_conflict_curve() -> None:
    same = np.ones((2, 2))
    opposite = np.array([[1.0, -2.0], [-2.0, 4.0]])
    frame = pd.concat([
        gram_to_frame(200, "encoder", ("a", "b"), opposite),
        gram_to_frame(100, "encoder", ("a", "b"), same),
    ])
    curve = conflict_curve(frame)
    assert list(curve.columns) == ["step", "part", "c_dir", "c_mg", "c_mg_normalised"]
    assert curve["step"].tolist() == [100, 200]
    np.testing.assert_allclose(curve["c_dir"], [0.5, -0.5])
    np.testing.assert_allclose(curve["c_mg"], [0.0, np.var([1.0, 4.0])])
    np.testing.assert_allclose(curve["c_mg_normalised"], [0.0, 2.25 / 2.5**2])
