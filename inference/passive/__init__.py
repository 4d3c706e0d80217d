"""Passive liveness (method PASSIVE): image-forensic signals fused with the Deep Tree score.

    from inference.passive import PassiveLiveness, PassiveLivenessConfig
    result = PassiveLiveness(PassiveLivenessConfig()).assess(frame_bgr, frame_analysis.faces)
    result.to_dict()  # {"status", "method": "PASSIVE", "score", "warnings": [{"code"}], "signals"}
"""

from inference.passive.liveness import (
    CALIBRATION_PATH,
    PassiveCalibration,
    PassiveLiveness,
    PassiveLivenessConfig,
    PassiveLivenessResult,
)
from inference.passive.signals import FaceSignals, face_signals

__all__ = [
    "CALIBRATION_PATH",
    "FaceSignals",
    "PassiveCalibration",
    "PassiveLiveness",
    "PassiveLivenessConfig",
    "PassiveLivenessResult",
    "face_signals",
]
