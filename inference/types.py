"""Typed results shared by the models, the pipeline, quality cues and liveness."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Box:
    """Axis-aligned box in image pixels."""

    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def center(self) -> tuple[float, float]:
        return ((self.x1 + self.x2) / 2, (self.y1 + self.y2) / 2)


@dataclass(frozen=True)
class Detection:
    """One face from the detector: box, confidence and 6 keypoints (x, y) in image pixels.

    Keypoints: image-left eye, image-right eye, nose tip, mouth centre, two ear tragions.
    """

    box: Box
    score: float
    keypoints: FloatArray  # (6, 2)


@dataclass(frozen=True)
class Landmarks:
    """478 mesh points (x, y in image pixels, z relative depth) and the face-presence score."""

    points: FloatArray  # (478, 3)
    presence: float


@dataclass(frozen=True)
class HeadPose:
    yaw: float  # degrees, positive = person turns to their left
    pitch: float  # degrees, positive = looking up
    roll: float  # degrees


@dataclass(frozen=True)
class FaceAnalysis:
    """Everything the pipeline knows about one face in one frame."""

    detection: Detection
    landmarks: Landmarks | None
    pose: HeadPose | None
    five_points: FloatArray | None  # (5, 2): eyes, nose tip, mouth corners (ArcFace order)
    blendshapes: dict[str, float] = field(default_factory=dict)
    embedding: FloatArray | None = None  # (192,), L2-normalised
    spoof_score: float | None = None  # Deep Tree Network score, lower = more likely live
    age: float | None = None  # expected age in years
    age_spread: float | None = None  # standard deviation of the age distribution, years

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready summary for reports and logs: no embedding, no mesh (biometric data)."""
        b = self.detection.box
        return {
            "box": [round(v, 1) for v in (b.x1, b.y1, b.x2, b.y2)],
            "score": round(self.detection.score, 4),
            "landmark_presence": (round(self.landmarks.presence, 4)
                                  if self.landmarks is not None else None),
            "pose": ({k: round(v, 1) for k, v in (("yaw", self.pose.yaw),
                                                   ("pitch", self.pose.pitch),
                                                   ("roll", self.pose.roll))}
                     if self.pose is not None else None),
            "blendshapes": {k: round(v, 3) for k, v in self.blendshapes.items()},
            "has_embedding": self.embedding is not None,
            "spoof_score": round(self.spoof_score, 4) if self.spoof_score is not None else None,
            "age": round(self.age, 1) if self.age is not None else None,
            "age_spread": round(self.age_spread, 1) if self.age_spread is not None else None,
        }


@dataclass(frozen=True)
class FrameAnalysis:
    """The pipeline's answer for one BGR frame: every face found, and per-stage timings (ms)."""

    image_shape: tuple[int, int]  # (height, width)
    faces: tuple[FaceAnalysis, ...]  # the largest, at most the pipeline's max_faces
    timings_ms: dict[str, float] = field(default_factory=dict)
    # Faces the detector found before the max_faces cap (None: as many as `faces`): a photo of
    # five people is reported as five, not as the four that were analysed.
    detected: int | None = None

    @property
    def faces_found(self) -> int:
        return len(self.faces) if self.detected is None else max(self.detected, len(self.faces))

    def to_dict(self) -> dict[str, object]:
        return {
            "image_shape": list(self.image_shape),
            "faces_found": self.faces_found,
            "faces": [f.to_dict() for f in self.faces],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


@dataclass(frozen=True)
class SpoofResult:
    """Deep Tree Network output: score = sum(|leaf_scores| x leaf_mask), lower = likelier live."""

    score: float
    leaf_scores: FloatArray  # (8,)
    leaf_mask: FloatArray  # (8,), one-hot: the leaf the face was routed to


@dataclass(frozen=True)
class AgeEstimate:
    """Expected age (years) and the standard deviation of the predicted age distribution."""

    age: float
    spread: float
