"""Run active liveness on a capture recording (the reader's output)."""

from __future__ import annotations

import math

from app.capture.recording import Recording, RecordingError
from inference.active.analyzer import ActiveInput, ActiveLiveness, ActiveResult


def to_input(rec: Recording, display_delay_s: float = 0.0) -> ActiveInput:
    """The analyzer's input. The recording's cue times are when the screen presented them; the
    camera sees each one display_delay_s later (calibrated on the booth), so the analyzer gets
    the cues shifted by it. The recording itself is unchanged: its digest binds what was
    presented."""
    if rec.method not in ("FLASHING", "ACTIVE_3D"):
        raise RecordingError(f"{rec.method} recordings have no active challenge to analyse")
    if not math.isfinite(display_delay_s) or display_delay_s < 0.0:
        raise ValueError(f"display delay must be a finite number >= 0, not {display_delay_s!r}")
    d = display_delay_s
    if d == 0.0:  # the presented times exactly as recorded
        colours = tuple((c.t_start, c.t_end, c.rgb) for c in rec.colours)
        right = tuple((c.t_start, c.t_end, c.right) for c in rec.colours)
        actions = tuple((a.t_start, a.t_end, a.action) for a in rec.actions)
    else:
        colours = tuple((c.t_start + d, c.t_end + d, c.rgb) for c in rec.colours)
        right = tuple((c.t_start + d, c.t_end + d, c.right) for c in rec.colours)
        actions = tuple((a.t_start + d, a.t_end + d, a.action) for a in rec.actions)
    halves = any(c.rgb_right is not None for c in rec.colours)
    return ActiveInput(rec.method, rec.fps, rec.times, rec.frames, colours, actions,
                       right if halves else ())


def analyze_recording(liveness: ActiveLiveness, rec: Recording,
                      display_delay_s: float = 0.0) -> ActiveResult:
    return liveness.analyze(to_input(rec, display_delay_s))
