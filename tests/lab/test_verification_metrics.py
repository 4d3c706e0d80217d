"""Error-rate arithmetic on scores whose answers are known by construction."""

from __future__ import annotations

import numpy as np

from app.lab.evaluation.verification_metrics import (
    equal_error_rate,
    operating_point,
    pair_scores,
    verification_report,
)


def test_pair_scores_split_same_and_different_labels() -> None:
    emb = np.eye(3, dtype=np.float32)[[0, 0, 1, 2]]
    genuine, impostor = pair_scores(emb, ["a", "a", "b", "c"])
    assert genuine.tolist() == [1.0]
    assert len(impostor) == 5
    assert impostor.max() == 0.0


def test_operating_point_counts_misses_at_the_threshold() -> None:
    impostor = np.linspace(0.0, 0.5, 10_000)
    genuine = np.array([0.3, 0.6, 0.7, 0.8])
    p = operating_point(genuine, impostor, 1e-2)
    assert p.threshold is not None and p.fmr is not None
    assert p.fmr <= 1e-2
    assert 0.49 < p.threshold < 0.5
    assert p.false_non_matches == 1
    assert p.fnmr == 0.25


def test_operating_point_refuses_rates_the_data_cannot_carry() -> None:
    p = operating_point(np.array([0.9]), np.linspace(0, 0.3, 500), 1e-3)
    assert p.threshold is None and p.fnmr is None


def test_equal_error_rate_of_separable_and_overlapping_scores() -> None:
    eer, _ = equal_error_rate(np.array([0.8, 0.9]), np.array([0.1, 0.2]))
    assert eer == 0.0
    rng = np.random.default_rng(0)
    g = rng.normal(1.0, 1.0, 20_000)
    i = rng.normal(-1.0, 1.0, 20_000)
    eer, t = equal_error_rate(g, i)
    assert abs(eer - 0.1587) < 0.01  # Phi(-1) for unit-variance classes two sigma apart
    assert abs(t) < 0.05
    report = verification_report(g, i)
    assert report.genuine_pairs == 20_000 and len(report.points) == 2
