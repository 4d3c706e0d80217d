"""The pure session engine and its decision table (no Qt, no I/O)."""

from app.session.decision import Decision, decide, decide_by_credential, decide_unfinished
from app.session.engine import SessionEngine, SessionStateError
from app.session.events import (
    CaptureCompleted,
    Event,
    FrameAccepted,
    FrameRejected,
    RetakeRequested,
    SessionFinished,
    StatusChanged,
    Step,
    StepChanged,
)
from app.session.inputs import (
    AttemptCounts,
    CaptureFinding,
    Clock,
    CredentialInput,
    FrameQuality,
    LivenessInput,
    ManualClock,
    SearchInput,
    SearchMatch,
    SystemClock,
)

__all__ = [
    "AttemptCounts", "CaptureCompleted", "CaptureFinding", "Clock", "CredentialInput",
    "Decision", "Event",
    "FrameAccepted", "FrameQuality", "FrameRejected", "LivenessInput", "ManualClock",
    "RetakeRequested", "SearchInput", "SearchMatch", "SessionEngine", "SessionFinished",
    "SessionStateError", "StatusChanged", "Step", "StepChanged", "SystemClock", "decide",
    "decide_by_credential", "decide_unfinished",
]
