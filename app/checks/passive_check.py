"""The passive check of one image: liveness, quality cues and age, in Didit's result shape."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import numpy.typing as npt

from inference.passive.liveness import PassiveLiveness
from inference.pipeline import FacePipeline
from inference.quality import QualityConfig, assess_quality
from inference.types import FaceAnalysis, FrameAnalysis

log = logging.getLogger(__name__)


def _face_dict(face: FaceAnalysis) -> dict[str, Any]:
    b = face.detection.box
    out: dict[str, Any] = {
        "box": [round(b.x1, 1), round(b.y1, 1), round(b.x2, 1), round(b.y2, 1)],
        "detection_score": round(face.detection.score, 4),
    }
    if face.pose is not None:
        out["pose"] = {"yaw": round(face.pose.yaw, 1), "pitch": round(face.pose.pitch, 1),
                       "roll": round(face.pose.roll, 1)}
    if face.spoof_score is not None:
        out["anti_spoofing_model_score"] = round(face.spoof_score, 4)
    return out


def _age_dict(face: FaceAnalysis | None, min_age: int | None) -> dict[str, Any]:
    if face is None or face.age is None:
        return {"status": "Declined" if min_age else "Not Finished", "age_estimation": None,
                "warnings": [{"code": "AGE_NOT_DETECTED"}]}
    age = round(float(face.age), 1)
    status = "Approved"
    warnings: list[dict[str, str]] = []
    if min_age is not None and age < min_age:
        status = "Declined"
        warnings.append({"code": "AGE_BELOW_MINIMUM"})
    return {"status": status, "age_estimation": age, "warnings": warnings}


def check_frame(
    frame_bgr: npt.NDArray[np.uint8],
    pipeline: FacePipeline,
    liveness: PassiveLiveness,
    quality_config: QualityConfig,
    *,
    min_age: int | None = None,
) -> dict[str, Any]:
    """Run the passive check; fail closed: anything short of one live face is not Approved."""
    analysis: FrameAnalysis = pipeline.analyze(frame_bgr)
    faces = analysis.faces
    live = liveness.assess(frame_bgr, faces)
    face = faces[0] if len(faces) == 1 else None
    quality = assess_quality(frame_bgr, face, len(faces), quality_config)
    live_dict = live.to_dict()
    warnings = list(live_dict.get("warnings", []))
    if face is not None and not quality.ok and live.status == "Approved":
        # a poor image is weak evidence of liveness: flag it, the workflow decides
        warnings.append({"code": "LOW_FACE_QUALITY"})
    live_dict["warnings"] = warnings
    age = _age_dict(face, min_age)
    status: str = live.status.value
    if min_age is not None and age["status"] != "Approved":
        status = "Declined"
    return {
        "status": status,
        "liveness": live_dict,
        "faces_detected": analysis.faces_found,  # all found, not only the max_faces analysed
        "face": _face_dict(face) if face is not None else None,
        "quality": quality.to_dict(),
        "age": age,
        "image": {"height": analysis.image_shape[0], "width": analysis.image_shape[1]},
        "timings_ms": {k: round(v, 2) for k, v in analysis.timings_ms.items()},
    }
