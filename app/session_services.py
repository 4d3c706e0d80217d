"""What a session run needs from the analyzers and from storage, as small Protocols.

The runner depends on these, not on concrete classes, so the kiosk UI, the headless runner and
the tests compose the same engine with the real parts (the passive analyzer, the storage
helper's face index service, the verdict store on the encrypted database).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from app.capture.recording import Recording
from app.session.inputs import LivenessInput, SearchInput
from inference.types import FrameAnalysis
from sync.verdict import SignedVerdict
from sync.vocabulary import LivenessMethod

BgrImage = npt.NDArray[np.uint8]
Template = npt.NDArray[np.float32]


class LivenessAnalyzer(Protocol):
    method: LivenessMethod

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
