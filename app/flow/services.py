"""What a session flow needs from the analyzers and from storage, as small Protocols, and the
bundle of them (SessionParts) that the composition root builds once.

The flow depends on these, not on concrete classes, so the kiosk UI, the headless loop and the
tests compose the same engine with the real parts (the passive analyzer, the storage helper's
face index service, the verdict store on the encrypted database).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from app.capture.plan import ChallengePlan
from app.capture.recording import Recording
from app.session.inputs import LivenessInput, SearchInput
from inference.pipeline import FacePipeline
from inference.quality import QualityConfig
from inference.types import FrameAnalysis
from sync.device_key import DeviceKey
from sync.verdict import SignedVerdict
from sync.vocabulary import LivenessMethod

BgrImage = npt.NDArray[np.uint8]
Template = npt.NDArray[np.float32]


class LivenessAnalyzer(Protocol):
    method: LivenessMethod

    def plan(self, nonce: bytes) -> ChallengePlan | None:
        """The challenge the screen draws for this nonce (None: the method has none); the one
        analyze() checks the response against, so the two never disagree within a session."""
        ...

    def analyze(self, frames: Sequence[BgrImage], analyses: Sequence[FrameAnalysis],
                nonce: bytes, response: Recording | None = None) -> LivenessInput:
        """One liveness result over the session's accepted frames (and, for an active method,
        the recording that answered the challenge), bound to the nonce."""
        ...


class FaceSearchService(Protocol):
    def search(self, template: Template, k: int) -> SearchInput: ...

    def enroll(self, vendor_data: str, session_id: str, template: Template) -> None: ...


class SessionLog(Protocol):
    """Sessions, the verdict log and the outbox (sync.verdict_store.VerdictStore fits)."""

    def record_session_start(self, session_id: str, vendor_data: str, workflow_id: str,
                             workflow_version: int, started_at: float) -> None: ...

    def count_attempts(self, vendor_data: str, since: float) -> tuple[int, int]: ...

    def append(self, build: Callable[[int], SignedVerdict], *, kind: str = ...,
               before_commit: Callable[[], None] | None = ...) -> tuple[SignedVerdict, bytes]:
        ...


class EvidenceSink(Protocol):
    """Keeps a session's challenge recording (app.capture.evidence.EvidenceStore fits)."""

    def keep(self, session_id: str, recording: Recording, *, send: bool = False) -> None:
        """`send`: also mark it for the fleet's hub (workflow `sync_evidence`)."""


@dataclass(frozen=True)
class SessionParts:
    """Everything a session needs, built once by the composition root (app.kiosk.root).

    `scratch_key`: the signing key is a lab or demo key, never a booth's; only such a key may
    sign a verdict whose face did not come from the booth's own camera."""

    pipeline: FacePipeline
    quality: QualityConfig
    liveness: LivenessAnalyzer
    search: FaceSearchService | None
    sessions: SessionLog
    key: DeviceKey
    evidence: EvidenceSink | None = None  # keeps challenge recordings, encrypted, if asked
    scratch_key: bool = False
