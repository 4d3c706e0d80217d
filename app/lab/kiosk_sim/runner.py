"""Whole kiosk sessions without Qt: plan -> headless screen -> closed-loop camera -> camera
thread -> session worker and flow -> signed verdict.

The parts are the kiosk's own (app/capture/camera_thread.CameraThread, app/flow/worker's
SessionWorker, the FrameTap that keeps every frame of the challenge, assemble_recording from the
presentation log); only the screen (HeadlessScreen instead of the Qt window) and the camera
(the closed-loop simulator) are the lab's. The person consents as soon as the session starts.
When the flow announces the plan, the tap is armed and the screen presents the plan on its
thread; once the last cue has left the screen and the camera has delivered the frames that saw
it (the configured display_delay_s later, plus a frame), the frames are assembled with the
presented times into the capture recording, which the worker hands to the flow on its own
thread. A presentation the log refuses (a skipped cue...) ends the session as a failed capture.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.capture.camera_thread import CameraThread
from app.capture.frame_tap import FrameTap
from app.capture.mailbox import LatestFrameMailbox
from app.capture.presentation import PresentationError, assemble_recording, presentation_errors
from app.flow.controller import SessionFlow
from app.flow.events import ChallengePlanned, FlowEvent
from app.flow.result import SessionResult
from app.flow.worker import SessionWorker, WorkerOutcome
from app.kiosk.root import Kiosk
from app.lab.kiosk_sim.headless_screen import HeadlessScreen, Presentation
from app.lab.simulation.closed_loop.factory import SimCaptureFactory
from app.workflows import Workflow

log = logging.getLogger(__name__)

JOIN_S = 300.0  # a bound for a hung session, never a timing assertion


@dataclass
class SessionRun:
    """What one closed-loop session produced."""

    outcome: WorkerOutcome
    events: list[FlowEvent] = field(default_factory=list)
    presentation: Presentation | None = None
    timing_errors: tuple[float, ...] = ()  # presented minus planned, per cue (s)
    challenge_frames: int = 0
    capture_error: str | None = None  # why no recording was made (PresentationError...)
    camera: dict[str, float] = field(default_factory=dict)  # the camera's own figures

    @property
    def result(self) -> SessionResult | None:
        return self.outcome.result

    @property
    def status(self) -> str:
        r = self.outcome.result
        return r.verdict.status.value if r is not None else f"no verdict ({self.outcome.end})"

    def summary(self) -> dict[str, Any]:
        r = self.outcome.result
        v = r.verdict if r is not None else None
        return {
            "status": self.status,
            "liveness_status": v.liveness.status.value if v is not None else None,
            "liveness_score": v.liveness.score if v is not None else None,
            "warnings": [w.value for w in v.warnings] if v is not None else [],
            "reason": v.reason if v is not None else self.outcome.error,
            "capture_source": v.capture_source.kind.value if v is not None else None,
            "max_timing_error_ms": (round(1000 * max(abs(e) for e in self.timing_errors), 1)
                                    if self.timing_errors else None),
            "challenge_frames": self.challenge_frames,
            "camera": self.camera,
        }


def _consent_now(flow: SessionFlow, t: float) -> None:
    flow.start(t, ask_consent=True)
    if not flow.finished:
        flow.consent(True, t)


def run_closed_loop_session(kiosk: Kiosk, factory: SimCaptureFactory, screen: HeadlessScreen,
                            vendor_data: str, *, workflow: Workflow | None = None,
                            join_s: float = JOIN_S,
                            clock: Callable[[], float] = time.monotonic) -> SessionRun:
    """One session on a fresh camera thread (a new simulated person from the factory)."""
    wf = workflow or kiosk.workflow
    delay = kiosk.config.challenge.display_delay_s
    box, tap = LatestFrameMailbox(), FrameTap()
    flow = kiosk.new_session(factory.capture_source(), vendor_data, workflow=wf)
    run_lock = threading.Lock()
    events: list[FlowEvent] = []
    finished = threading.Event()
    holder: dict[str, Any] = {}

    def on_challenge_done(p: Presentation) -> None:  # on the screen's thread
        if not p.stopped and p.t_end is not None:
            # the camera sees the last cue `delay` after it left; wait for a frame past that
            until = p.t_end + delay + 2.0 / factory.fps
            while clock() < until and not finished.is_set():
                time.sleep(min(0.02, max(0.0, until - clock())))
        frames, overflow = tap.disarm()
        with run_lock:
            holder["frames"] = len(frames)
        try:
            if p.stopped:
                raise PresentationError("the screen stopped before the challenge finished")
            if overflow:
                raise PresentationError("the challenge recorder overflowed")
            rec = assemble_recording(p.plan, p.log, frames, factory.fps)
            with run_lock:
                holder["errors"] = presentation_errors(p.plan, p.log, p.t0)
        except PresentationError as exc:
            reason = str(exc)
            log.warning("closed-loop challenge not recorded: %s", reason)
            with run_lock:
                holder["capture_error"] = reason
            worker.submit(lambda f, t: f.capture_failed(reason, t))
            return
        worker.submit(lambda f, t: f.push_recording(rec, t))

    def on_event(event: FlowEvent) -> None:  # on the worker's thread
        with run_lock:
            events.append(event)
        if isinstance(event, ChallengePlanned):
            tap.arm()
            holder["presentation"] = screen.present(event.plan, on_challenge_done)

    def on_finished(_: WorkerOutcome) -> None:
        finished.set()

    worker = SessionWorker(flow, box, on_event=on_event, on_finished=on_finished,
                           on_start=_consent_now)
    cam = CameraThread(factory, box, preview=tap, on_lost=worker.camera_lost)
    screen.show_ui()
    cam.start()
    worker.start()
    try:
        if not worker.join(join_s):
            worker.cancel("the closed-loop session did not end in time")
            worker.join(join_s)
    finally:
        screen.stop()
        cam.stop()
        cam.join(join_s)
    outcome = worker.outcome
    if outcome is None:
        raise RuntimeError("the session worker did not report an outcome")
    opened = factory.opened[-1] if factory.opened else None
    with run_lock:
        return SessionRun(outcome, list(events), holder.get("presentation"),
                          tuple(holder.get("errors", ())), int(holder.get("frames", 0)),
                          holder.get("capture_error"),
                          opened.figures() if opened is not None else {})
