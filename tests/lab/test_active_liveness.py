"""Active liveness on the rendered 3D scan: flash and action analysis accept live, reject attacks.

A few fixed-seed trials on tuning settings (the held-out evaluation is `poh eval active`, slow).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from app.capture.analyze import analyze_recording
from app.lab.datasets import face3d_dir
from app.lab.simulation.flash.scene import FaceScene, simulate
from app.lab.simulation.flash.settings import draw_settings
from inference.active.actions import parallax_residual
from inference.active.analyzer import ActiveLiveness, ActiveResult
from inference.pipeline import FacePipeline


@pytest.fixture(scope="module")
def scene(data_dir: Path) -> FaceScene:
    return FaceScene(face3d_dir(data_dir))


@pytest.fixture(scope="module")
def liveness(face_pipeline: FacePipeline) -> ActiveLiveness:
    return ActiveLiveness(face_pipeline)


def _run(scene: FaceScene, liveness: ActiveLiveness, species: str, method: str,
         seed: int) -> ActiveResult:
    rng = np.random.default_rng(seed)
    rec = simulate(scene, species, method, draw_settings("tuning", rng), rng)
    return analyze_recording(liveness, rec)


@pytest.mark.parametrize("seed", [101])
def test_flash_accepts_a_rendered_live_face(scene: FaceScene, liveness: ActiveLiveness,
                                            seed: int) -> None:
    res = _run(scene, liveness, "live", "FLASHING", seed)
    assert res.status == "Approved", res.figures
    assert res.score >= 50 and not res.warnings
    assert abs(res.figures["flash"]["lag_frames"]) <= 0.75


@pytest.mark.parametrize(("species", "failed"), [
    ("print", "shape"), ("replay", "strength"), ("retint0", "shape"), ("retint2", "lag")])
def test_flash_rejects_attacks(scene: FaceScene, liveness: ActiveLiveness, species: str,
                               failed: str) -> None:
    res = _run(scene, liveness, species, "FLASHING", 201)
    assert res.status == "Declined", res.figures
    assert "LIVENESS_FACE_ATTACK" in res.warnings
    assert res.figures["checks"][failed] is False
    assert res.score < 50


def test_actions_accept_a_rendered_turn_and_reject_a_moved_photo(
        scene: FaceScene, liveness: ActiveLiveness) -> None:
    live = _run(scene, liveness, "live", "ACTIVE_3D", 301)
    assert live.status == "Approved", live.figures
    assert all(a["done"] for a in live.figures["actions"])
    photo = _run(scene, liveness, "moved_photo", "ACTIVE_3D", 301)
    assert photo.status == "Declined"
    assert photo.figures["checks"]["actions"] is False
    turns = [a for a in photo.figures["actions"] if a["parallax"] is not None]
    assert turns and all(a["parallax"] < 0.03 for a in turns)


def test_parallax_separates_a_rigid_head_from_a_plane() -> None:
    rng = np.random.default_rng(0)
    # A head-like cloud: a face 140 mm wide with 60 mm of relief (nose forward, ears back).
    x, y = rng.uniform(-70, 70, 478), rng.uniform(-90, 90, 478)
    z = 60 * np.exp(-(x ** 2 + y ** 2) / 4000) - 0.004 * x ** 2
    pts = np.stack([x, y, z], 1)

    def project(p: np.ndarray, yaw: float) -> np.ndarray:
        a = np.radians(yaw)
        r = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
        q = p @ r.T
        f, d = 420.0, 500.0
        return np.stack([f * q[:, 0] / (d - q[:, 2]) + 128, f * q[:, 1] / (d - q[:, 2]) + 128,
                         q[:, 2]], 1)

    front, turned = project(pts, 0.0), project(pts, 30.0)
    assert parallax_residual(front, turned) > 0.05
    flat = np.stack([x, y, np.zeros_like(x)], 1)
    h = cv2.getPerspectiveTransform(
        np.float32([[0, 0], [1, 0], [1, 1], [0, 1]]),
        np.float32([[0, 0], [0.8, 0.05], [0.8, 0.95], [0, 1]]))
    f0 = project(flat, 0.0)
    moved = cv2.perspectiveTransform(f0[None, :, :2].astype(np.float32) / 256, h)[0] * 256
    moved3 = np.concatenate([moved, f0[:, 2:]], 1)
    assert parallax_residual(f0, moved3) < 0.01
