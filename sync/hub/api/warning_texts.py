"""Didit-style warning objects from the verdict's warning codes: the risk code Didit uses, how
severe it is for the decision (log_type), and the descriptions an integrator reads."""

from __future__ import annotations

from typing import Any

from sync.hub.api.defs.decision import LogType, WarningObject
from sync.vocabulary import FeatureStatus

# our code -> (Didit's risk code, short description, long description)
_TEXTS: dict[str, tuple[str, str, str]] = {
    "LIVENESS_FACE_ATTACK": ("LIVENESS_FACE_ATTACK", "Presentation attack detected",
                             "The face was judged a spoof: a print, a screen replay, a mask or "
                             "a synthetic face, or the screen challenge was not answered."),
    "LOW_LIVENESS_SCORE": ("LOW_LIVENESS_SCORE", "Low liveness score",
                           "The liveness score is at or below the workflow's threshold."),
    "NO_FACE_DETECTED": ("NO_FACE_DETECTED", "No face detected",
                         "No face could be found in the capture."),
    "MULTIPLE_FACES_DETECTED": ("MULTIPLE_FACES_DETECTED", "Multiple faces detected",
                                "More than one face was in the capture."),
    "AGE_NOT_DETECTED": ("AGE_NOT_DETECTED", "Age not estimated",
                         "The age of the person could not be estimated."),
    "AGE_BELOW_MINIMUM": ("AGE_BELOW_MINIMUM", "Below the minimum age",
                          "The estimated age is below the workflow's minimum age."),
    "POSSIBLE_DUPLICATED_FACE": ("POSSIBLE_DUPLICATED_FACE", "Possible duplicated face",
                                 "The face matches a person enrolled by another session; a "
                                 "reviewer decides (a 1:N match is never declined without one)."),
    "BLOCKLISTED_FACE": ("FACE_IN_BLOCKLIST", "Face in blocklist",
                         "The face matches an entry of the blocklist."),
    "LOW_FACE_QUALITY": ("LOW_FACE_QUALITY", "Low face quality",
                         "The face was blurred, too dark, too bright or too small."),
    "ATTEMPT_LIMIT_EXCEEDED": ("ATTEMPT_LIMIT_EXCEEDED", "Too many attempts",
                               "The person or the booth exceeded the workflow's attempt limit."),
    "CHECK_NOT_COMPLETED": ("CHECK_NOT_COMPLETED", "Check not completed",
                            "The check could not be completed (e.g. the challenge was refused)."),
    "VIRTUAL_CAMERA": ("VIRTUAL_CAMERA", "Virtual camera",
                       "The booth's camera looks virtual (an injected video feed)."),
    "IRREGULAR_FRAME_TIMING": ("IRREGULAR_FRAME_TIMING", "Irregular frame timing",
                               "The frames did not arrive with a real camera's timing."),
    "CAMERA_CHANGED": ("CAMERA_CHANGED", "Camera changed",
                       "The camera is not the one the booth was provisioned with."),
}
# codes that decline on their own whatever the workflow says
_ALWAYS_ERROR = frozenset({"LIVENESS_FACE_ATTACK", "NO_FACE_DETECTED", "BLOCKLISTED_FACE",
                           "VIRTUAL_CAMERA", "CAMERA_CHANGED"})


def log_type(code: str, status: FeatureStatus) -> LogType:
    """Didit: auto-decline risks are errors; others follow what they did to the report."""
    if code in _ALWAYS_ERROR or status is FeatureStatus.DECLINED:
        return "error"
    if status is FeatureStatus.IN_REVIEW:
        return "warning"
    return "information"


def warning_object(code: str, status: FeatureStatus, node_id: str,
                   additional_data: dict[str, Any] | None = None) -> WarningObject:
    risk, short, long = _TEXTS.get(code, (code, code.replace("_", " ").capitalize(), code))
    return WarningObject(feature="LIVENESS", risk=risk, additional_data=additional_data,
                         log_type=log_type(code, status), short_description=short,
                         long_description=long, node_id=node_id)
