"""The push-based session flow: the kiosk screen (or the headless loop) pushes camera frames,
ticks of the clock and the person's actions; the flow answers with typed events.

Qt-free: a worker thread owns one SessionFlow and calls it; the UI only draws the events. Times
are the caller's, on one monotonic clock (the camera's frame times), so a video file runs on its
own frame times and tests never sleep.

Inference runs at two rates. Every frame takes the cheap tracking path (detection, mesh, pose,
blendshapes) and the quality cues, which pick the one instruction to show. Only a candidate
frame (one face, every quality cue clear, while the session captures) is completed with the
embedding and the age, and with the anti-spoofing network only when the workflow's method uses
its score (PASSIVE). No frame is analysed before the person has consented.

Active methods (FLASHING, ACTIVE_3D): after consent the flow plans the challenge from the
session's nonce (ChallengePlanned); the screen draws it while the camera records, and the
recording comes back through push_recording(). Its frames are the session's capture; at the
liveness step the same recording is checked against the plan and analysed. A recording that
answers another nonce is declined, with the reason, before any analysis.

Failures: known bad input (no face, several faces, a refused challenge response) declines with
its warning code; any other exception on the path to a verdict is an internal failure, logged
with its traceback, announced as SessionFailed and raised again: never a quiet Declined.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

from app.capture.challenge import RecordingSource
from app.capture.integrity import CameraCheck
from app.capture.plan import ChallengePlan, new_nonce
from app.capture.recording import Recording
from app.errors import BadInputError
from app.flow.capture_checks import CaptureChecks
from app.flow.clock import FlowClock
from app.flow.events import (
    ChallengePlanned,
    CueChanged,
    FlowEvent,
    Progress,
    ResultReady,
    SessionFailed,
    Stage,
    StageChanged,
)
from app.flow.faults import maybe_crash
from app.flow.frame_analysis import analyse_frame
from app.flow.liveness_active import ChallengeRefused
from app.flow.result import SessionResult
from app.flow.services import BgrImage, SessionParts
from app.flow.verdicts import check_signer, credential_input, finish_session
from app.session import (
    AttemptCounts,
    CaptureCompleted,
    FrameAccepted,
    RetakeRequested,
    SessionEngine,
    Step,
)
from app.session.events import Event as EngineEvent
from app.workflows import Workflow
from inference.types import FrameAnalysis
from sync.credential import Credential
from sync.verdict import CaptureSource
from sync.vocabulary import LivenessMethod

log = logging.getLogger(__name__)

CUE_I18N_PREFIX = "cues."


class SessionFlow:
    """One person's session, driven by pushes; create one per session (app.kiosk.root)."""

    def __init__(self, parts: SessionParts, workflow: Workflow, source: CaptureSource,
                 vendor_data: str, *, nonce: bytes | None = None,
                 crash: Callable[[str], None] = maybe_crash,
                 camera: CameraCheck | None = None) -> None:
        check_signer(parts, source)  # refused before a session row exists
        if parts.liveness.method is not workflow.method:
            raise ValueError(f"workflow {workflow.ref} asks for {workflow.method} liveness; "
                             f"these parts have {parts.liveness.method}")
        self.parts = parts
        self.workflow = workflow
        self.source = source
        self.vendor_data = vendor_data
        self.session_id = str(uuid.uuid4())
        self._nonce = nonce if nonce is not None else new_nonce()
        self._crash = crash
        self.capture_checks = CaptureChecks(source, camera)  # booth camera only
        self._listeners: list[Callable[[FlowEvent], None]] = []
        self._engine: SessionEngine | None = None
        self._clock: FlowClock | None = None
        self._kept: dict[int, tuple[BgrImage, FrameAnalysis]] = {}
        self._counts: dict[str, int] = {}
        self._cue: str | None = None
        self._frames = 0
        self._next_index = 0
        self._source_end: str | None = None
        self._response: Recording | None = None
        self.stage: Stage | None = None
        self.plan: ChallengePlan | None = None
        self.result: SessionResult | None = None
        self.failure: str | None = None

    # ---- observing ---------------------------------------------------------------------------
    def subscribe(self, listener: Callable[[FlowEvent], None]) -> None:
        self._listeners.append(listener)

    @property
    def active(self) -> bool:
        return self.workflow.method is not LivenessMethod.PASSIVE

    @property
    def finished(self) -> bool:
        return self.stage in (Stage.DONE, Stage.FAILED)

    @property
    def engine(self) -> SessionEngine:
        if self._engine is None:
            raise RuntimeError("the session has not started")
        return self._engine

    @property
    def frames_read(self) -> int:
        return self._frames

    # ---- the person's and the operator's actions ---------------------------------------------
    def start(self, t: float, *, ask_consent: bool = True,
              credential: Credential | None = None) -> list[FlowEvent]:
        """Open the session (In Progress). With `ask_consent`, wait for consent() before any
        frame is analysed; a verified credential replaces the check."""
        if self._engine is not None:
            raise RuntimeError("start() twice")
        out: list[FlowEvent] = []
        wf, parts = self.workflow, self.parts
        self._clock = clock = FlowClock(t)
        since = clock.wall() - wf.attempt_limits.window_seconds
        person, device = parts.sessions.count_attempts(self.vendor_data, since)
        engine = SessionEngine(wf, session_id=self.session_id, vendor_data=self.vendor_data,
                               clock=clock, attempts=AttemptCounts(person=person, device=device),
                               nonce=self._nonce, capture=self.capture_checks.at_start)
        self._engine = engine
        parts.sessions.record_session_start(self.session_id, self.vendor_data, wf.workflow_id,
                                            wf.version, engine.created_at)
        with self._guard(out):
            self._engine_events(engine.start(ask_consent=ask_consent), out)
            if credential is not None and not engine.finished:
                self._engine_events(engine.accept_credential(credential_input(credential)), out)
            if not engine.finished:
                if ask_consent:
                    self._set_stage(Stage.CONSENT, out)
                else:
                    self._begin_capture(out)
            self._after(out)
        return out

    def consent(self, given: bool, t: float) -> list[FlowEvent]:
        out: list[FlowEvent] = []
        engine = self.engine
        if self.finished:
            return out
        if engine.step is not Step.CONSENT:
            raise RuntimeError(f"consent() at step {engine.step}")
        self._set_time(t)
        with self._guard(out):
            if given:
                self._engine_events(engine.give_consent(), out)
                if not engine.finished:
                    self._begin_capture(out)
            else:
                self._engine_events(engine.refuse_consent(), out)
            self._after(out)
        return out

    def retake(self, t: float) -> list[FlowEvent]:
        """Start the capture again (the person or the operator asked)."""
        out: list[FlowEvent] = []
        if self.finished or self.engine.step is not Step.CAPTURE or self.active:
            return out
        self._set_time(t)
        with self._guard(out):
            self._engine_events(self.engine.retake(), out)
            self._after(out)
        return out

    def cancel(self, t: float, reason: str = "cancelled by the operator") -> list[FlowEvent]:
        return self._abandon(t, reason)

    def walk_away(self, t: float) -> list[FlowEvent]:
        return self._abandon(t, "the person walked away")

    def source_ended(self, reason: str, t: float | None = None) -> list[FlowEvent]:
        """The camera or the video stopped before the session finished."""
        self._source_end = reason
        return self._abandon(t, reason)

    # ---- time and frames ---------------------------------------------------------------------
    def tick(self, t: float) -> list[FlowEvent]:
        out: list[FlowEvent] = []
        if self.finished or self._engine is None:
            return out
        self._set_time(t)
        with self._guard(out):
            self._engine_events(self.engine.tick(), out)
            self._after(out)
        return out

    def push_frame(self, image: BgrImage, t: float, seq: int | None = None) -> list[FlowEvent]:
        """One camera frame taken at time t (`seq`: the camera thread's frame number, for the
        frame-timing check). Frames before consent, during the challenge or after the capture
        are not analysed."""
        out: list[FlowEvent] = []
        if self.finished or self._engine is None:
            return out
        _check_frame(image)
        self._set_time(t)
        self.capture_checks.frame(seq, t)
        engine = self.engine
        if engine.step is not Step.CAPTURE or (self.active and self._response is None):
            with self._guard(out):
                self._engine_events(engine.tick(), out)
                self._after(out)
            return out
        index = self._next_index
        self._next_index += 1
        self._frames += 1
        with self._guard(out):
            self._on_frame(index, image, out)
            self._after(out)
        return out

    def push_recording(self, rec: Recording, t: float) -> list[FlowEvent]:
        """The recording the screen and camera made while the plan was drawn (active methods).
        Its frames run on its own clock, from t."""
        out: list[FlowEvent] = []
        if self.finished:
            return out
        if not self.active or self.plan is None:
            raise RuntimeError("push_recording() without a challenge plan")
        if self._response is not None:
            raise RuntimeError("the challenge was answered already")
        self._set_time(t)
        self._response = rec
        self._source_end = None
        with self._guard(out):
            live = self.workflow.liveness.config
            if live.retain_evidence and self.parts.evidence is not None:
                self.parts.evidence.keep(self.session_id, rec, send=live.sync_evidence)
        if self.finished:
            return out
        frames = RecordingSource(rec, "challenge recording")  # on the recording's own clock
        for frame in frames:
            out += self.push_frame(frame.image, t + frame.t)
            if self.finished:
                return out
        self._source_end = frames.end_reason
        out += self._abandon(None, self._source_end)
        return out

    def capture_failed(self, reason: str, t: float | None = None) -> list[FlowEvent]:
        """The screen or the camera could not record the challenge."""
        log.warning("challenge capture failed: %s", reason)
        return self.source_ended(f"challenge capture failed: {reason}", t)

    # ---- internals ---------------------------------------------------------------------------
    def _set_time(self, t: float) -> None:
        if self._clock is None:
            raise RuntimeError("the session has not started")
        self._clock.set(t)

    def _abandon(self, t: float | None, reason: str) -> list[FlowEvent]:
        out: list[FlowEvent] = []
        if self.finished or self._engine is None:
            return out
        if t is not None:
            self._set_time(t)
        with self._guard(out):
            self._engine_events(self.engine.abandon(reason), out)
            self._after(out)
        return out

    def _begin_capture(self, out: list[FlowEvent]) -> None:
        if self.active:
            plan = self.parts.liveness.plan(self.engine.nonce)
            if plan is None:
                raise RuntimeError(f"{self.workflow.method} liveness drew no challenge")
            self.plan = plan
            self._set_stage(Stage.CHALLENGE, out)
            self._emit(ChallengePlanned(self.plan), out)
        else:
            self._set_stage(Stage.POSITIONING, out)
            self._emit(Progress(Stage.POSITIONING, 0,
                                self.workflow.session.frames_required), out)

    def _on_frame(self, index: int, image: BgrImage, out: list[FlowEvent]) -> None:
        seen = analyse_frame(self.parts.pipeline, self.parts.quality, image,
                             antispoof=self.workflow.method is LivenessMethod.PASSIVE)
        self._set_cue(seen.cue, out)
        analysis = seen.analysis
        events = self.engine.on_frame(index, analysis, seen.face_quality)
        for event in events:
            if isinstance(event, FrameAccepted):
                self._kept[event.index] = (image, analysis)
            elif isinstance(event, RetakeRequested):
                self._kept.clear()
        self._engine_events(events, out)

    def _after(self, out: list[FlowEvent]) -> None:
        """Run the steps that follow the capture, then finish if the engine has decided."""
        engine = self.engine
        if engine.step is Step.LIVENESS:
            engine.note_capture(self.capture_checks.at_capture_end())
            self._set_stage(Stage.PROCESSING, out)
            self._liveness()
        if engine.step is Step.SEARCH:
            self._search()
        if engine.finished and self.result is None:
            self._finish(out)

    def _liveness(self) -> None:
        engine = self.engine
        chosen = [self._kept[i] for i in engine.accepted_indices]
        self._kept.clear()  # the frames are not needed after this; do not keep faces around
        try:
            result = self.parts.liveness.analyze([c[0] for c in chosen], [c[1] for c in chosen],
                                                 engine.nonce, self._response)
        except ChallengeRefused as exc:
            log.warning("challenge response refused: %s", exc)
            engine.step_failed(f"challenge response refused: {exc}")
            return
        engine.on_liveness(result)

    def _search(self) -> None:
        engine, feature = self.engine, self.workflow.face_search
        if self.parts.search is None or feature is None:
            engine.step_failed("no face search service on this kiosk")
            return
        engine.on_search(self.parts.search.search(engine.template(), feature.config.max_matches))

    def _finish(self, out: list[FlowEvent]) -> None:
        self.result = finish_session(self.parts, self.workflow, self.engine, self.source,
                                     self._frames, self._source_end, dict(self._counts),
                                     self._crash)
        self._set_cue(None, out)
        self._set_stage(Stage.DONE, out)
        self._emit(ResultReady(self.result), out)

    def _engine_events(self, events: list[EngineEvent], out: list[FlowEvent]) -> None:
        for event in events:
            name = type(event).__name__
            self._counts[name] = self._counts.get(name, 0) + 1
            self._emit(event, out)
            if isinstance(event, FrameAccepted):
                self._emit(Progress(Stage.POSITIONING, event.accepted, event.required), out)
            elif isinstance(event, CaptureCompleted):
                self._set_cue(None, out)

    def _set_cue(self, code: str | None, out: list[FlowEvent]) -> None:
        if code != self._cue:
            self._cue = code
            self._emit(CueChanged(code, CUE_I18N_PREFIX + code if code else None), out)

    def _set_stage(self, stage: Stage, out: list[FlowEvent]) -> None:
        if stage is not self.stage:
            self.stage = stage
            self._emit(StageChanged(stage), out)

    def _emit(self, event: FlowEvent, out: list[FlowEvent]) -> None:
        out.append(event)
        for listener in self._listeners:
            listener(event)

    def _guard(self, out: list[FlowEvent]) -> _Guard:
        return _Guard(self, out)

    def _fail(self, exc: BaseException, out: list[FlowEvent]) -> None:
        self.failure = f"{type(exc).__name__}: {exc}"
        log.error("session %s ended by an internal failure", self.session_id, exc_info=exc)
        self._kept.clear()
        self._set_stage(Stage.FAILED, out)
        self._emit(SessionFailed(self.failure), out)


class _Guard:
    """Turns an unexpected exception into a FAILED session, then lets it propagate."""

    def __init__(self, flow: SessionFlow, out: list[FlowEvent]) -> None:
        self._flow, self._out = flow, out

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: Any) -> None:
        if exc is not None and not isinstance(exc, BadInputError | KeyboardInterrupt):
            self._flow._fail(exc, self._out)


def _check_frame(image: Any) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.size == 0:
        raise BadInputError("frames must be non-empty 8-bit images")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise BadInputError(f"unsupported frame shape {image.shape}")
