"""Head pose (yaw, pitch, roll): a rigid fit of stable mesh points to MediaPipe's canonical face.

The reference is MediaPipe's own Procrustes basis (33 weighted points of the canonical mesh, see
inference.canonical_mesh). The observed mesh is moved into the same frame (x right, y up, z towards
the camera: image y and MediaPipe z are flipped) and a weighted similarity (Umeyama) fit gives the
rotation. Under a weak-perspective camera this matches a pose network within about 3 degrees.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inference.canonical_mesh import POSE_REFERENCE_PATH, load_pose_reference
from inference.types import FloatArray, HeadPose


def weighted_rotation(src: FloatArray, dst: FloatArray, weights: FloatArray) -> np.ndarray:
    """Rotation R (3x3, det +1) of the weighted least-squares similarity fit dst ~ s R src + t."""
    w = np.asarray(weights, np.float64)
    w = w / w.sum()
    a = np.asarray(src, np.float64)
    b = np.asarray(dst, np.float64)
    a0 = a - (w[:, None] * a).sum(0)
    b0 = b - (w[:, None] * b).sum(0)
    cov = (b0 * w[:, None]).T @ a0
    u, _, vt = np.linalg.svd(cov)
    d = np.eye(3)
    d[2, 2] = np.sign(np.linalg.det(u @ vt)) or 1.0
    rot: np.ndarray = u @ d @ vt
    return rot


def angles_from_rotation(rot: np.ndarray) -> HeadPose:
    """Yaw, pitch and roll in degrees from the face's rotation in the camera frame (y up)."""
    forward = rot @ np.array([0.0, 0.0, 1.0])  # where the face points
    right = rot @ np.array([1.0, 0.0, 0.0])  # the face's image-right direction
    yaw = np.degrees(np.arctan2(forward[0], forward[2]))
    pitch = np.degrees(np.arctan2(forward[1], np.hypot(forward[0], forward[2])))
    roll = np.degrees(np.arctan2(right[1], right[0]))
    return HeadPose(yaw=float(yaw), pitch=float(pitch), roll=float(roll))


class PoseEstimator:
    """Yaw > 0: the person turns to their left (nose to the image right); pitch > 0: looks up;
    roll > 0: the head tilts towards the person's right shoulder (counter-clockwise on the image).
    """

    def __init__(self, reference: Path = POSE_REFERENCE_PATH) -> None:
        self._ids, self._weights, self._ref = load_pose_reference(reference)

    def infer(self, points: FloatArray) -> HeadPose:
        """Pose of a 478 (or 468) point mesh in image pixels (x right, y down, z away)."""
        obs = np.asarray(points[self._ids], np.float64)
        obs = obs * np.array([1.0, -1.0, -1.0])
        return angles_from_rotation(weighted_rotation(self._ref, obs, self._weights))
