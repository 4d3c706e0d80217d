"""Run active liveness on a capture recording (the reader's output)."""

from __future__ import annotations

from app.capture.recording import Recording, RecordingError
from inference.active.analyzer import ActiveInput, ActiveLiveness, ActiveResult


def to_input(rec: Recording) -> ActiveInput:
    if rec.method not in ("FLASHING", "ACTIVE_3D"):
        raise RecordingError(f"{rec.method} recordings have no active challenge to analyse")
    return ActiveInput(rec.method, rec.fps, rec.times, rec.frames,
                       tuple((c.t_start, c.t_end, c.rgb) for c in rec.colours),
                       tuple((a.t_start, a.t_end, a.action) for a in rec.actions))


def analyze_recording(liveness: ActiveLiveness, rec: Recording) -> ActiveResult:
    return liveness.analyze(to_input(rec))
