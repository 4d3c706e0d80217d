"""Typed events of the session flow, for the kiosk screen and the headless loop.

The flow also passes on the session engine's own events (status, step, accepted and rejected
frames, retakes, the decision); these are what only the flow knows: which cue to show, the
challenge to draw, progress, and the final result.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.capture.plan import ChallengePlan
from app.flow.result import SessionResult
from app.session.events import Event as EngineEvent


class Stage(StrEnum):
    """What the person in front of the kiosk is doing (the screen to show)."""

    CONSENT = "CONSENT"  # reading what is checked and kept
    POSITIONING = "POSITIONING"  # live preview, one cue at a time, frames being captured
    CHALLENGE = "CHALLENGE"  # the screen draws the plan (FLASHING / ACTIVE_3D)
    PROCESSING = "PROCESSING"  # liveness, search, signing
    DONE = "DONE"
    FAILED = "FAILED"  # an internal failure: no verdict


@dataclass(frozen=True)
class StageChanged:
    stage: Stage


@dataclass(frozen=True)
class CueChanged:
    """One instruction at a time from the quality cues; code None clears it."""

    code: str | None
    i18n_key: str | None  # key in assets/i18n/cues.json ("cues.<CODE>")


@dataclass(frozen=True)
class ChallengePlanned:
    """Draw this plan now; report the recording made while drawing it (push_recording)."""

    plan: ChallengePlan


@dataclass(frozen=True)
class Progress:
    stage: Stage
    done: int
    total: int

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0


@dataclass(frozen=True)
class ResultReady:
    result: SessionResult


@dataclass(frozen=True)
class SessionFailed:
    """An internal failure ended the session without a verdict (logged with its traceback)."""

    reason: str


FlowEvent = (EngineEvent | StageChanged | CueChanged | ChallengePlanned | Progress | ResultReady
             | SessionFailed)
