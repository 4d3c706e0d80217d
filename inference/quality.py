"""Image quality and lighting cues for one frame: what the person should change before capture.

`assess_quality` is a pure function of the frame, the chosen face and the number of faces: it
measures luminance, backlight, light balance, sharpness, framing, head pose and eye openness, and
returns one cue per failed check with the measured value, the limit and a short instruction in
English and Bahasa Indonesia (texts live in assets/i18n/cues.json so that translators need not
touch code). Luminance is Rec. 601 luma in 0-255, measured on the inner part of the face box so
that hair and background do not count as face.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from assets import asset_path
from inference.types import Box, FaceAnalysis

CUES_PATH = asset_path("i18n", "cues.json")

CueCode = Literal[
    "NO_FACE", "MULTIPLE_FACES", "FACE_TOO_SMALL", "FACE_TOO_LARGE", "OFF_CENTER", "TURNED_AWAY",
    "TOO_DARK", "TOO_BRIGHT", "BACKLIT", "UNEVEN_LIGHT", "BLURRED", "EYES_CLOSED",
]

# Six eye contour points per eye on the 478-point mesh, in the order of Soukupova and Cech's eye
# aspect ratio: outer corner, two upper lid points, inner corner, two lower lid points.
_EYE_POINTS = ((33, 160, 158, 133, 153, 144), (362, 385, 387, 263, 373, 380))
_SHARPNESS_WIDTH = 128  # sharpness is measured on the face resized to this width


class QualityConfig(BaseModel):
    """Limits for the quality cues (kiosk camera at arm's length, 640x480 or larger)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_face_luma: float = Field(
        default=70.0, ge=0, le=255, description="mean face luma below: TOO_DARK")
    max_face_luma: float = Field(
        default=205.0, ge=0, le=255, description="mean face luma above: TOO_BRIGHT")
    max_clipped_fraction: float = Field(
        default=0.12, ge=0, le=1,
        description="share of face pixels at >= 250 luma above: TOO_BRIGHT")
    max_backlight_ratio: float = Field(
        default=1.6, gt=0, description="background / face mean luma above: BACKLIT")
    min_backlight_luma: float = Field(
        default=150.0, ge=0, le=255,
        description="BACKLIT only when the background is at least this bright")
    max_side_imbalance: float = Field(
        default=0.35, ge=0, le=1,
        description="|left - right| / max(left, right) face luma: UNEVEN_LIGHT")
    min_sharpness: float = Field(
        default=0.30, ge=0,
        description="fine / medium detail ratio of the face at 128 px (see sharpness): BLURRED")
    min_face_fraction: float = Field(
        default=0.18, gt=0, le=1,
        description="face box width / shorter frame side below: FACE_TOO_SMALL")
    min_face_px: float = Field(
        default=80.0, gt=0, description="face box width in pixels below: too small")
    max_face_fraction: float = Field(
        default=0.75, gt=0, le=2,
        description="face box width / shorter frame side above: FACE_TOO_LARGE")
    max_center_offset: float = Field(
        default=0.22, ge=0, le=1,
        description="face centre offset / frame size (per axis): OFF_CENTER")
    max_abs_yaw: float = Field(default=25.0, ge=0, le=90, description="degrees: TURNED_AWAY")
    max_abs_pitch: float = Field(default=20.0, ge=0, le=90, description="degrees: TURNED_AWAY")
    max_eye_blink: float = Field(
        default=0.5, ge=0, le=1, description="blendshape eyeBlink (either eye) above: EYES_CLOSED")
    min_eye_aspect: float = Field(
        default=0.16, ge=0, description="mesh eye aspect ratio (both eyes) below: EYES_CLOSED")


@dataclass(frozen=True)
class QualityCue:
    """One failed check: what was measured, the limit it broke and what to tell the person."""

    code: CueCode
    value: float
    limit: float
    instruction: dict[str, str]  # language code ("en", "id") -> short instruction

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "value": round(self.value, 4), "limit": self.limit,
                "instruction": dict(self.instruction)}


@dataclass(frozen=True)
class QualityReport:
    """All cues for one frame (most urgent first) and every measurement taken."""

    cues: tuple[QualityCue, ...]
    measures: dict[str, float]

    @property
    def ok(self) -> bool:
        return not self.cues

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.cues)

    def to_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "cues": [c.to_dict() for c in self.cues],
                "measures": {k: round(v, 4) for k, v in self.measures.items()}}


@lru_cache(maxsize=4)
def cue_texts(path: Path = CUES_PATH) -> dict[str, dict[str, str]]:
    """Instruction per cue code and language, read once from the assets file."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    texts: dict[str, dict[str, str]] = raw["cues"]
    return texts


def _cue(code: CueCode, value: float, limit: float) -> QualityCue:
    return QualityCue(code, float(value), float(limit), dict(cue_texts()[code]))


def _luma(frame_bgr: np.ndarray) -> np.ndarray:
    if frame_bgr.ndim == 2:
        return frame_bgr.astype(np.float32)
    return cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)


def _clip_box(box: Box, w: int, h: int) -> tuple[int, int, int, int]:
    x1 = int(np.clip(np.floor(box.x1), 0, w))
    y1 = int(np.clip(np.floor(box.y1), 0, h))
    x2 = int(np.clip(np.ceil(box.x2), 0, w))
    y2 = int(np.clip(np.ceil(box.y2), 0, h))
    return x1, y1, x2, y2


def _scaled(box: Box, factor: float) -> Box:
    cx, cy = box.center
    hw, hh = box.width * factor / 2, box.height * factor / 2
    return Box(cx - hw, cy - hh, cx + hw, cy + hh)


def eye_aspect_ratio(points: np.ndarray) -> float:
    """Mean eye aspect ratio of both eyes from the 478-point mesh (open eyes about 0.25-0.35)."""
    ears = []
    for p1, p2, p3, p4, p5, p6 in _EYE_POINTS:
        a = np.linalg.norm(points[p2, :2] - points[p6, :2])
        b = np.linalg.norm(points[p3, :2] - points[p5, :2])
        c = np.linalg.norm(points[p1, :2] - points[p4, :2])
        ears.append(float((a + b) / (2.0 * max(float(c), 1e-6))))
    return float(np.mean(ears))


def _framing(face: FaceAnalysis, w: int, h: int, cfg: QualityConfig,
             m: dict[str, float]) -> list[QualityCue]:
    box = face.detection.box
    short = float(min(w, h))
    m["face_fraction"] = box.width / short
    m["face_px"] = box.width
    cues = []
    if m["face_fraction"] < cfg.min_face_fraction:
        cues.append(_cue("FACE_TOO_SMALL", m["face_fraction"], cfg.min_face_fraction))
    elif m["face_px"] < cfg.min_face_px:
        cues.append(_cue("FACE_TOO_SMALL", m["face_px"], cfg.min_face_px))
    elif m["face_fraction"] > cfg.max_face_fraction:
        cues.append(_cue("FACE_TOO_LARGE", m["face_fraction"], cfg.max_face_fraction))
    cx, cy = box.center
    m["center_offset"] = max(abs(cx / w - 0.5), abs(cy / h - 0.5))
    if m["center_offset"] > cfg.max_center_offset:
        cues.append(_cue("OFF_CENTER", m["center_offset"], cfg.max_center_offset))
    if face.pose is not None:
        m["yaw"], m["pitch"] = face.pose.yaw, face.pose.pitch
        yaw_excess = abs(face.pose.yaw) / cfg.max_abs_yaw if cfg.max_abs_yaw else 0.0
        pitch_excess = abs(face.pose.pitch) / cfg.max_abs_pitch if cfg.max_abs_pitch else 0.0
        if yaw_excess > 1.0 and yaw_excess >= pitch_excess:
            cues.append(_cue("TURNED_AWAY", abs(face.pose.yaw), cfg.max_abs_yaw))
        elif pitch_excess > 1.0:
            cues.append(_cue("TURNED_AWAY", abs(face.pose.pitch), cfg.max_abs_pitch))
    return cues


def _lighting(luma: np.ndarray, face: FaceAnalysis, cfg: QualityConfig,
              m: dict[str, float]) -> list[QualityCue]:
    h, w = luma.shape
    box = face.detection.box
    x1, y1, x2, y2 = _clip_box(_scaled(box, 0.7), w, h)
    if x2 - x1 < 4 or y2 - y1 < 4:
        return []
    inner = luma[y1:y2, x1:x2]
    m["face_luma"] = float(inner.mean())
    m["clipped_fraction"] = float((inner >= 250).mean())
    cues = []
    if m["face_luma"] < cfg.min_face_luma:
        cues.append(_cue("TOO_DARK", m["face_luma"], cfg.min_face_luma))
    elif m["face_luma"] > cfg.max_face_luma:
        cues.append(_cue("TOO_BRIGHT", m["face_luma"], cfg.max_face_luma))
    elif m["clipped_fraction"] > cfg.max_clipped_fraction:
        cues.append(_cue("TOO_BRIGHT", m["clipped_fraction"], cfg.max_clipped_fraction))

    # Background: a ring around the head (1.6x to 3x the face box), where a window or lamp
    # behind the person shows up.
    ox1, oy1, ox2, oy2 = _clip_box(_scaled(box, 3.0), w, h)
    ix1, iy1, ix2, iy2 = _clip_box(_scaled(box, 1.6), w, h)
    ring = np.zeros(luma.shape, bool)
    ring[oy1:oy2, ox1:ox2] = True
    ring[iy1:iy2, ix1:ix2] = False
    if ring.sum() >= 100:
        bg = float(luma[ring].mean())
        m["background_luma"] = bg
        m["backlight_ratio"] = bg / max(m["face_luma"], 1.0)
        if (m["backlight_ratio"] > cfg.max_backlight_ratio and bg >= cfg.min_backlight_luma
                and "TOO_BRIGHT" not in (c.code for c in cues)):
            cues.append(_cue("BACKLIT", m["backlight_ratio"], cfg.max_backlight_ratio))

    # Left/right balance around the nose tip (the detector's keypoint 2), so that a turned head
    # does not count as uneven light.
    nose_x = float(face.detection.keypoints[2, 0])
    split = int(np.clip(round(nose_x), x1 + 2, x2 - 2)) - x1
    left, right = float(inner[:, :split].mean()), float(inner[:, split:].mean())
    m["side_imbalance"] = abs(left - right) / max(left, right, 1.0)
    if m["side_imbalance"] > cfg.max_side_imbalance and "TOO_DARK" not in (c.code for c in cues):
        cues.append(_cue("UNEVEN_LIGHT", m["side_imbalance"], cfg.max_side_imbalance))
    return cues


def sharpness(luma: np.ndarray, box: Box) -> float:
    """Fine over medium detail of the inner face at a fixed width: std(x - G1(x)) / std(G1(x) -
    G3(x)), with Gk a Gaussian blur of sigma k px. A ratio, so skin tone, contrast and wrinkles
    matter far less than for the variance of the Laplacian (sharp faces 0.37-0.52, sigma 2.5 px
    of blur on a 250 px face about 0.23-0.28)."""
    h, w = luma.shape
    x1, y1, x2, y2 = _clip_box(_scaled(box, 0.8), w, h)
    if x2 - x1 < 8 or y2 - y1 < 8:
        return 0.0
    crop = cv2.resize(luma[y1:y2, x1:x2], (_SHARPNESS_WIDTH, _SHARPNESS_WIDTH),
                      interpolation=cv2.INTER_AREA)
    b1 = cv2.GaussianBlur(crop, (0, 0), 1.0)
    b3 = cv2.GaussianBlur(crop, (0, 0), 3.0)
    return float(np.std(crop - b1) / max(float(np.std(b1 - b3)), 1e-3))


def _eyes(face: FaceAnalysis, cfg: QualityConfig, m: dict[str, float]) -> list[QualityCue]:
    blinks = [face.blendshapes[k] for k in ("eyeBlinkLeft", "eyeBlinkRight")
              if k in face.blendshapes]
    if blinks:
        m["eye_blink"] = float(min(blinks))
        # Both eyes closed: one closed eye is a wink or a squint, not a closed-eye capture.
        if m["eye_blink"] > cfg.max_eye_blink:
            return [_cue("EYES_CLOSED", m["eye_blink"], cfg.max_eye_blink)]
        return []
    if face.landmarks is not None:
        m["eye_aspect"] = eye_aspect_ratio(face.landmarks.points)
        if m["eye_aspect"] < cfg.min_eye_aspect:
            return [_cue("EYES_CLOSED", m["eye_aspect"], cfg.min_eye_aspect)]
    return []


def assess_quality(
    frame_bgr: np.ndarray,
    face: FaceAnalysis | None,
    n_faces: int,
    config: QualityConfig,
) -> QualityReport:
    """Quality cues for `face` (the face to capture, usually the largest) in `frame_bgr`.

    `n_faces` is the number of faces the detector found in the frame. Cues come most urgent first:
    face presence, framing, pose, light, sharpness, eyes.
    """
    if frame_bgr.ndim not in (2, 3) or frame_bgr.size == 0:
        raise ValueError(f"expected an HxW or HxWx3 image, got shape {frame_bgr.shape}")
    h, w = frame_bgr.shape[:2]
    m: dict[str, float] = {"n_faces": float(n_faces)}
    if face is None or n_faces <= 0:
        return QualityReport((_cue("NO_FACE", float(n_faces), 1.0),), m)
    cues: list[QualityCue] = []
    if n_faces > 1:
        cues.append(_cue("MULTIPLE_FACES", float(n_faces), 1.0))
    cues += _framing(face, w, h, config, m)
    luma = _luma(frame_bgr)
    cues += _lighting(luma, face, config, m)
    m["sharpness"] = sharpness(luma, face.detection.box)
    if m["sharpness"] < config.min_sharpness:
        cues.append(_cue("BLURRED", m["sharpness"], config.min_sharpness))
    cues += _eyes(face, config, m)
    return QualityReport(tuple(cues), m)
