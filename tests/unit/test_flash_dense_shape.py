"""The dense shape figures and the shipped shape model, on synthetic arrays."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from inference.active.shape import dense_normals, dense_shape, mesh_triangles
from inference.active.shape_model import FEATURES, ShapeModel

SIZE = 64


def _face(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """468 scattered points over an ellipsoidal head with a nose, and the true depth map."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    u, v = (xx - 32) / 24, (yy - 34) / 28
    r2 = np.minimum(u * u + v * v, 1.0)
    nose = 6.0 * np.exp(-((xx - 32) ** 2 / 18 + (yy - 34) ** 2 / 60))
    depth = -18.0 * np.sqrt(1.0 - r2) - nose
    px = rng.uniform(12, 52, 468)
    py = rng.uniform(10, 58, 468)
    inside = ((px - 32) / 24) ** 2 + ((py - 34) / 28) ** 2 < 0.9
    px, py = px[inside], py[inside]
    z = depth[np.round(py).astype(int), np.round(px).astype(int)]
    return np.column_stack([px, py, z]), depth


def _true_normals(depth: np.ndarray) -> np.ndarray:
    gy, gx = np.gradient(depth)
    n = np.dstack([gx, gy, -np.ones_like(depth)])
    return n / np.linalg.norm(n, axis=2, keepdims=True)


def test_dense_normals_follow_the_depth_the_points_sample() -> None:
    pts, depth = _face(np.random.default_rng(1))
    n, covered = dense_normals(pts, SIZE)
    truth = _true_normals(depth)
    core = covered & (np.hypot(*np.mgrid[0:SIZE, 0:SIZE] - np.array([34, 32])[:, None, None])
                      < 16)
    cos = (n[core] * truth[core]).sum(1)
    assert core.sum() > 300
    assert float(np.median(cos)) > 0.97
    assert not covered[0, 0] and not covered[SIZE - 1, SIZE - 1]


def test_every_delaunay_triangle_maps_back_to_its_points() -> None:
    """Every triangle OpenCV returns keeps its three points: a corner not matched back (float32
    against float64) would drop it. With a bounding rectangle this close to the points OpenCV
    leaves out a few slivers on the hull (a triangulation of N points with h on the hull has
    2N - 2 - h triangles); the face mask is eroded well inside the hull."""
    rng = np.random.default_rng(3)
    xy = rng.uniform(5.3, 58.7, (468, 2))
    tris = mesh_triangles(xy)
    lo, hi = np.floor(xy.min(0) - 1.0), np.ceil(xy.max(0) + 1.0)
    sub = cv2.Subdiv2D((int(lo[0]), int(lo[1]), int(hi[0] - lo[0]) + 1, int(hi[1] - lo[1]) + 1))
    sub.insert([(float(x), float(y)) for x, y in xy.astype(np.float32)])
    assert len(tris) == len(sub.getTriangleList())
    hull = len(cv2.convexHull(xy.astype(np.float32)))
    assert 2 * len(xy) - 2 - hull - 10 <= len(tris) <= 2 * len(xy) - 2 - hull
    assert tris.min() >= 0 and tris.max() < len(xy)
    assert len(np.unique(tris)) == len(xy)


def test_dense_shape_tells_a_lit_face_from_a_flat_answer_and_from_the_picture() -> None:
    rng = np.random.default_rng(2)
    pts, depth = _face(rng)
    n, covered = dense_normals(pts, SIZE)
    truth = _true_normals(depth)
    screen, room = np.array([0.0, 0.3, -0.95]), np.array([0.4, -0.7, -0.6])
    lit = np.clip(truth @ screen, 0, None) / (0.3 + 0.7 * np.clip(truth @ room, 0, None))
    albedo = 0.3 + 0.5 * (rng.uniform(size=(SIZE, SIZE)) > 0.7)
    amb = albedo[..., None] * np.array([0.5, 0.4, 0.3]) * (0.3 + 0.7 * np.clip(
        truth @ room, 0, None))[..., None]
    good = covered.copy()
    live = dense_shape(lit + 0.01 * rng.standard_normal(lit.shape), amb, good, n)
    flat = dense_shape(0.5 + 0.02 * rng.standard_normal(lit.shape), amb, good, n)
    # a print whose answer leaks its own picture: K/A follows the ambient level
    leak = dense_shape(0.5 + 0.3 * np.log(amb.sum(-1)), amb, good, n)
    # the mesh's normals are a blurred estimate (the true ones explain about 0.62 here)
    assert live[0] > 0.2 and live[1] > 0.2
    assert flat[0] < 0.02 and flat[1] < 0.02
    assert leak[1] < 0.01 < leak[0]  # the picture terms take back what the picture leaked
    assert dense_shape(lit, amb, np.zeros_like(good), n) == (0.0, 0.0)


def test_the_shipped_shape_model_loads_and_orders_shape_above_none() -> None:
    model = ShapeModel.load()
    assert model.model.names == FEATURES
    assert model.provenance.get("family") == "a"  # fitted on the tuning family only
    assert model.margin(dict.fromkeys(FEATURES, 0.8)) > 0 > model.margin(dict.fromkeys(
        FEATURES, 0.0))


@pytest.mark.parametrize(("change", "message"), [
    ({"version": 2}, "version"),
    ({"threshold": float("nan")}, "finite"),
    ({"model": {"names": ["relief"], "mean": [0.0], "std": [1.0], "weights": [1.0],
                "bias": 0.0}}, "unknown figures"),
])
def test_a_damaged_shape_model_is_refused(tmp_path: Path, change: dict, message: str) -> None:
    raw = {**ShapeModel.load().to_json(), **change}
    path = tmp_path / "flash_shape.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        ShapeModel.load(path)
