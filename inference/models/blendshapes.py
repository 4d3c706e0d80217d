"""MediaPipe blendshapes: 52 expression scores from 146 of the 478 mesh points.

The input is the x, y pixel position of the points in kLandmarksSubsetIdxs (MediaPipe's
face_blendshapes_graph.cc); the model is invariant to the points' scale and offset.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inference.model_store import model_path
from inference.runtime import CompiledModel
from inference.types import Landmarks

# face_blendshapes_graph.cc, kLandmarksSubsetIdxs.
LANDMARKS_SUBSET: tuple[int, ...] = (
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39,
    40, 46, 52, 53, 54, 55, 58, 61, 63, 65, 66, 67, 70, 78, 80,
    81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133,
    136, 144, 145, 146, 148, 149, 150, 152, 153, 154, 155, 157, 158, 159, 160,
    161, 162, 163, 168, 172, 173, 176, 178, 181, 185, 191, 195, 197, 234, 246,
    249, 251, 263, 267, 269, 270, 276, 282, 283, 284, 285, 288, 291, 293, 295,
    296, 297, 300, 308, 310, 311, 312, 314, 317, 318, 321, 323, 324, 332, 334,
    336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378, 379, 380, 381, 382,
    384, 385, 386, 387, 388, 389, 390, 397, 398, 400, 402, 405, 409, 415, 454,
    466, 468, 469, 470, 471, 472, 473, 474, 475, 476, 477,
)

# face_blendshapes_graph.cc, kBlendshapeNames, in the model's output order.
BLENDSHAPE_NAMES: tuple[str, ...] = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft",
    "browOuterUpRight", "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft",
    "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight",
    "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft",
    "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen",
    "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft",
    "mouthFrownRight", "mouthFunnel", "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight", "mouthRollLower",
    "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight",
    "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "noseSneerLeft", "noseSneerRight",
)

_OUT = "StatefulPartitionedCall:0"


class BlendshapeScorer:
    """52 named blendshape scores in [0, 1] from a face's mesh."""

    def __init__(self, models_dir: Path, *, threads: int = 0) -> None:
        self._model = CompiledModel(model_path(models_dir, "face_blendshapes"), threads=threads)
        self._model.expect_input((1, len(LANDMARKS_SUBSET), 2))
        self._model.expect_output(_OUT, len(BLENDSHAPE_NAMES))
        self._subset = np.array(LANDMARKS_SUBSET)

    @property
    def precision(self) -> str:
        return self._model.precision

    def infer(self, landmarks: Landmarks) -> dict[str, float]:
        pts = landmarks.points[self._subset, :2].astype(np.float32)
        scores = self._model(pts[None])[_OUT].reshape(-1)
        return {name: float(s) for name, s in zip(BLENDSHAPE_NAMES, scores, strict=True)}
