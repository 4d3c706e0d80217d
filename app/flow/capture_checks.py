"""The capture-integrity checks of one session: what the camera probe found before the first
frame, and the frame times judged when the capture completes.

Only a booth-camera session (capture source `camera`) is checked: video files, recordings and
simulations are already marked by their capture source and never signed by the booth key.
Frame times are judged only for frames pushed with the camera thread's sequence number: those
were read at the camera's own pace. A loop that reads and analyses in turn (`poh session run`)
measures its analysis, not the camera, and passes none.
"""

from __future__ import annotations

import logging

from app.capture.frame_timing import DEFAULT_LIMITS, FrameTimes, TimingLimits, TimingReport
from app.capture.integrity import CameraCheck
from app.session.inputs import CaptureFinding
from sync.verdict import CaptureSource

log = logging.getLogger(__name__)


class CaptureChecks:
    def __init__(self, source: CaptureSource, camera: CameraCheck | None,
                 limits: TimingLimits = DEFAULT_LIMITS) -> None:
        self.enabled = source.proves_presence
        if self.enabled and camera is None:
            log.warning("booth camera session without a camera probe: its identity is not "
                        "checked (the kiosk calls Kiosk.camera_check when it opens the camera)")
        self.camera = camera or CameraCheck()
        self.limits = limits
        self.times = FrameTimes()
        self.report: TimingReport | None = None

    @property
    def at_start(self) -> tuple[CaptureFinding, ...]:
        return self.camera.findings if self.enabled else ()

    def frame(self, seq: int | None, t: float) -> None:
        if self.enabled and seq is not None:
            self.times.add(seq, t)

    def at_capture_end(self) -> tuple[CaptureFinding, ...]:
        """The frame-time finding (if any) over the frames seen so far; judged once."""
        if not self.enabled or self.report is not None:
            return ()
        self.report = report = self.times.analyse(self.camera.stated_fps, self.limits)
        log.info("frame timing: %d intervals over %d frames, period %s ms, deviation %s ms, "
                 "longest wait %s s%s", report.intervals, report.frames,
                 _fmt(report.period_ms), _fmt(report.deviation_ms, 4),
                 _fmt(report.longest_wait_s), f": {'; '.join(report.problems)}"
                 if report.problems else "")
        finding = report.finding
        return () if finding is None else (finding,)


def _fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"
