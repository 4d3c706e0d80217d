"""Didit's vocabulary for sessions, liveness and face search: statuses, methods, warning codes.

It lives in sync/ because the signed verdict (sync) and the session engine (app) both speak it,
and app may import sync but not the other way round.
"""

from __future__ import annotations

from enum import StrEnum


class SessionStatus(StrEnum):
    NOT_STARTED = "Not Started"
    IN_PROGRESS = "In Progress"
    APPROVED = "Approved"
    DECLINED = "Declined"
    IN_REVIEW = "In Review"
    RESUBMITTED = "Resubmitted"
    EXPIRED = "Expired"
    ABANDONED = "Abandoned"


FINAL_STATUSES = frozenset(
    {SessionStatus.APPROVED, SessionStatus.DECLINED, SessionStatus.IN_REVIEW,
     SessionStatus.EXPIRED, SessionStatus.ABANDONED}
)


class FeatureStatus(StrEnum):
    """Status of one report (liveness, face search, age) inside a session."""

    APPROVED = "Approved"
    DECLINED = "Declined"
    IN_REVIEW = "In Review"
    NOT_FINISHED = "Not Finished"


class LivenessMethod(StrEnum):
    PASSIVE = "PASSIVE"
    FLASHING = "FLASHING"
    ACTIVE_3D = "ACTIVE_3D"


class WarningCode(StrEnum):
    LIVENESS_FACE_ATTACK = "LIVENESS_FACE_ATTACK"
    LOW_LIVENESS_SCORE = "LOW_LIVENESS_SCORE"
    NO_FACE_DETECTED = "NO_FACE_DETECTED"
    MULTIPLE_FACES_DETECTED = "MULTIPLE_FACES_DETECTED"
    AGE_NOT_DETECTED = "AGE_NOT_DETECTED"
    POSSIBLE_DUPLICATED_FACE = "POSSIBLE_DUPLICATED_FACE"
    BLOCKLISTED_FACE = "BLOCKLISTED_FACE"
    LOW_FACE_QUALITY = "LOW_FACE_QUALITY"
    # Additions to the list in ARCHITECTURE.md; each names a refusal that has no Didit code.
    AGE_BELOW_MINIMUM = "AGE_BELOW_MINIMUM"
    ATTEMPT_LIMIT_EXCEEDED = "ATTEMPT_LIMIT_EXCEEDED"
    CHECK_NOT_COMPLETED = "CHECK_NOT_COMPLETED"
    # Capture integrity (our counterpart of Didit's device and IP analysis), also additions:
    # the booth camera is a virtual one, its frame times are not a camera's, or it is not the
    # camera the booth was provisioned with. The workflow says whether each declines or reviews.
    VIRTUAL_CAMERA = "VIRTUAL_CAMERA"
    IRREGULAR_FRAME_TIMING = "IRREGULAR_FRAME_TIMING"
    CAMERA_CHANGED = "CAMERA_CHANGED"


class CaptureKind(StrEnum):
    """Where a session's face came from. Only CAMERA (the booth's own camera, with its screen
    drawing the challenge) is evidence of a person present at the booth."""

    CAMERA = "camera"
    VIDEO_FILE = "video_file"
    RECORDING = "recording"
    SIMULATION = "simulation"
    IMAGE = "image"


class DuplicateAction(StrEnum):
    """What a 1:N hit above the review threshold does. DECLINE must be chosen explicitly."""

    REVIEW = "REVIEW"
    DECLINE = "DECLINE"
