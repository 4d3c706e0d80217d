"""`poh kiosk calibrate`: measure, on the booth, the delay from "presented" (the flash renderer's
timestamp, app/ui/flash.py) to "seen by the camera" (the camera thread's frame times).

The screen draws flash-safe challenge plans (fresh nonces, the same generator and checks as a
session) full-screen with the session's renderer while the camera thread records every frame;
the mean colour of each frame is regressed on the presented colours at each candidate delay
(app/capture/calibration.estimate_display_delay) and the best delay wins. Someone (or a white
card) should stand in front of the camera, as in a session: the camera must see the screen's
light. The median over the runs is the result; the worst fit says how much to trust it.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.capture.calibration import MAX_DELAY_S, estimate_display_delay
from app.capture.camera_thread import CameraThread, CaptureFactory
from app.capture.frame_tap import FrameTap
from app.capture.mailbox import LatestFrameMailbox
from app.capture.plan import make_plan, new_nonce
from app.capture.presentation import PresentationError, PresentationLog, cues_as_presented
from app.capture.screen_timeline import ScreenTimeline
from app.ui.flash import FlashRenderer
from app.ui.i18n import Translator
from app.ui.person import application, run_events

log = logging.getLogger(__name__)

TAIL_S = MAX_DELAY_S + 0.2  # frames kept after the last cue: the longest delay looked for


class CalibrationError(RuntimeError):
    """The camera was lost or the screen could not present the sequence."""


@dataclass(frozen=True)
class Calibration:
    delay_s: float  # median over the runs
    delays_s: tuple[float, ...]
    fits: tuple[float, ...]  # R^2 per run at its delay

    @property
    def worst_fit(self) -> float:
        return min(self.fits)


def calibrate(capture: CaptureFactory, *, runs: int = 3, fullscreen: bool = False,
              timeline: ScreenTimeline | None = None, lang: str = "en",
              progress: Callable[[int, int], None] | None = None) -> Calibration:
    """progress(runs done, runs) after each run (a run is one flash challenge, about 4 s)."""
    _app = application("poh kiosk calibrate")  # kept alive for the run
    tap = FrameTap()
    lost: list[str] = []
    camera = CameraThread(capture, LatestFrameMailbox(), preview=tap, on_lost=lost.append)
    renderer = FlashRenderer(Translator(lang), timeline)
    renderer.setWindowTitle("poh kiosk calibrate")
    delays: list[float] = []
    fits: list[float] = []
    try:
        if fullscreen:
            renderer.showFullScreen()
        else:
            renderer.resize(1280, 800)
            renderer.show()
        camera.start()
        if not run_events(0, lambda: camera.next_seq > 5 or bool(lost), timeout_ms=20_000):
            raise CalibrationError("the camera gives no frames")
        for run in range(runs):
            if lost:
                raise CalibrationError(f"camera lost: {lost[0]}")
            # whole screen even when sessions light the halves apart (screen_halves): the
            # frame's mean colour is regressed on one colour per cue, and the delay from
            # presented to seen does not depend on what the colours are
            plan = make_plan("FLASHING", new_nonce())
            plog = PresentationLog()
            tap.arm()
            renderer.play(plan, plog)
            run_events(0, lambda: not renderer.playing, timeout_ms=30_000)
            run_events(int(TAIL_S * 1000))
            frames, overflow = tap.disarm()
            if overflow or len(frames) < 10:
                raise CalibrationError(f"run {run + 1}: {len(frames)} frames recorded")
            try:
                colours, _ = cues_as_presented(plan, plog)
            except PresentationError as exc:
                raise CalibrationError(f"run {run + 1}: {exc}") from exc
            times = [t for t, _ in frames]
            means = np.array([_mean_rgb(img) for _, img in frames], np.float64)
            shown = [(c.t_start, c.t_end, c.rgb) for c in colours]
            try:
                est = estimate_display_delay(times, means, shown)
            except ValueError as exc:
                raise CalibrationError(f"run {run + 1}: {exc}") from exc
            log.info("calibration run %d: delay %.3f s (fit %.3f, %d frames)", run + 1,
                     est.delay_s, est.fit, len(frames))
            delays.append(est.delay_s)
            fits.append(est.fit)
            if progress is not None:
                progress(run + 1, runs)
    finally:
        camera.stop()
        camera.join(10.0)
        tap.close()
        tap.disarm()
        renderer.stop()
        renderer.close()
    return Calibration(float(statistics.median(delays)), tuple(delays), tuple(fits))


def _mean_rgb(image: np.ndarray) -> tuple[float, float, float]:
    if image.ndim == 2:
        m = float(image.mean())
        return m, m, m
    b, g, r = (float(image[:, :, k].mean()) for k in range(3))
    return r, g, b
