"""The challenge exchange of an active session: the plan goes to a screen and a camera, a
capture recording comes back, and the recording is checked against the plan before analysis.

A kiosk's screen and camera answer the plan they were given. The headless runner has no screen:
it takes either the simulator (which renders the 3D face scan answering the plan) or a stored
capture recording. A stored recording answers some earlier nonce, never this session's fresh
one: it is refused as a replay, which is exactly what must happen to a recorded answer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from app.capture.frames import Frame, FrameSource, frame_digest
from app.capture.plan import ChallengePlan
from app.capture.recording import Recording, read_recording
from sync.verdict import response_digest
from sync.vocabulary import CaptureKind

log = logging.getLogger(__name__)

# The screen shows each cue for whole display refreshes, and the capture clock is read once per
# frame: the durations it reports may differ from the plan's by a refresh or two.
CUE_TOLERANCE_S = 0.05
# Cosine similarity of the challenge face to the accepted frames' faces: the same person seen
# seconds apart under a coloured light scores far above this (different people rarely reach
# the 1:N review threshold of 0.53; see poh-lab eval dedup).
SAME_FACE_MIN = 0.45


class ChallengeConfig(BaseModel):
    """The `challenge` section of the kiosk configuration: how strictly a response must match."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cue_tolerance_s: float = Field(default=CUE_TOLERANCE_S, gt=0.0, le=1.0)
    same_face_min: float = Field(default=SAME_FACE_MIN, ge=0.0, le=1.0)
    # Delay from "presented" (after the buffer swap) to "seen by the camera", measured on the
    # booth (app/capture/calibration.py); the analysis shifts the presented cues by it.
    display_delay_s: float = Field(default=0.0, ge=0.0, le=0.5)


class ChallengeCamera(Protocol):
    """Shows a plan on the kiosk screen and records the face answering it."""

    description: str
    kind: CaptureKind  # CAMERA for the booth's own screen and camera

    def capture(self, plan: ChallengePlan) -> Recording: ...


class StoredRecordingCamera:
    """A capture recording read from disk: it answers the nonce it was recorded for."""

    def __init__(self, folder: Path) -> None:
        self._recording = read_recording(folder)  # malformed: RecordingError, before a session
        self.description = f"recording {folder.name}"
        self.kind = CaptureKind.RECORDING

    def capture(self, plan: ChallengePlan) -> Recording:
        return self._recording


def response_mismatch(plan: ChallengePlan, rec: Recording,
                      tolerance_s: float = CUE_TOLERANCE_S) -> str | None:
    """Why the recording is not an answer to this plan (None: it is).

    The plan is recomputed from the session's nonce; the recording must carry that nonce and
    report the same cues, in order, each lasting what the plan asked for."""
    if rec.method != plan.method:
        return f"the response is a {rec.method} recording, the session asked for {plan.method}"
    if rec.nonce != plan.nonce:
        return "the response was recorded for another challenge (nonce differs): a replay"
    if len(rec.colours) != len(plan.colours):
        return (f"the response shows {len(rec.colours)} colours, the challenge "
                f"{len(plan.colours)}")
    for i, (shown, asked) in enumerate(zip(rec.colours, plan.colours, strict=True)):
        if (shown.rgb_right is None) != (asked.rgb_right is None) or any(
                abs(a - b) > 1e-3 for a, b in zip(shown.left + shown.right,
                                                 asked.left + asked.right, strict=True)):
            return f"colour {i} of the response is not the challenge's"
        if abs((shown.t_end - shown.t_start) - (asked.t_end - asked.t_start)) > tolerance_s:
            return f"colour {i} was shown for a different time than the challenge asked"
    if [a.action for a in rec.actions] != [a.action for a in plan.actions]:
        return "the actions in the response are not the challenge's"
    if not rec.frames:
        return "the response has no frames"
    return None


def digest_of(rec: Recording) -> str:
    """SHA-256 binding the nonce to the cues as shown and to every frame with its time."""
    # A whole-screen cue keeps the digest it always had; a halves cue adds its right colour.
    cues = json.dumps({"colours": [[c.t_start, c.t_end, list(c.rgb)]
                                   + ([list(c.rgb_right)] if c.rgb_right is not None else [])
                                   for c in rec.colours],
                       "actions": [[a.t_start, a.t_end, a.action] for a in rec.actions],
                       "fps": rec.fps}, separators=(",", ":")).encode("ascii")
    parts = [cues]
    for t, frame in zip(rec.times, rec.frames, strict=True):
        parts.append(f"{float(t):.6f}".encode("ascii") + frame_digest(frame))
    return response_digest(rec.nonce, parts)


class RecordingSource(FrameSource):
    """A recording's frames on its own clock, for the session's capture and quality steps."""

    def __init__(self, rec: Recording, description: str) -> None:
        super().__init__(description, live=False, fps=rec.fps, kind=CaptureKind.RECORDING)
        self._rec = rec

    def __iter__(self) -> Iterator[Frame]:
        t0 = self._rec.times[0] if self._rec.times else 0.0
        for i, (t, img) in enumerate(zip(self._rec.times, self._rec.frames, strict=True)):
            self.frames_read += 1
            yield Frame(i, float(t) - t0, img)
        self.end_reason = f"challenge recording ended after {self.frames_read} frames"
