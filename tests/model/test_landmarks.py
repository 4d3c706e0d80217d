"""FaceLandmarker on real portraits: 478 points on the face, irises in the eyes."""

from __future__ import annotations

import numpy as np
import pytest

from inference.pipeline import FacePipeline
from inference.types import FrameAnalysis

NAMES = ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "astronaut.png", "grace_hopper.jpg")


@pytest.mark.parametrize("name", NAMES)
def test_478_points_inside_the_face_box(portrait_analyses: dict[str, FrameAnalysis],
                                        name: str) -> None:
    face = portrait_analyses[name].faces[0]
    assert face.landmarks is not None
    pts = face.landmarks.points
    assert pts.shape == (478, 3) and pts.dtype == np.float32
    assert face.landmarks.presence > 0.9
    b = face.detection.box
    inside = ((pts[:, 0] >= b.x1) & (pts[:, 0] <= b.x2) & (pts[:, 1] >= b.y1)
              & (pts[:, 1] <= b.y2))
    # The detector's box stops at the chin and brows; the mesh may poke out slightly.
    assert inside.mean() > 0.9
    margin_x, margin_y = 0.15 * b.width, 0.15 * b.height
    assert pts[:, 0].min() > b.x1 - margin_x and pts[:, 0].max() < b.x2 + margin_x
    assert pts[:, 1].min() > b.y1 - margin_y and pts[:, 1].max() < b.y2 + margin_y


@pytest.mark.parametrize("name", NAMES)
def test_irises_sit_between_the_eye_corners(portrait_analyses: dict[str, FrameAnalysis],
                                            name: str) -> None:
    face = portrait_analyses[name].faces[0]
    assert face.landmarks is not None
    p = face.landmarks.points[:, :2]
    for iris, (a, b) in ((468, (33, 133)), (473, (362, 263))):
        eye_width = float(np.linalg.norm(p[a] - p[b]))
        assert float(np.linalg.norm(p[iris] - (p[a] + p[b]) / 2)) < 0.3 * eye_width
    # Detector keypoints and mesh agree on where the nose tip is.
    nose_gap = float(np.linalg.norm(p[1] - face.detection.keypoints[2]))
    assert nose_gap < 0.15 * face.detection.box.width


def test_presence_is_low_without_a_face(face_pipeline: FacePipeline) -> None:
    noise = np.random.default_rng(3).integers(0, 256, (400, 400, 3), dtype=np.uint8)
    roi = face_pipeline.landmarker.infer_roi(noise, (200.0, 200.0), 300.0, 0.0)
    assert roi.presence < 0.1
