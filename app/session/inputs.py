"""What the session engine consumes besides frames: results from liveness, search and quality.

The engine is pure: the driver (kiosk UI or headless runner) computes these with the real
analyzers and hands them in, adapted to these small types.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from sync.vocabulary import LivenessMethod, WarningCode


class Clock(Protocol):
    """Monotonic seconds for time-outs, wall-clock epoch seconds for timestamps."""

    def monotonic(self) -> float: ...

    def wall(self) -> float: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()


class ManualClock:
    """A clock that moves only when told: tests, and video files (time follows the frames)."""

    def __init__(self, wall_start: float | None = None) -> None:
        self._mono = 0.0
        self._wall0 = time.time() if wall_start is None else wall_start

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go back")
        self._mono += seconds

    def monotonic(self) -> float:
        return self._mono

    def wall(self) -> float:
        return self._wall0 + self._mono


class FrameQuality(Protocol):
    """The quality verdict for one frame (inference.quality.QualityReport fits)."""

    @property
    def ok(self) -> bool: ...

    @property
    def codes(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class LivenessInput:
    """One liveness check over the captured frames; score 0-100, higher = more likely live."""

    method: LivenessMethod
    score: float | None
    attack: bool
    warnings: tuple[WarningCode, ...] = ()
    response_digest: str | None = None  # sha256 hex of the challenge response (frames, cues)


@dataclass(frozen=True)
class CaptureFinding:
    """A capture-integrity finding about the booth camera (VIRTUAL_CAMERA,
    IRREGULAR_FRAME_TIMING, CAMERA_CHANGED) with the reason in one line; the workflow's
    capture_integrity section says whether it declines or goes to review."""

    code: WarningCode
    reason: str


@dataclass(frozen=True)
class SearchMatch:
    vendor_data: str | None
    similarity: float  # cosine similarity of the templates
    session_id: str | None = None
    blocklisted: bool = False


@dataclass(frozen=True)
class SearchInput:
    """A 1:N search of the session's template; matches best first."""

    matches: tuple[SearchMatch, ...]
    gallery_size: int = 0


@dataclass(frozen=True)
class AttemptCounts:
    """Sessions already started within the workflow's window, before this one."""

    person: int
    device: int


@dataclass(frozen=True)
class CredentialInput:
    """A reusable credential whose signature, expiry and revocation were already checked."""

    jti: str
    issuer: str  # device id of the issuing kiosk
    key_id: str
    subject: str
    method: LivenessMethod
    issued_at: int
    expires_at: int
    age_over: int | None = None
