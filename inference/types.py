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


@dataclass(frozen=True)
class FrameAnalysis:
    """The pipeline's answer for one BGR frame: every face found, and per-stage timings (ms)."""

    image_shape: tuple[int, int]  # (height, width)
    faces: tuple[FaceAnalysis, ...]
    timings_ms: dict[str, float] = field(default_factory=dict)


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
