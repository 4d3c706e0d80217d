"""The headless session runner: frames in, one signed, stored verdict out.

Frames come from a camera, a video file or a still image; each goes through the real face
pipeline and the quality cues into the session engine; the accepted frames go to the liveness
analyzer, the session template to the 1:N search. The verdict is signed and written to the verdict
log and the outbox in one transaction before anything is returned; then, on Approved, a reusable
credential is issued. An Approved person was enrolled just before the verdict was written: a
crash in between leaves a template without a verdict, which can only make the next attempt of
that person a duplicate for review, never let a second registration through.

Active methods (FLASHING, ACTIVE_3D) start with the challenge: the plan is derived from the
session's nonce and handed to the challenge camera (the kiosk screen and camera, the simulator,
or a stored recording); the recording it returns is the session's frame source, and at the
liveness step the same recording is checked against the plan and analysed. A recording that
answers another nonce is declined, with the reason, before any analysis.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from app.capture.challenge import ChallengeCamera, RecordingSource
from app.capture.plan import make_plan, new_nonce
from app.capture.recording import Recording, RecordingError
from app.faults import maybe_crash
from app.frames import Frame, FrameSource
from app.liveness_active import ChallengeRefused
from app.session import (
    AttemptCounts,
    CredentialInput,
    FrameAccepted,
    ManualClock,
    RetakeRequested,
    SessionEngine,
    Step,
    SystemClock,
)
from app.session.inputs import Clock
from app.session_services import BgrImage, FaceSearchService, LivenessAnalyzer, SessionLog
from app.workflows import Workflow
from inference.pipeline import FacePipeline
from inference.quality import QualityConfig, assess_quality
from inference.types import FrameAnalysis
from sync.credential import Credential, issue_credential
from sync.device_key import DeviceKey
from sync.verdict import (
    ChallengeBinding,
    CredentialUse,
    SignedVerdict,
    VerdictBody,
    idempotency_key,
    iso_utc,
    sign_verdict,
)
from sync.vocabulary import LivenessMethod, SessionStatus

log = logging.getLogger(__name__)


class EvidenceSink(Protocol):
    """Keeps a session's challenge recording (app.capture.evidence.EvidenceStore fits)."""

    def keep(self, session_id: str, recording: Recording) -> None: ...


@dataclass(frozen=True)
class RunnerParts:
    """Everything a session run needs, built once by the composition root."""

    pipeline: FacePipeline
    quality: QualityConfig
    liveness: LivenessAnalyzer
    search: FaceSearchService | None
    sessions: SessionLog
    key: DeviceKey
    evidence: EvidenceSink | None = None  # keeps challenge recordings, encrypted, if asked


@dataclass(frozen=True)
class SessionResult:
    verdict: SignedVerdict
    verdict_bytes: bytes  # canonical, exactly as stored in the log and the outbox
    credential: str | None
    enrolled: bool
    frames_read: int
    source_end: str | None
    events: dict[str, int] = field(default_factory=dict)  # event type -> count


class SessionRunner:
    def __init__(self, parts: RunnerParts, workflow: Workflow,
                 crash: Callable[[str], None] = maybe_crash,
                 nonce: Callable[[], bytes] = new_nonce) -> None:
        self.parts = parts
        self.workflow = workflow
        self._nonce = nonce  # a fresh CSPRNG nonce per session; tests inject a fixed one
        self._crash = crash
        if parts.liveness.method is not workflow.method:
            # refuse before a session starts: this analyzer cannot answer this workflow
            raise ValueError(f"workflow {workflow.ref} asks for {workflow.method} liveness; "
                             f"this runner has {parts.liveness.method}")

    @property
    def active(self) -> bool:
        return self.workflow.method is not LivenessMethod.PASSIVE

    def run(self, source: FrameSource | ChallengeCamera, vendor_data: str,
            credential: Credential | None = None) -> SessionResult:
        """A FrameSource for PASSIVE workflows, a ChallengeCamera for FLASHING / ACTIVE_3D."""
        wf, parts = self.workflow, self.parts
        if self.active == isinstance(source, FrameSource):
            raise ValueError(f"workflow {wf.ref} ({wf.method}) needs "
                             f"{'a challenge camera' if self.active else 'a frame source'}")
        clock: Clock = (SystemClock() if isinstance(source, FrameSource) and source.live
                        else ManualClock())
        session_id = str(uuid.uuid4())
        since = clock.wall() - wf.attempt_limits.window_seconds
        person, device = parts.sessions.count_attempts(vendor_data, since)
        engine = SessionEngine(wf, session_id=session_id, vendor_data=vendor_data, clock=clock,
                               attempts=AttemptCounts(person=person, device=device),
                               nonce=self._nonce())
        counts: dict[str, int] = {}
        engine.subscribe(lambda e: counts.__setitem__(type(e).__name__,
                                                      counts.get(type(e).__name__, 0) + 1))
        parts.sessions.record_session_start(session_id, vendor_data, wf.workflow_id,
                                            wf.version, engine.created_at)
        engine.start()
        if credential is not None and not engine.finished:
            engine.accept_credential(credential_input(credential))
        source_end: str | None = None
        frames_read = 0
        if not engine.finished:
            if isinstance(source, FrameSource):
                source_end = self._drive(engine, source, clock)
                frames_read = source.frames_read
            else:
                source_end, frames_read = self._challenge(engine, source, clock)
        return self._finish(engine, frames_read, source_end, counts)

    def _challenge(self, engine: SessionEngine, camera: ChallengeCamera, clock: Clock
                   ) -> tuple[str | None, int]:
        plan = make_plan(self.workflow.method.value, engine.nonce)
        try:
            rec = camera.capture(plan)
        except (RecordingError, OSError, RuntimeError) as exc:
            log.warning("challenge capture failed: %s", exc)
            engine.on_source_ended(f"challenge capture failed: {exc}")
            return f"challenge capture failed: {exc}", 0
        if self.workflow.liveness.config.retain_evidence and self.parts.evidence is not None:
            self.parts.evidence.keep(engine.session_id, rec)
        source = RecordingSource(rec, camera.description)
        return self._drive(engine, source, clock, rec), source.frames_read

    # ---- the frame loop ----------------------------------------------------------------------
    def _drive(self, engine: SessionEngine, source: FrameSource, clock: Clock,
               response: Recording | None = None) -> str | None:
        """Feed the source's frames; `response` is the challenge recording of an active
        session (its frames are the source), handed to the liveness analyzer."""
        kept: dict[int, tuple[BgrImage, FrameAnalysis]] = {}
        last_t = 0.0
        try:
            for frame in source:
                if isinstance(clock, ManualClock):
                    clock.advance(max(0.0, frame.t - last_t))
                    last_t = frame.t
                self._on_frame(engine, frame, kept, response)
                if engine.finished:
                    return None
        finally:
            source.close()
        engine.on_source_ended(source.end_reason)
        return source.end_reason

    def _on_frame(self, engine: SessionEngine, frame: Frame,
                  kept: dict[int, tuple[BgrImage, FrameAnalysis]],
                  response: Recording | None) -> None:
        parts = self.parts
        analysis = parts.pipeline.analyze(frame.image)
        faces = analysis.faces
        quality = (assess_quality(frame.image, faces[0], 1, parts.quality)
                   if len(faces) == 1 else None)
        for event in engine.on_frame(frame.index, analysis, quality):
            if isinstance(event, FrameAccepted):
                kept[event.index] = (frame.image, analysis)
            elif isinstance(event, RetakeRequested):
                kept.clear()
        if engine.step is Step.LIVENESS:
            chosen = [kept[i] for i in engine.accepted_indices]
            kept.clear()  # the frames are not needed after this; do not keep faces around
            try:
                result = parts.liveness.analyze([c[0] for c in chosen],
                                                [c[1] for c in chosen], engine.nonce,
                                                response)
            except ChallengeRefused as exc:
                log.warning("challenge response refused: %s", exc)
                engine.step_failed(f"challenge response refused: {exc}")
                return
            except (ValueError, RuntimeError) as exc:  # fail closed: declined, with the reason
                log.warning("liveness analysis failed: %s", exc)
                engine.step_failed(f"liveness analysis failed: {exc}")
                return
            engine.on_liveness(result)
        if engine.step is Step.SEARCH:
            feature = self.workflow.face_search
            if parts.search is None or feature is None:
                engine.step_failed("no face search service on this kiosk")
                return
            try:
                found = parts.search.search(engine.template(), feature.config.max_matches)
            except (ValueError, RuntimeError, OSError) as exc:
                log.warning("face search failed: %s", exc)
                engine.step_failed(f"face search failed: {exc}")
                return
            engine.on_search(found)

    # ---- the verdict -------------------------------------------------------------------------
    def _finish(self, engine: SessionEngine, frames_read: int, source_end: str | None,
                counts: dict[str, int]) -> SessionResult:
        wf, parts = self.workflow, self.parts
        decision = engine.decision
        if decision is None or engine.decided_at is None:
            raise RuntimeError("session ended without a decision")
        approved = decision.status is SessionStatus.APPROVED
        enrolled = False
        if approved and engine.credential is None and parts.search is not None:
            parts.search.enroll(engine.vendor_data, engine.session_id, engine.template())
            enrolled = True
        key = parts.key
        cred = engine.credential
        body_fields = {
            "session_id": engine.session_id, "vendor_data": engine.vendor_data,
            "status": decision.status, "workflow_id": wf.workflow_id,
            "workflow_version": wf.version, "liveness": decision.liveness,
            "face": decision.face_search, "age": decision.age,
            "warnings": decision.warnings, "reason": decision.reason,
            "created_at": iso_utc(engine.created_at), "decided_at": iso_utc(engine.decided_at),
            "device_id": key.device_id,
            "idempotency_key": idempotency_key(key.device_id, engine.session_id),
            "challenge": ChallengeBinding(
                method=wf.method, nonce=engine.nonce.hex(),
                response_digest=engine.liveness.response_digest if engine.liveness else None),
            "credential": (CredentialUse(jti=cred.jti, issuer=cred.issuer, key_id=cred.key_id,
                                         method=cred.method, issued_at=cred.issued_at,
                                         expires_at=cred.expires_at) if cred else None),
        }

        def build(sequence: int) -> SignedVerdict:
            return sign_verdict(VerdictBody.model_validate({**body_fields,
                                                            "sequence": sequence}), key)

        verdict, raw = parts.sessions.append(
            build, before_commit=lambda: self._crash("verdict-before-commit"))
        # stored and signed, not yet shown: a crash here must leave it in the outbox, once
        self._crash("verdict-after-commit")
        token = None
        if approved and wf.credential.issue and cred is None:
            age_f = wf.age
            token = issue_credential(
                key, vendor_data=engine.vendor_data, method=wf.method,
                unique=wf.face_search is not None, workflow=wf.ref,
                validity_seconds=wf.credential.validity_seconds,
                age_over=age_f.config.min_age if age_f is not None else None,
                verdict_sequence=verdict.sequence)
        return SessionResult(verdict, raw, token, enrolled, frames_read, source_end, counts)


def credential_input(c: Credential) -> CredentialInput:
    return CredentialInput(jti=c.jti, issuer=c.issuer, key_id=c.key_id, subject=c.subject,
                           method=c.method, issued_at=c.issued_at, expires_at=c.expires_at,
                           age_over=c.age_over)
