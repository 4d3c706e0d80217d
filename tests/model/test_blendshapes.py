"""Blendshapes: 52 named scores in MediaPipe's order, and they respond to closed eyelids."""

from __future__ import annotations

import numpy as np

from inference.models.blendshapes import BLENDSHAPE_NAMES, LANDMARKS_SUBSET
from inference.pipeline import FacePipeline
from inference.types import FrameAnalysis, Landmarks

# Upper and lower lid contours of each eye on the 478 mesh (MediaPipe FACEMESH_LEFT/RIGHT_EYE).
_LIDS = (
    ((246, 161, 160, 159, 158, 157, 173), (7, 163, 144, 145, 153, 154, 155)),
    ((466, 388, 387, 386, 385, 384, 398), (249, 390, 373, 374, 380, 381, 382)),
)


def test_subset_and_names_are_mediapipe_s() -> None:
    assert len(LANDMARKS_SUBSET) == 146 and len(set(LANDMARKS_SUBSET)) == 146
    assert max(LANDMARKS_SUBSET) == 477
    assert len(BLENDSHAPE_NAMES) == 52
    assert BLENDSHAPE_NAMES[0] == "_neutral"
    assert BLENDSHAPE_NAMES[9:11] == ("eyeBlinkLeft", "eyeBlinkRight")
    assert BLENDSHAPE_NAMES[25] == "jawOpen"
    assert BLENDSHAPE_NAMES[44:46] == ("mouthSmileLeft", "mouthSmileRight")


def test_52_named_scores_on_a_face(portrait_analyses: dict[str, FrameAnalysis]) -> None:
    shapes = portrait_analyses["obama.jpg"].faces[0].blendshapes
    assert list(shapes) == list(BLENDSHAPE_NAMES)
    assert all(0.0 <= v <= 1.0 for v in shapes.values())
    assert shapes["eyeBlinkLeft"] < 0.4 and shapes["eyeBlinkRight"] < 0.4


def test_closing_the_eyelids_raises_eye_blink(face_pipeline: FacePipeline,
                                              portrait_analyses: dict[str, FrameAnalysis]
                                              ) -> None:
    assert face_pipeline.blendshaper is not None
    mesh = portrait_analyses["obama.jpg"].faces[0].landmarks
    assert mesh is not None
    closed = mesh.points.copy()
    for upper, lower in _LIDS:
        # Lay both lids on the line between them: the eye shut.
        mid = (closed[list(upper), 1] + closed[list(lower), 1]) / 2
        closed[list(upper), 1] = mid
        closed[list(lower), 1] = mid
    before = face_pipeline.blendshaper.infer(mesh)
    after = face_pipeline.blendshaper.infer(Landmarks(closed.astype(np.float32), mesh.presence))
    for key in ("eyeBlinkLeft", "eyeBlinkRight"):
        assert after[key] > before[key] + 0.2, (key, before[key], after[key])
