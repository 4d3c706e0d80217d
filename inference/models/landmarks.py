"""MediaPipe FaceLandmarker v2: 478 mesh points (with irises) and a face-presence score.

The crop follows face_landmarker_graph.cc: a square of 1.5 x the face box around the box centre,
turned so that the eyes are level, resized to 256x256 RGB in [0, 1].
Outputs: `Identity` 1434 = 478 x (x, y, z) in crop pixels (z at the scale of x),
`Identity_1` the face-presence logit; the third output is not used.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from inference.align import apply, eye_angle, invert, rotated_square
from inference.model_store import model_path
from inference.runtime import CompiledModel
from inference.types import Detection, Landmarks

N_POINTS = 478
INPUT_SIZE = 256
_POINTS_OUT = "Identity"
_PRESENCE_OUT = "Identity_1"


class FaceLandmarker:
    """478 points of one face, given its detection (or a previous frame's landmarks)."""

    def __init__(self, models_dir: Path, *, roi_scale: float = 1.5, threads: int = 0) -> None:
        self._model = CompiledModel(model_path(models_dir, "face_landmarks"), threads=threads)
        self._model.expect_input((1, INPUT_SIZE, INPUT_SIZE, 3))
        self._model.expect_output(_POINTS_OUT, N_POINTS * 3)
        self._model.expect_output(_PRESENCE_OUT, 1)
        self.roi_scale = roi_scale

    @property
    def precision(self) -> str:
        return self._model.precision

    def infer(self, frame_bgr: np.ndarray, detection: Detection) -> Landmarks:
        box = detection.box
        angle = eye_angle(detection.keypoints[0], detection.keypoints[1])
        side = self.roi_scale * max(box.width, box.height)
        return self.infer_roi(frame_bgr, box.center, side, angle)

    def infer_roi(self, frame_bgr: np.ndarray, centre: tuple[float, float], side: float,
                  angle_rad: float) -> Landmarks:
        """Landmarks in a square region (image pixels), turned by `angle_rad`."""
        m = rotated_square(centre, side, angle_rad, INPUT_SIZE)
        crop = cv2.warpAffine(frame_bgr, m, (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT)
        x = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32) * (1.0 / 255.0)
        out = self._model(x[None])
        pts = out[_POINTS_OUT].reshape(N_POINTS, 3)
        presence = float(1.0 / (1.0 + np.exp(-float(out[_PRESENCE_OUT].reshape(-1)[0]))))
        img_pts = np.empty((N_POINTS, 3), np.float32)
        img_pts[:, :2] = apply(invert(m), pts)
        img_pts[:, 2] = pts[:, 2] * (side / INPUT_SIZE)
        return Landmarks(img_pts, presence)

