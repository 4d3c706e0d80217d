"""`poh-lab bench kiosk`: the kiosk screen's figures, offscreen, in one run.

A paced fake camera (the demo's live clip of real portraits, looped at --fps) feeds the real
window, threads and models (a scratch kiosk in a temporary lab folder). Three phases:
  1. baseline: the positioning screen's preview alone, no session;
  2. the same preview while a PASSIVE session analyses frames (a workflow asking for 100
     frames, so that candidates with the anti-spoofing network keep coming);
  3. FLASHING sessions: every cue's presented-minus-planned start (the face does not answer the
     flash, so those sessions are declined; only the drawing is measured).
Preview frames per second count new camera frames drawn; frame to screen is the camera's capture
time to the end of the paint that drew the frame; dropped frames are camera frames never drawn.
Lives in the lab's CLI package: it drives the Qt window (the other lab packages stay Qt-free).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from app.capture.camera_thread import Capture
from app.ui.person import run_events


class PacedFrames:
    """A camera delivering `frames` in a loop at `fps` (read() blocks like a real camera)."""

    def __init__(self, frames: list[np.ndarray], fps: float) -> None:
        self.frames, self.period = frames, 1.0 / fps
        self._next = time.monotonic()
        self._i = 0
        self._open = True
        self._lock = threading.Lock()

    def read(self) -> tuple[bool, Any]:
        with self._lock:
            self._next = max(self._next + self.period, time.monotonic() - self.period)
            wait = self._next - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            img = self.frames[self._i % len(self.frames)].copy()
            self._i += 1
            return True, img

    def release(self) -> None:
        self._open = False

    def isOpened(self) -> bool:  # OpenCV's name
        return self._open


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def _preview_phase(window: Any, booth: Any, seconds: float) -> dict[str, float]:
    view = window.camera.preview
    view.latencies.clear()
    shown0, cam0 = view.shown, booth.camera.next_seq
    t0 = time.monotonic()
    run_events(int(seconds * 1000))
    dt = time.monotonic() - t0
    shown, cam = view.shown - shown0, booth.camera.next_seq - cam0
    lat = list(view.latencies)
    return {"seconds": dt, "camera_fps": cam / dt, "preview_fps": shown / dt,
            "latency_median_ms": _pct(lat, 50) * 1000, "latency_p95_ms": _pct(lat, 95) * 1000,
            "camera_frames": cam, "dropped": max(0, cam - shown)}


def run_bench(seconds: float = 8.0, fps: float = 30.0, flashes: int = 3,
              count: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """count(phases done, phases) after each preview phase and each FLASHING session."""
    tick = count or (lambda _done, _total: None)
    phases = 2 + flashes
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from app.capture.frames import open_source
    from app.capture.presentation import presentation_errors
    from app.cli.context import kiosk_config
    from app.kiosk.operator import OperatorGate
    from app.kiosk.operator_console import OperatorConsole
    from app.kiosk.root import open_kiosk
    from app.lab.demo_clips import make_demo_clips
    from app.lab.home import scratch_key
    from app.paths import data_dir
    from app.ui.booth import Booth
    from app.ui.i18n import Translator
    from app.ui.person import application
    from app.ui.window import KioskWindow
    from app.workflows import DEFAULT_WORKFLOW, FLASHING_WORKFLOW, load_workflow
    from sync.verdict import CaptureSource
    from sync.vocabulary import CaptureKind

    _app = application("poh-lab bench kiosk")  # kept alive for the run
    with tempfile.TemporaryDirectory(prefix="poh-kiosk-bench-") as tmp:
        home = Path(tmp)
        clips = make_demo_clips(data_dir() / "colour", home / "clips")
        frames = [f.image for f in open_source(str(clips["live"]))]
        wf = load_workflow(DEFAULT_WORKFLOW)
        slow = wf.model_copy(update={"session": wf.session.model_copy(update={
            "frames_required": 100, "capture_timeout_seconds": 120.0,
            "abandon_after_seconds": 120.0})})
        kiosk = open_kiosk(kiosk_config(), home / "lab", workflow=slow,
                           scratch_key=scratch_key(home))
        source = CaptureSource(kind=CaptureKind.VIDEO_FILE, detail="bench: demo live clip")

        def camera() -> Capture:
            return PacedFrames(frames, fps)

        booth = Booth(kiosk, camera, source)
        window = KioskWindow(booth, OperatorConsole(kiosk, OperatorGate(kiosk.config.operator)),
                             Translator("en"), motion_wake=False, countdown_s=1)
        errors: list[float] = []
        window.challenge_drawn.connect(
            lambda plan, plog, t0: errors.extend(presentation_errors(plan, plog, t0)))
        out: dict[str, Any] = {"camera_fps_asked": fps}
        try:
            window.resize(1280, 800)
            window.show()
            booth.start()
            run_events(1000)  # the camera settles
            window.camera.reset()
            window.show_screen("positioning")  # the preview with nobody's session
            out["baseline"] = _preview_phase(window, booth, seconds)
            tick(1, phases)
            window.show_attract()
            flow = booth.start_session()
            run_events(0, lambda: window.current == "consent")
            window.consent.answered.emit(True)
            run_events(0, lambda: window.current == "positioning")
            read0 = flow.frames_read
            out["with_inference"] = _preview_phase(window, booth, seconds)
            out["with_inference"]["analysed_fps"] = ((flow.frames_read - read0)
                                                     / out["with_inference"]["seconds"])
            tick(2, phases)
            booth.cancel("benchmark phase over")
            run_events(0, lambda: not booth.in_session)
            booth.workflow = load_workflow(FLASHING_WORKFLOW)
            for i in range(flashes):
                run_events(0, lambda: window.current == "attract" and not booth.in_session)
                window.start_session()
                run_events(0, lambda: window.current == "consent")
                window.consent.answered.emit(True)
                run_events(0, lambda: not booth.in_session)
                window.show_attract()
                tick(3 + i, phases)
            abs_err = [abs(e) * 1000 for e in errors]
            out["flash"] = {"cues": len(abs_err),
                            "error_median_ms": statistics.median(abs_err) if abs_err else None,
                            "error_max_ms": max(abs_err) if abs_err else None}
        finally:
            booth.close()
            window.close()
            kiosk.close()
        out["load_average"] = os.getloadavg()
        return out


def format_report(r: dict[str, Any]) -> str:
    lines = [f"kiosk screen, offscreen, camera paced at {r['camera_fps_asked']:g} fps "
             f"(load average {r['load_average'][0]:.1f})",
             "phase            camera fps  preview fps  frame->screen median / p95 ms  dropped"]
    for name in ("baseline", "with_inference"):
        p = r[name]
        lines.append(f"{name:16} {p['camera_fps']:10.1f}  {p['preview_fps']:11.1f}  "
                     f"{p['latency_median_ms']:14.1f} / {p['latency_p95_ms']:5.1f}"
                     f"          {p['dropped']:5d} of {p['camera_frames']}")
    lines.append(f"PASSIVE analysis during the second phase: "
                 f"{r['with_inference']['analysed_fps']:.1f} frames/s")
    f = r["flash"]
    if f["cues"]:
        lines.append(f"flash presentation error over {f['cues']} cues: median "
                     f"{f['error_median_ms']:.2f} ms, max {f['error_max_ms']:.2f} ms "
                     f"(one 60 Hz display frame: 16.7 ms)")
    return "\n".join(lines)
