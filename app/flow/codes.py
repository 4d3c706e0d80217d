"""The one table from the liveness analyzers' codes to the verdict's warning codes.

Exhaustive by test (tests/unit/test_codes.py): a code added on either side without the other
fails it; an unmapped code at run time raises (an internal failure), it is never dropped.
"""

from __future__ import annotations

from collections.abc import Iterable

from inference.codes import LivenessCode
from sync.vocabulary import WarningCode

LIVENESS_WARNINGS: dict[LivenessCode, WarningCode] = {
    LivenessCode.LIVENESS_FACE_ATTACK: WarningCode.LIVENESS_FACE_ATTACK,
    LivenessCode.LOW_LIVENESS_SCORE: WarningCode.LOW_LIVENESS_SCORE,
    LivenessCode.NO_FACE_DETECTED: WarningCode.NO_FACE_DETECTED,
    LivenessCode.MULTIPLE_FACES_DETECTED: WarningCode.MULTIPLE_FACES_DETECTED,
}

# Findings about the booth camera (app.capture.integrity, app.capture.frame_timing); each has
# a setting in the workflow's capture_integrity section (a test keeps both in step).
CAPTURE_INTEGRITY = frozenset({
    WarningCode.VIRTUAL_CAMERA, WarningCode.IRREGULAR_FRAME_TIMING, WarningCode.CAMERA_CHANGED,
})

# Verdict warnings that no liveness analyzer raises (the session and the other features do).
NOT_FROM_LIVENESS = frozenset({
    WarningCode.AGE_NOT_DETECTED, WarningCode.POSSIBLE_DUPLICATED_FACE,
    WarningCode.BLOCKLISTED_FACE, WarningCode.LOW_FACE_QUALITY, WarningCode.AGE_BELOW_MINIMUM,
    WarningCode.ATTEMPT_LIMIT_EXCEEDED, WarningCode.CHECK_NOT_COMPLETED,
}) | CAPTURE_INTEGRITY


def liveness_warnings(codes: Iterable[LivenessCode]) -> tuple[WarningCode, ...]:
    """The verdict's codes for an analyzer's codes, in order; KeyError on an unmapped one."""
    return tuple(LIVENESS_WARNINGS[LivenessCode(c)] for c in codes)
