"""Template protection: a Haar orthogonal rotation; cosine exact, wrapped key authenticated."""

from __future__ import annotations

import numpy as np
import pytest

from storage.protection import TemplateProtector, new_protector, random_orthogonal


def test_matrix_is_orthogonal_and_seed_dependent() -> None:
    a = random_orthogonal(192, b"a" * 32)
    b = random_orthogonal(192, b"b" * 32)
    assert np.allclose(a @ a.T, np.eye(192), atol=1e-12)
    assert not np.allclose(a, b)


def test_cosine_is_preserved_and_rekeying_matches_a_fresh_rotation() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 192))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    p1, p2 = new_protector(1), new_protector(2)
    y = p1.protect(x).astype(np.float64)
    assert np.allclose(y @ y.T, x @ x.T, atol=1e-6)
    rekeyed = y @ p1.rekey_matrix(p2).T
    assert np.allclose(rekeyed, p2.protect(x), atol=1e-6)


@pytest.mark.parametrize("bad", [np.zeros(192), np.full(192, np.nan), np.ones(128)])
def test_bad_embeddings_are_refused(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        TemplateProtector(np.eye(192), 1).protect(bad)
