"""The kiosk screen's threads: the camera thread, the session worker and the preview pump, and the
Qt signals that bring their news to the UI thread.

    camera thread --(latest-only)--> analysis mailbox --> SessionWorker --> flow events --+
                  \\-(latest-only + challenge tap)--> preview mailbox --> PreviewPump --+--> Qt
                                                                                 signals (queued)
The UI thread only draws. During a challenge the preview mailbox also keeps every frame (a
FrameTap armed by the screen); when the renderer has finished, the recording is assembled from
the presented cue times and those frames and handed to the worker thread (`SessionWorker.submit`),
which alone calls `flow.push_recording`. A lost camera ends the session (the worker's
camera_lost), is announced once, and the camera is retried until it delivers frames again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from app.capture.camera_thread import CameraThread, CaptureFactory
from app.capture.frame_tap import FrameTap
from app.capture.integrity import CameraCheck
from app.capture.mailbox import LatestFrameMailbox
from app.capture.plan import ChallengePlan
from app.capture.presentation import PresentationError, PresentationLog, assemble_recording
from app.flow.controller import SessionFlow
from app.flow.events import Stage
from app.flow.faults import maybe_crash
from app.flow.worker import SessionWorker, WorkerOutcome
from app.kiosk.root import Kiosk
from app.ui.preview import PreviewPump
from app.workflows import Workflow
from sync.verdict import CaptureSource

log = logging.getLogger(__name__)

JOIN_S = 10.0  # a bound for a hung thread at shutdown, never a timing assumption


class _Bridge(QObject):
    """Signals emitted on other threads; connected with Qt.QueuedConnection to the UI."""

    flow_event = Signal(object)
    finished = Signal(object)
    lost = Signal(str)


def measured_fps(times: list[float], default: float = 30.0) -> float:
    """The camera's rate over the challenge, from its frame times."""
    if len(times) < 2 or times[-1] <= times[0]:
        return default
    return (len(times) - 1) / (times[-1] - times[0])


def _open_with_consent(flow: SessionFlow, t: float) -> None:
    flow.start(t, ask_consent=True)


class Booth(QObject):
    """Owns the threads of one kiosk screen; one session at a time."""

    flow_event = Signal(object)  # a FlowEvent, on the UI thread
    session_finished = Signal(object)  # WorkerOutcome
    camera_lost = Signal(str)
    camera_back = Signal()

    def __init__(self, kiosk: Kiosk, capture: CaptureFactory, source: CaptureSource, *,
                 workflow: Workflow | None = None, tick_interval: float = 0.1,
                 retry_interval_s: float = 2.0, max_failures: int = 10,
                 vendor_data: Callable[[], str] | None = None,
                 crash: Callable[[str], None] = maybe_crash,
                 camera_check: Callable[[], CameraCheck] | None = None) -> None:
        super().__init__()
        self._crash = crash  # the flow's fault points (app.flow.faults; tests inject failures)
        # the booth camera's capture-integrity findings (virtual, changed since provisioning),
        # probed when the camera starts and again when it comes back; None for a camera the
        # booth does not own (the lab's), whose sessions are never signed by the booth key
        self._camera_check = camera_check
        self.camera_findings: CameraCheck | None = None
        self.kiosk = kiosk
        self.source = source
        self.workflow = workflow or kiosk.workflow
        self.tick_interval = tick_interval
        self._vendor = vendor_data or (lambda: f"walkup-{uuid.uuid4().hex[:16]}")
        self.analysis = LatestFrameMailbox()
        self.tap = FrameTap()  # the preview mailbox, and the challenge recorder
        self._bridge = _Bridge()
        q = Qt.ConnectionType.QueuedConnection
        self._bridge.flow_event.connect(self.flow_event.emit, q)
        self._bridge.finished.connect(self._on_finished, q)
        self._bridge.lost.connect(self._on_lost, q)
        self.camera = CameraThread(capture, self.analysis, preview=self.tap,
                                   on_lost=self._lost_on_camera_thread,
                                   max_failures=max_failures)
        self.pump = PreviewPump(self.tap)
        self.worker: SessionWorker | None = None
        self.lost_reason: str | None = None
        self._restart_seq = 0
        self._retry = QTimer(self)
        self._retry.setInterval(int(retry_interval_s * 1000))
        self._retry.timeout.connect(self._retry_camera)
        self.sessions_finished = 0

    # ---- life cycle --------------------------------------------------------------------------
    def start(self) -> None:
        self._probe_camera()
        self.pump.start()
        self.camera.start()

    def _probe_camera(self) -> None:
        if self._camera_check is not None:
            self.camera_findings = self._camera_check()
            for finding in self.camera_findings.findings:
                log.warning("camera: %s", finding.reason)

    def close(self) -> None:
        self._retry.stop()
        if self.worker is not None:
            self.worker.cancel("the kiosk was closed")
            self.worker.join(JOIN_S)
        self.camera.stop()
        self.camera.join(JOIN_S)
        self.pump.stop()
        self.analysis.close()
        self.tap.close()
        self.tap.disarm()

    @property
    def in_session(self) -> bool:
        return self.worker is not None

    @property
    def flow(self) -> SessionFlow | None:
        return self.worker.flow if self.worker is not None else None

    # ---- sessions ----------------------------------------------------------------------------
    def start_session(self) -> SessionFlow:
        """A new session that asks for consent first (no frame is analysed before it)."""
        if self.worker is not None:
            raise RuntimeError("a session is already running")
        if self.lost_reason is not None:
            raise RuntimeError(f"no camera: {self.lost_reason}")
        flow = self.kiosk.new_session(self.source, self._vendor(), workflow=self.workflow,
                                      crash=self._crash, camera=self.camera_findings)
        worker = SessionWorker(flow, self.analysis, on_event=self._bridge.flow_event.emit,
                               on_finished=self._bridge.finished.emit,
                               on_start=_open_with_consent,
                               tick_interval=self.tick_interval)
        self.worker = worker
        worker.start()
        log.info("session %s started", flow.session_id)
        return flow

    def consent(self, given: bool) -> None:
        self._submit(lambda f, t: f.consent(given, t) if f.stage is Stage.CONSENT else None)

    def walk_away(self) -> None:
        self._submit(lambda f, t: f.walk_away(t))

    def cancel(self, reason: str) -> None:
        if self.worker is not None:
            self.worker.cancel(reason)

    def _submit(self, action: Callable[[SessionFlow, float], object]) -> None:
        if self.worker is not None:
            self.worker.submit(action)

    # ---- the challenge -----------------------------------------------------------------------
    def begin_recording(self) -> None:
        """From now on keep every camera frame (the renderer is about to draw)."""
        self.tap.arm()

    def finish_recording(self, plan: ChallengePlan, presentation: PresentationLog) -> None:
        """Assemble the recording from the presented times and hand it to the worker."""
        frames, overflow = self.tap.disarm()
        if self.worker is None:
            return
        if overflow:
            reason = f"the challenge recording passed {self.tap.max_frames} frames"
            self._submit(lambda f, t: f.capture_failed(reason, t))
            return
        try:
            rec = assemble_recording(plan, presentation, frames,
                                     measured_fps([t for t, _ in frames]))
        except PresentationError as exc:
            reason = str(exc)
            log.warning("challenge not presented as planned: %s", reason)
            self._submit(lambda f, t: f.capture_failed(reason, t))
            return
        log.info("challenge recorded: %d frames at %.1f fps", len(rec.frames), rec.fps)
        self._submit(lambda f, t: f.push_recording(rec, t))

    # ---- news from other threads -------------------------------------------------------------
    def _lost_on_camera_thread(self, reason: str) -> None:
        worker = self.worker  # read once: the UI thread may replace it
        if worker is not None:
            worker.camera_lost(reason)
        self._bridge.lost.emit(reason)

    @Slot(str)
    def _on_lost(self, reason: str) -> None:
        first = self.lost_reason is None
        self.lost_reason = reason
        if first:
            self.camera_lost.emit(reason)
        if not self._retry.isActive():
            self._retry.start()

    def _retry_camera(self) -> None:
        cam = self.camera
        if cam.is_alive():
            if cam.next_seq > self._restart_seq:  # frames again: the camera is back
                self._retry.stop()
                self.lost_reason = None
                log.info("camera back")
                self._probe_camera()  # the camera that came back may be another one
                self.camera_back.emit()
            return
        self._restart_seq = cam.next_seq
        self.camera = cam.again()
        self.camera.start()

    @Slot(object)
    def _on_finished(self, outcome: WorkerOutcome) -> None:
        self.tap.disarm()  # never keep frames past a session
        if self.worker is not None:
            self.worker.join(JOIN_S)
        self.worker = None
        self.sessions_finished += 1
        self.session_finished.emit(outcome)
