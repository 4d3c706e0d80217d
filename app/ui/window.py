"""The kiosk window: one stack of screens driven by the session flow's events.

attract -> (tap, key, or someone stepping in) consent -> positioning (PASSIVE) or capture
countdown + challenge (FLASHING, ACTIVE_3D) -> processing -> result -> attract; error when the
camera is lost or storage fails; operator mode behind the PIN (F12 or Ctrl+Alt+O). The language
button (Bahasa Indonesia / English) is on every screen but the flash, also mid-session.

After every session the window returns to a clean attract screen: the preview, the result and
the QR code of the previous person are cleared, and preview frames are shown only while a
session positions or captures (never on the attract screen, never written anywhere).
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QPushButton, QStackedWidget, QVBoxLayout, QWidget

from app.capture.plan import ChallengePlan
from app.capture.presentation import PresentationLog
from app.capture.screen_timeline import ScreenTimeline
from app.flow.events import (
    ChallengePlanned,
    CueChanged,
    Progress,
    ResultReady,
    SessionFailed,
    Stage,
    StageChanged,
)
from app.flow.worker import WorkerEnd, WorkerOutcome
from app.kiosk.operator_console import OperatorConsole
from app.ui import theme
from app.ui.booth import Booth
from app.ui.flash import FlashRenderer, Lateness
from app.ui.i18n import Translator
from app.ui.motion import MotionWake
from app.ui.operator_screen import OperatorScreen
from app.ui.positioning import CameraScreen
from app.ui.screens import (
    AttractScreen,
    ConsentScreen,
    ErrorScreen,
    ProcessingScreen,
    ResultScreen,
    Screen,
)
from sync.vocabulary import LivenessMethod, SessionStatus

log = logging.getLogger(__name__)


class KioskWindow(QWidget):
    """See the module docstring. `screen_changed(name)` fires on every screen shown."""

    screen_changed = Signal(str)
    session_done = Signal(object)  # WorkerOutcome, after the screen has been reset
    challenge_drawn = Signal(object, object, float)  # plan, PresentationLog, t0 (figures)
    quit_requested = Signal()  # from operator mode only: the application's loop ends

    def __init__(self, booth: Booth, console: OperatorConsole, tr: Translator, *,
                 timeline: ScreenTimeline | None = None, countdown_s: int = 3,
                 consent_timeout_s: float = 60.0, result_hold_s: float = 10.0,
                 error_hold_s: float = 8.0, motion_wake: bool = True,
                 flash_late: Lateness | None = None,
                 flash_skip: frozenset[int] = frozenset()) -> None:
        super().__init__()
        self.setWindowTitle("poh-kiosk")
        self.setAccessibleName("kiosk")
        self.setStyleSheet(theme.STYLE)
        self.booth, self.tr_, self.timeline = booth, tr, timeline
        self.countdown_s = countdown_s
        self.tail_s = booth.kiosk.config.challenge.display_delay_s + 0.1
        self.stack = QStackedWidget()
        self.attract = AttractScreen(tr)
        self.consent = ConsentScreen(tr)
        self.camera = CameraScreen(tr)
        self.flash = FlashRenderer(tr, timeline, late=flash_late, skip=flash_skip)
        self.processing = ProcessingScreen(tr)
        self.result = ResultScreen(tr)
        self.error = ErrorScreen(tr)
        self.operator = OperatorScreen(tr, console)
        self.screens: dict[str, QWidget] = {}
        for name, w in (("attract", self.attract), ("consent", self.consent),
                        ("positioning", self.camera), ("challenge", self.flash),
                        ("processing", self.processing), ("result", self.result),
                        ("error", self.error), ("operator", self.operator)):
            self.screens[name] = w
            self.stack.addWidget(w)
        self.lang_button = QPushButton()
        self.lang_button.clicked.connect(self.tr_.toggle)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.lang_button, alignment=Qt.AlignmentFlag.AlignRight)
        lay.addWidget(self.stack, 1)
        self.current = ""
        self._back_to = "attract"  # where the operator screen returns
        self._plan_log: PresentationLog | None = None
        self._pending_plan: ChallengePlan | None = None
        self._t0 = 0.0
        self._timers: dict[str, QTimer] = {}
        self._timer("consent", consent_timeout_s, self._consent_timed_out)
        self._timer("result", result_hold_s, self.show_attract)
        self._timer("error", error_hold_s, self._error_over)
        self.wake = MotionWake() if motion_wake else None
        self._timer("wake", 0.2, self._look_for_motion, repeat=True)
        self._wire()
        tr.on_change(lambda _lang: self.retranslate())
        self.retranslate()
        self.show_attract()

    # ---- wiring ------------------------------------------------------------------------------
    def _timer(self, name: str, seconds: float, slot: object, repeat: bool = False) -> None:
        t = QTimer(self)
        t.setSingleShot(not repeat)
        t.setInterval(int(seconds * 1000))
        t.timeout.connect(slot)
        self._timers[name] = t

    def _wire(self) -> None:
        b = self.booth
        b.flow_event.connect(self._on_event)
        b.session_finished.connect(self._on_session_finished)
        b.camera_lost.connect(self._on_camera_lost)
        b.camera_back.connect(self._on_camera_back)
        b.pump.frame_ready.connect(self._on_preview, Qt.ConnectionType.QueuedConnection)
        self.attract.start.connect(self.start_session)
        self.consent.answered.connect(self._on_consent)
        self.camera.countdown_over.connect(self._start_challenge)
        self.flash.done.connect(self._challenge_drawn)
        self.result.acknowledged.connect(self.show_attract)
        self.operator.closed.connect(self._operator_closed)
        self.operator.quit_requested.connect(self._quit)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """F12 or Ctrl+Alt+O: operator mode; Enter or Space on the attract screen: start.
        (Keys a focused child does not use arrive here.)"""
        key, mods = event.key(), event.modifiers()
        ctrl_alt = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
        if key == Qt.Key.Key_F12 or (key == Qt.Key.Key_O and (mods & ctrl_alt) == ctrl_alt):
            self.open_operator()
        elif self.current == "attract" and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter,
                                                   Qt.Key.Key_Space):
            self.start_session()
        else:
            super().keyPressEvent(event)

    # ---- screens -----------------------------------------------------------------------------
    def show_screen(self, name: str) -> None:
        widget = self.screens[name]
        resolved = self.camera.name if name == "positioning" else name  # or capture
        if resolved == self.current and self.stack.currentWidget() is widget:
            return
        self.stack.setCurrentWidget(widget)
        self.lang_button.setVisible(name not in ("challenge", "operator"))
        if name != "challenge" and self.current == "challenge":
            self._ui_light()
        self.current = resolved
        log.debug("screen %s", self.current)
        self.screen_changed.emit(self.current)

    def retranslate(self) -> None:
        self.lang_button.setText(self.tr_.tr("lang.switch"))
        self.lang_button.setAccessibleName(self.tr_.tr("lang.switch.name"))
        for w in self.screens.values():
            if isinstance(w, Screen | CameraScreen | OperatorScreen):
                w.retranslate()
        self.flash.retranslate()

    def _ui_light(self) -> None:
        """The screen shows the UI background again (for the closed-loop camera)."""
        if self.timeline is not None:
            self.timeline.show(time.monotonic(), theme.BACKGROUND_RGB)

    def show_attract(self) -> None:
        """A clean attract screen: nothing of the previous person is left on any widget."""
        for name in ("consent", "result", "error"):
            self._timers[name].stop()
        self.flash.stop()
        self.camera.reset()
        self.result.clear()
        if self.booth.lost_reason is not None:
            self.error.show_error("camera_lost")
            self.show_screen("error")
            return
        if self.wake is not None:
            self.wake.reset()
            self._timers["wake"].start()
        self.show_screen("attract")

    # ---- the person's actions ----------------------------------------------------------------
    @Slot()
    def start_session(self) -> None:
        if self.booth.in_session or self.booth.lost_reason is not None:
            return
        self._timers["wake"].stop()
        wf = self.booth.workflow
        evidence = (self.booth.kiosk.config.evidence.max_age_days
                    if wf.liveness.config.retain_evidence else None)
        self.consent.configure(flashes=wf.method is not LivenessMethod.PASSIVE,
                               evidence_days=evidence,
                               evidence_sent=wf.liveness.config.sync_evidence)
        try:
            self.booth.start_session()
        except Exception:  # a session that cannot start is an out-of-service screen
            log.exception("the session could not start")
            self._show_error("internal")

    def _on_consent(self, given: bool) -> None:
        self._timers["consent"].stop()
        self.booth.consent(given)

    def _consent_timed_out(self) -> None:
        log.info("nobody answered the consent screen: walk-away")
        self.booth.walk_away()

    def _look_for_motion(self) -> None:
        if self.wake is None or self.current != "attract" or self.booth.in_session:
            return
        frame = self.booth.analysis.get(0)
        if frame is not None and self.wake.moved(frame.image):
            log.info("someone stepped in")
            self.start_session()

    # ---- flow events -------------------------------------------------------------------------
    @Slot(object)
    def _on_event(self, event: object) -> None:
        if isinstance(event, StageChanged):
            self._on_stage(event.stage)
        elif isinstance(event, CueChanged):
            self.camera.set_cue(event.i18n_key)
        elif isinstance(event, Progress) and event.stage is Stage.POSITIONING:
            self.camera.set_progress(event.done, event.total)
        elif isinstance(event, ChallengePlanned):
            self._plan_log = PresentationLog()
            self._pending_plan = event.plan
            self.camera.start_countdown(self.countdown_s)
            self.show_screen("positioning")
        elif isinstance(event, ResultReady):
            self._on_result(event)
        elif isinstance(event, SessionFailed):
            kind = "storage_full" if "StorageFullError" in event.reason else "internal"
            self._show_error(kind)

    def _on_stage(self, stage: Stage) -> None:
        if stage is Stage.CONSENT:
            self.show_screen("consent")
            self._timers["consent"].start()
        elif stage is Stage.POSITIONING:
            self.camera.reset()
            self.show_screen("positioning")
        elif stage is Stage.PROCESSING:
            self.flash.stop()
            self.show_screen("processing")

    def _on_result(self, event: ResultReady) -> None:
        self._timers["consent"].stop()
        self.flash.stop()
        self.camera.reset()
        status = event.result.verdict.status
        if status is SessionStatus.ABANDONED:
            return  # nobody to tell (walked away, refused, camera lost): see _on_session_finished
        self.result.show_result(event.result)
        self.show_screen("result")
        self._timers["result"].start()

    def _start_challenge(self) -> None:
        plan, plog = self._pending_plan, self._plan_log
        if plan is None or plog is None or not self.booth.in_session:
            return
        self.camera.reset()  # the preview is not drawn behind the flash
        self.show_screen("challenge")
        self.booth.begin_recording()
        self._t0 = self.flash.play(plan, plog)

    def _challenge_drawn(self) -> None:
        plan, plog = self._pending_plan, self._plan_log
        self._pending_plan, self._plan_log = None, None
        if plan is None or plog is None:
            return
        self.challenge_drawn.emit(plan, plog, self._t0)
        self.show_screen("processing")
        # the camera sees the last cue a display delay after it was presented
        QTimer.singleShot(int(self.tail_s * 1000),
                          lambda: self.booth.finish_recording(plan, plog))

    @Slot(object)
    def _on_session_finished(self, outcome: WorkerOutcome) -> None:
        self._timers["consent"].stop()
        self.flash.stop()
        self._pending_plan, self._plan_log = None, None
        if outcome.end is WorkerEnd.CAMERA_LOST or self.booth.lost_reason is not None:
            self.result.clear()
            self.camera.reset()
            self.error.show_error("camera_lost")
            self.show_screen("error")
        elif outcome.end is WorkerEnd.FAILED:
            if self.current != "error":
                self._show_error("internal")
        elif self.current not in ("result", "error", "operator"):
            self.show_attract()
        self.session_done.emit(outcome)

    # ---- camera and errors -------------------------------------------------------------------
    def _on_camera_lost(self, reason: str) -> None:
        log.warning("kiosk out of service: camera lost (%s)", reason)
        if not self.booth.in_session and self.current != "operator":
            self.camera.reset()
            self.error.show_error("camera_lost")
            self.show_screen("error")

    def _on_camera_back(self) -> None:
        if self.current == "error" and self.error.kind == "camera_lost":
            self.show_attract()

    def _show_error(self, kind: str) -> None:
        self.flash.stop()
        self.camera.reset()
        self.result.clear()
        self.error.show_error(kind)
        self.show_screen("error")
        if kind != "camera_lost":
            self._timers["error"].start()

    def _error_over(self) -> None:
        if self.current == "error" and self.error.kind != "camera_lost":
            self.show_attract()

    # ---- operator ----------------------------------------------------------------------------
    @Slot()
    def open_operator(self) -> None:
        if self.current == "operator" or self.current == "challenge":
            return
        if self.booth.in_session:
            self.booth.cancel("cancelled: the operator opened operator mode")
        self._timers["wake"].stop()
        self._back_to = "attract"
        self.operator.open()
        self.show_screen("operator")

    def _operator_closed(self) -> None:
        if self.current == "operator":
            self.show_attract()

    def _quit(self) -> None:
        log.info("quitting the kiosk from operator mode")
        self.quit_requested.emit()

    # ---- preview -----------------------------------------------------------------------------
    @Slot()
    def _on_preview(self) -> None:
        taken = self.booth.pump.take()
        if taken is not None and self.current in ("positioning", "capture"):
            self.camera.preview.set_image(*taken)
