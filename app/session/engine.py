"""The session engine: one person's check from start to a final status, pure (no Qt, no I/O).

Not Started -> In Progress -> Approved | Declined | In Review | Abandoned | Expired, with
Resubmitted while a failed capture is retaken. The driver feeds frame analyses, then the liveness
result over the accepted frames, then the 1:N search result of template(); each call returns the
events it caused (listeners get them too). Time comes from an injected clock, so a video file can
run on its own frame times and tests never sleep.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from app.session.decision import Decision, decide, decide_by_credential, decide_unfinished
from app.session.events import (
    CaptureCompleted,
    Event,
    FrameAccepted,
    FrameRejected,
    RetakeRequested,
    SessionFinished,
    StatusChanged,
    Step,
    StepChanged,
)
from app.session.inputs import (
    AttemptCounts,
    CaptureFinding,
    Clock,
    CredentialInput,
    FrameQuality,
    LivenessInput,
    SearchInput,
)
from app.workflows.model import Workflow
from inference.types import FrameAnalysis
from sync.vocabulary import FINAL_STATUSES, SessionStatus, WarningCode

log = logging.getLogger(__name__)

S = SessionStatus
W = WarningCode


class SessionStateError(RuntimeError):
    """The driver called the engine out of order (a programming error, not bad input)."""


@dataclass(frozen=True)
class _Accepted:
    index: int
    embedding: npt.NDArray[np.float32]
    age: float | None


def credential_refusal(wf: Workflow, cred: CredentialInput) -> str | None:
    """Why this workflow cannot take the credential instead of a check (None: it can)."""
    if not wf.credential.accept:
        return f"workflow {wf.ref} does not accept reusable credentials"
    if cred.method not in wf.accepted_credential_methods:
        return f"credential method {cred.method} is not accepted by workflow {wf.ref}"
    age = wf.age
    if age is not None and (cred.age_over is None or cred.age_over < age.config.min_age):
        return f"credential does not state age over {age.config.min_age}"
    return None


class SessionEngine:
    def __init__(self, workflow: Workflow, *, session_id: str, vendor_data: str, clock: Clock,
                 attempts: AttemptCounts | None = None, nonce: bytes | None = None,
                 capture: tuple[CaptureFinding, ...] = ()) -> None:
        self.workflow = workflow
        self.session_id = session_id
        self.vendor_data = vendor_data
        self.nonce = nonce if nonce is not None else secrets.token_bytes(16)
        self._clock = clock
        self._attempts = attempts or AttemptCounts(person=0, device=0)
        self._listeners: list[Callable[[Event], None]] = []
        self.status = S.NOT_STARTED
        self.step = Step.START
        self.created_at = clock.wall()
        self.decided_at: float | None = None
        self.decision: Decision | None = None
        self.retakes = 0
        self.frames_seen = 0
        self.liveness: LivenessInput | None = None
        self.search: SearchInput | None = None
        self.credential: CredentialInput | None = None
        # capture-integrity findings about the booth camera (known at start, or from the frame
        # times once the capture completes); the decision weighs them by the workflow
        self.capture: tuple[CaptureFinding, ...] = tuple(capture)
        self._accepted: list[_Accepted] = []
        self._rejections: Counter[WarningCode] = Counter()
        self._cues: Counter[str] = Counter()
        self._started = 0.0
        self._capture_started = 0.0
        self._last_face = 0.0

    # ---- observation -------------------------------------------------------------------------
    def subscribe(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)

    @property
    def finished(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def accepted_indices(self) -> tuple[int, ...]:
        return tuple(a.index for a in self._accepted)

    def template(self) -> npt.NDArray[np.float32]:
        """Mean of the accepted frames' L2-normalised embeddings, normalised again."""
        if not self._accepted:
            raise SessionStateError("no accepted frames yet")
        mean = np.mean(np.stack([a.embedding for a in self._accepted]), axis=0)
        norm = float(np.linalg.norm(mean))
        if not np.isfinite(norm) or norm < 1e-6:
            raise SessionStateError("accepted embeddings cancel out")
        return (mean / norm).astype(np.float32)

    def age_estimate(self) -> float | None:
        ages = [a.age for a in self._accepted if a.age is not None and np.isfinite(a.age)]
        return float(np.median(ages)) if ages else None

    def rejection_counts(self) -> dict[str, int]:
        return {str(k): v for k, v in self._rejections.items()}

    # ---- driving -----------------------------------------------------------------------------
    def start(self, *, ask_consent: bool = False) -> list[Event]:
        """In Progress; with `ask_consent` the engine waits at CONSENT before capturing."""
        if self.status is not S.NOT_STARTED:
            raise SessionStateError(f"start() in status {self.status}")
        out: list[Event] = []
        now = self._clock.monotonic()
        self._started = self._capture_started = self._last_face = now
        self._set_status(S.IN_PROGRESS, out)
        limits = self.workflow.attempt_limits
        if self._attempts.person >= limits.per_person:
            reason = (f"{self._attempts.person} sessions for this person in the last "
                      f"{limits.window_seconds} s (limit {limits.per_person})")
            return self._finish(self._unfinished(S.DECLINED, reason,
                                                 (W.ATTEMPT_LIMIT_EXCEEDED,)), out)
        if self._attempts.device >= limits.per_device:
            reason = (f"{self._attempts.device} sessions on this device in the last "
                      f"{limits.window_seconds} s (limit {limits.per_device})")
            return self._finish(self._unfinished(S.DECLINED, reason,
                                                 (W.ATTEMPT_LIMIT_EXCEEDED,)), out)
        self._set_step(Step.CONSENT if ask_consent else Step.CAPTURE, out)
        return out

    def give_consent(self) -> list[Event]:
        """The person agreed: capture starts now (its time-outs count from here)."""
        out = self._check_time()
        if self.finished:
            return out
        self._require(Step.CONSENT)
        self._capture_started = self._last_face = self._clock.monotonic()
        self._set_step(Step.CAPTURE, out)
        return out

    def refuse_consent(self) -> list[Event]:
        """The person said no: nothing was captured; the session ends Abandoned."""
        out = self._check_time()
        if self.finished:
            return out
        self._require(Step.CONSENT)
        return self._finish(self._unfinished(S.ABANDONED,
                                             "the person did not consent to the check",
                                             (W.CHECK_NOT_COMPLETED,)), out)

    def retake(self, reason: str = "retake asked for") -> list[Event]:
        """The person or the operator asked to start the capture again (Resubmitted)."""
        out = self._check_time()
        if self.finished:
            return out
        self._require(Step.CAPTURE)
        return self._retake(reason, out)

    def on_frame(self, index: int, analysis: FrameAnalysis,
                 quality: FrameQuality | None = None) -> list[Event]:
        """One analysed frame; `quality` is the verdict for the frame's only face, if any."""
        out = self._check_time()
        if self.finished or self.step is not Step.CAPTURE:
            return out  # frames after capture are simply not needed
        self.frames_seen += 1
        faces = analysis.faces
        if faces:
            self._last_face = self._clock.monotonic()
            if self.status is S.RESUBMITTED:
                self._set_status(S.IN_PROGRESS, out)
        code: WarningCode | None = None
        cues: tuple[str, ...] = ()
        embedding = faces[0].embedding if len(faces) == 1 else None
        if not faces:
            code = W.NO_FACE_DETECTED
        elif len(faces) > 1:
            code = W.MULTIPLE_FACES_DETECTED
        elif quality is not None and not quality.ok:
            # before the template check: a frame that fails the quality cues is not embedded
            code, cues = W.LOW_FACE_QUALITY, tuple(quality.codes)
        elif embedding is None:
            code, cues = W.LOW_FACE_QUALITY, ("NO_TEMPLATE",)
        if code is not None or embedding is None:
            code = code or W.LOW_FACE_QUALITY
            self._rejections[code] += 1
            self._cues.update(cues)
            self._emit(FrameRejected(index, code, cues), out)
            return out
        self._accepted.append(_Accepted(index, embedding.astype(np.float32), faces[0].age))
        need = self.workflow.session.frames_required
        self._emit(FrameAccepted(index, len(self._accepted), need), out)
        if len(self._accepted) >= need:
            self._emit(CaptureCompleted(self.accepted_indices), out)
            self._set_step(Step.LIVENESS, out)
        return out

    def tick(self) -> list[Event]:
        """Check the time-outs; call it whenever time passes without a frame."""
        return self._check_time()

    def note_capture(self, findings: tuple[CaptureFinding, ...]) -> None:
        """Add capture-integrity findings before the decision (a finished session ignores
        them: its verdict is decided)."""
        if not self.finished:
            self.capture += tuple(f for f in findings if f not in self.capture)

    def on_liveness(self, result: LivenessInput) -> list[Event]:
        out = self._check_time()
        if self.finished:
            return out
        self._require(Step.LIVENESS)
        self.liveness = result
        if self.workflow.face_search is not None:
            self._set_step(Step.SEARCH, out)
            return out
        return self._finish(self._decide(), out)

    def on_search(self, result: SearchInput) -> list[Event]:
        out = self._check_time()
        if self.finished:
            return out
        self._require(Step.SEARCH)
        self.search = result
        return self._finish(self._decide(), out)

    def step_failed(self, reason: str) -> list[Event]:
        """The analyzer or the search could not run: decide without it, which declines."""
        out = self._check_time()
        if self.finished:
            return out
        if self.step not in (Step.LIVENESS, Step.SEARCH):
            raise SessionStateError(f"step_failed() at step {self.step}")
        decision = replace(self._decide(), reason=reason)
        return self._finish(decision, out)

    def credential_refusal(self, cred: CredentialInput) -> str | None:
        return credential_refusal(self.workflow, cred)

    def accept_credential(self, cred: CredentialInput) -> list[Event]:
        """Finish Approved on a verified credential (the caller checked signature and expiry)."""
        out = self._check_time()
        if self.finished:
            return out
        if self.step not in (Step.CAPTURE, Step.CONSENT, Step.START) or self._accepted:
            raise SessionStateError("a credential replaces the check; it cannot join one midway")
        refusal = self.credential_refusal(cred)
        if refusal is not None:
            raise SessionStateError(refusal)
        self.credential = cred
        return self._finish(decide_by_credential(self.workflow, cred), out)

    def on_source_ended(self, reason: str) -> list[Event]:
        """The camera or video stopped before the session finished."""
        out = self._check_time()
        if self.finished:
            return out
        return self._finish(self._unfinished(S.ABANDONED,
                                             f"{reason}; {self._progress()}",
                                             self._dominant_codes()), out)

    def abandon(self, reason: str) -> list[Event]:
        """The person or the operator cancelled."""
        return self.on_source_ended(reason)

    # ---- internals ---------------------------------------------------------------------------
    def _decide(self) -> Decision:
        return decide(self.workflow, self.liveness, self.search, self.age_estimate(),
                      self.capture)

    def _unfinished(self, status: SessionStatus, reason: str,
                    codes: tuple[WarningCode, ...] = ()) -> Decision:
        return decide_unfinished(self.workflow, status, reason, codes, self.capture)

    def _progress(self) -> str:
        need = self.workflow.session.frames_required
        seen = f"{self.frames_seen} frames seen, {len(self._accepted)} of {need} usable"
        if self._cues:
            seen += " (" + ", ".join(f"{k} x{v}" for k, v in self._cues.most_common(3)) + ")"
        return f"{seen}, step {self.step}"

    def _dominant_codes(self) -> tuple[WarningCode, ...]:
        if not self._rejections:
            return (W.CHECK_NOT_COMPLETED,)
        return (self._rejections.most_common(1)[0][0], W.CHECK_NOT_COMPLETED)

    def _check_time(self) -> list[Event]:
        out: list[Event] = []
        if self.finished or self.status is S.NOT_STARTED:
            return out
        now = self._clock.monotonic()
        cfg = self.workflow.session
        if now - self._started >= cfg.expiry_seconds:
            reason = f"session expired after {cfg.expiry_seconds:g} s; {self._progress()}"
            return self._finish(self._unfinished(S.EXPIRED, reason,
                                                 self._dominant_codes()), out)
        if self.step is not Step.CAPTURE:
            return out
        if now - self._last_face >= cfg.abandon_after_seconds:
            reason = f"no face for {cfg.abandon_after_seconds:g} s; {self._progress()}"
            return self._finish(self._unfinished(S.ABANDONED, reason,
                                                 self._dominant_codes()), out)
        if now - self._capture_started >= cfg.capture_timeout_seconds:
            return self._retake(f"no usable capture in {cfg.capture_timeout_seconds:g} s", out)
        return out

    def _retake(self, why: str, out: list[Event]) -> list[Event]:
        cfg = self.workflow.session
        code = self._dominant_codes()[0]
        if self.retakes >= cfg.max_retakes:
            reason = f"no usable capture after {self.retakes} retakes; {self._progress()}"
            codes = (code,) if code is not W.CHECK_NOT_COMPLETED else (W.LOW_FACE_QUALITY,)
            return self._finish(self._unfinished(S.DECLINED, reason, codes),
                                out)
        self.retakes += 1
        reason = f"{why}; {self._progress()}"
        self._accepted.clear()
        self._capture_started = self._clock.monotonic()
        self._set_status(S.RESUBMITTED, out)
        self._emit(RetakeRequested(self.retakes, cfg.max_retakes, code, reason), out)
        return out

    def _require(self, step: Step) -> None:
        if self.step is not step:
            raise SessionStateError(f"expected step {step}, engine is at {self.step}")

    def _finish(self, decision: Decision, out: list[Event]) -> list[Event]:
        if decision.status not in FINAL_STATUSES:
            raise SessionStateError(f"decision status {decision.status} is not final")
        self.decision = decision
        self.decided_at = self._clock.wall()
        self._set_step(Step.DONE, out)
        self._set_status(decision.status, out)
        self._emit(SessionFinished(decision), out)
        log.info("session %s finished %s (%s)", self.session_id, decision.status,
                 decision.reason or "no warnings")
        return out

    def _set_status(self, new: SessionStatus, out: list[Event]) -> None:
        if new is self.status:
            return
        old, self.status = self.status, new
        self._emit(StatusChanged(old, new, self._clock.monotonic()), out)

    def _set_step(self, step: Step, out: list[Event]) -> None:
        if step is not self.step:
            self.step = step
            self._emit(StepChanged(step), out)

    def _emit(self, event: Event, out: list[Event]) -> None:
        out.append(event)
        for listener in self._listeners:
            listener(event)
