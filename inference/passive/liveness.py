"""Passive liveness of one frame: calibrated fusion of image-forensic signals and Deep Tree.

Score 0-100, 100 = live: score = 100 * sigmoid(scale * (logit - operating_logit)), so the calibrated
operating point (chosen on the tuning split only) sits at 50 and the config thresholds keep their
meaning when the calibration is regenerated. Below `decline_threshold` the result is Declined
with LIVENESS_FACE_ATTACK; below `review_threshold` it stays Approved with LOW_LIVENESS_SCORE so
that the workflow can route it to review. A frame without exactly one face is Declined with
NO_FACE_DETECTED or MULTIPLE_FACES_DETECTED (fail closed).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from assets import asset_path
from inference.codes import LivenessCode, LivenessStatus
from inference.passive.fusion import LinearModel
from inference.passive.regions import U8
from inference.passive.signals import FaceSignals, face_signals
from inference.types import FaceAnalysis

_APPROVED, _DECLINED = LivenessStatus.APPROVED, LivenessStatus.DECLINED

log = logging.getLogger(__name__)

CALIBRATION_PATH = asset_path("liveness", "passive_calibration.json")
LBP_SIGNAL = "lbp_score"



class PassiveLivenessConfig(BaseModel):
    """Thresholds on the 0-100 score (50 = the calibrated operating point)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    decline_threshold: float = Field(default=50.0, ge=0, le=100,
                                     description="score below: Declined, LIVENESS_FACE_ATTACK")
    review_threshold: float = Field(default=65.0, ge=0, le=100,
                                    description="score below: LOW_LIVENESS_SCORE warning")
    calibration_path: Path | None = Field(
        default=None, description="calibration JSON; None = the file shipped in assets/liveness")

    @model_validator(mode="after")
    def _ordered(self) -> PassiveLivenessConfig:
        if self.review_threshold < self.decline_threshold:
            raise ValueError("review_threshold must be >= decline_threshold")
        return self


@dataclass(frozen=True)
class PassiveLivenessResult:
    status: LivenessStatus
    score: float  # 0-100, 100 = live
    warnings: tuple[LivenessCode, ...]
    signals: dict[str, float] = field(default_factory=dict)
    method: Literal["PASSIVE"] = "PASSIVE"

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "method": self.method, "score": self.score,
                "warnings": [{"code": c} for c in self.warnings],
                "signals": {k: round(v, 4) for k, v in self.signals.items()}}


@dataclass(frozen=True)
class PassiveCalibration:
    fusion: LinearModel
    lbp: LinearModel
    operating_logit: float
    scale: float
    meta: dict[str, Any]

    @classmethod
    def load(cls, path: Path = CALIBRATION_PATH) -> PassiveCalibration:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise FileNotFoundError(
                f"passive liveness calibration missing: {path} "
                "(run `poh liveness calibrate-passive`)") from exc
        if raw.get("version") != 1:
            raise ValueError(f"{path}: unsupported calibration version {raw.get('version')}")
        return cls(LinearModel.from_json(raw["fusion"]), LinearModel.from_json(raw["lbp"]),
                   float(raw["operating_logit"]), float(raw.get("score_scale", 1.0)),
                   {k: v for k, v in raw.items() if k not in ("fusion", "lbp")})

    def logit(self, s: FaceSignals) -> tuple[float, dict[str, float]]:
        values = dict(s.values)
        values[LBP_SIGNAL] = float(self.lbp.logits(s.lbp.astype(np.float64)))
        missing = [n for n in self.fusion.names if n not in values]
        if missing:
            raise ValueError(f"calibration needs signals that were not computed: {missing}")
        x = np.array([values[n] for n in self.fusion.names], np.float64)
        return float(self.fusion.logits(x)), values

    def score(self, logit: float) -> float:
        z = float(np.clip(self.scale * (logit - self.operating_logit), -30, 30))
        return 100.0 / (1.0 + math.exp(-z))


class PassiveLiveness:
    """Loads the calibration once; `assess` scores one frame given the pipeline's faces."""

    def __init__(self, config: PassiveLivenessConfig | None = None) -> None:
        self.config = config or PassiveLivenessConfig()
        self.calibration = PassiveCalibration.load(self.config.calibration_path or CALIBRATION_PATH)

    def assess(self, frame_bgr: U8, faces: Sequence[FaceAnalysis]) -> PassiveLivenessResult:
        if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3 or frame_bgr.dtype != np.uint8:
            raise ValueError(f"expected an HxWx3 uint8 BGR frame, got {frame_bgr.shape} "
                             f"{frame_bgr.dtype}")
        if not faces:
            return PassiveLivenessResult(_DECLINED, 0.0, (LivenessCode.NO_FACE_DETECTED,))
        if len(faces) > 1:
            return PassiveLivenessResult(_DECLINED, 0.0,
                                         (LivenessCode.MULTIPLE_FACES_DETECTED,))
        logit, values = self.calibration.logit(face_signals(frame_bgr, faces[0]))
        score = round(self.calibration.score(logit), 2)
        signals = {**values, "logit": logit}
        cfg = self.config
        if score < cfg.decline_threshold:
            return PassiveLivenessResult(_DECLINED, score, (LivenessCode.LIVENESS_FACE_ATTACK,),
                                         signals)
        if score < cfg.review_threshold:
            return PassiveLivenessResult(_APPROVED, score, (LivenessCode.LOW_LIVENESS_SCORE,),
                                         signals)
        return PassiveLivenessResult(_APPROVED, score, (), signals)
