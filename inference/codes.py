"""What the liveness analyzers can answer, as types: a status and warning codes.

The app maps every code to the verdict's vocabulary (sync.vocabulary.WarningCode) through one
explicit table (app.flow.codes); a code added here without a mapping fails a test, and an
unmapped code at run time is an internal failure, never silently dropped.
"""

from __future__ import annotations

from enum import StrEnum


class LivenessStatus(StrEnum):
    APPROVED = "Approved"
    DECLINED = "Declined"


class LivenessCode(StrEnum):
    LIVENESS_FACE_ATTACK = "LIVENESS_FACE_ATTACK"
    LOW_LIVENESS_SCORE = "LOW_LIVENESS_SCORE"
    NO_FACE_DETECTED = "NO_FACE_DETECTED"
    MULTIPLE_FACES_DETECTED = "MULTIPLE_FACES_DETECTED"
