"""Typed events the session engine emits; the kiosk UI and the headless runner observe them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.session.decision import Decision
from sync.vocabulary import SessionStatus, WarningCode


class Step(StrEnum):
    """What the engine waits for next."""

    START = "START"
    CONSENT = "CONSENT"  # give_consent() or refuse_consent(); no frame is analysed before it
    CAPTURE = "CAPTURE"  # frames
    LIVENESS = "LIVENESS"  # on_liveness() over the captured frames
    SEARCH = "SEARCH"  # on_search() with template()
    DONE = "DONE"


@dataclass(frozen=True)
class StatusChanged:
    old: SessionStatus
    new: SessionStatus
    at: float  # monotonic seconds


@dataclass(frozen=True)
class StepChanged:
    step: Step


@dataclass(frozen=True)
class FrameAccepted:
    index: int
    accepted: int
    required: int


@dataclass(frozen=True)
class FrameRejected:
    index: int
    code: WarningCode
    cues: tuple[str, ...] = ()  # quality cue codes, for the person in front of the kiosk


@dataclass(frozen=True)
class CaptureCompleted:
    frame_indices: tuple[int, ...]


@dataclass(frozen=True)
class RetakeRequested:
    retake: int
    max_retakes: int
    code: WarningCode
    reason: str


@dataclass(frozen=True)
class SessionFinished:
    decision: Decision


Event = (StatusChanged | StepChanged | FrameAccepted | FrameRejected | CaptureCompleted
         | RetakeRequested | SessionFinished)
