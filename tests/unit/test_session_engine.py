"""The session engine: the happy path, retakes, time-outs, attempt limits and a source that ends."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from app.session import (
    AttemptCounts,
    CaptureCompleted,
    CredentialInput,
    LivenessInput,
    ManualClock,
    RetakeRequested,
    SearchInput,
    SearchMatch,
    SessionEngine,
    SessionFinished,
    SessionStateError,
    StatusChanged,
    Step,
)
from app.workflows import Workflow, parse_workflow
from inference.types import Box, Detection, FaceAnalysis, FrameAnalysis
from sync.vocabulary import LivenessMethod, SessionStatus, WarningCode

S, W = SessionStatus, WarningCode
RNG = np.random.default_rng(7)
PERSON = RNG.normal(size=192).astype(np.float32)


def _wf(**over: Any) -> Workflow:
    doc: dict[str, Any] = {
        "workflow_id": "t", "version": 1, "workflow_label": "t",
        "features": [{"feature": "LIVENESS"}, {"feature": "FACE_SEARCH"}],
        "session": {"expiry_seconds": 60, "abandon_after_seconds": 5,
                    "capture_timeout_seconds": 4, "frames_required": 3, "max_retakes": 1},
    }
    doc.update(over)
    return parse_workflow(doc)


def _face(embedding: bool = True, age: float | None = 30.0) -> FaceAnalysis:
    emb = PERSON + RNG.normal(scale=0.05, size=192).astype(np.float32)
    emb /= np.linalg.norm(emb)
    det = Detection(Box(100, 100, 300, 300), 0.9, np.zeros((6, 2), np.float32))
    return FaceAnalysis(det, None, None, None, embedding=emb if embedding else None, age=age)


def _frame(n_faces: int = 1, **kw: Any) -> FrameAnalysis:
    return FrameAnalysis((480, 640), tuple(_face(**kw) for _ in range(n_faces)))


class _Quality:
    def __init__(self, ok: bool) -> None:
        self.ok = ok
        self.codes = () if ok else ("TOO_DARK",)


def _engine(wf: Workflow | None = None, **kw: Any) -> tuple[SessionEngine, ManualClock]:
    clock = ManualClock(wall_start=1_700_000_000.0)
    eng = SessionEngine(wf or _wf(), session_id="s1", vendor_data="alice", clock=clock, **kw)
    return eng, clock


def _capture(eng: SessionEngine, clock: ManualClock, n: int = 3) -> None:
    for i in range(n):
        clock.advance(0.1)
        eng.on_frame(i, _frame())


def test_happy_path_to_approved() -> None:
    eng, clock = _engine()
    seen: list[object] = []
    eng.subscribe(seen.append)
    eng.start()
    assert eng.status is S.IN_PROGRESS and eng.step is Step.CAPTURE
    _capture(eng, clock)
    assert eng.step is Step.LIVENESS
    assert any(isinstance(e, CaptureCompleted) for e in seen)
    tpl = eng.template()
    assert abs(float(np.linalg.norm(tpl)) - 1.0) < 1e-5
    assert float(tpl @ (PERSON / np.linalg.norm(PERSON))) > 0.95
    eng.on_liveness(LivenessInput(LivenessMethod.PASSIVE, 90.0, attack=False))
    assert eng.step is Step.SEARCH
    events = eng.on_search(SearchInput(matches=()))
    assert eng.status is S.APPROVED and eng.finished
    assert isinstance(events[-1], SessionFinished)
    assert eng.decided_at is not None and eng.decided_at > eng.created_at
    statuses = [e.new for e in seen if isinstance(e, StatusChanged)]
    assert statuses == [S.IN_PROGRESS, S.APPROVED]


def test_duplicate_in_review_and_attack_declined() -> None:
    eng, clock = _engine()
    eng.start()
    _capture(eng, clock)
    eng.on_liveness(LivenessInput(LivenessMethod.PASSIVE, 90.0, attack=False))
    eng.on_search(SearchInput(matches=(SearchMatch("alice-1", 0.88),)))
    assert eng.status is S.IN_REVIEW
    assert eng.decision is not None and W.POSSIBLE_DUPLICATED_FACE in eng.decision.warnings

    eng, clock = _engine()
    eng.start()
    _capture(eng, clock)
    eng.on_liveness(LivenessInput(LivenessMethod.PASSIVE, 12.0, attack=True))
    eng.on_search(SearchInput(matches=()))
    assert eng.status is S.DECLINED
    assert eng.decision is not None and W.LIVENESS_FACE_ATTACK in eng.decision.warnings


def test_bad_frames_are_rejected_with_codes() -> None:
    eng, clock = _engine()
    eng.start()
    eng.on_frame(0, _frame(0))
    eng.on_frame(1, _frame(2))
    eng.on_frame(2, _frame(embedding=False))
    eng.on_frame(3, _frame(), _Quality(ok=False))
    assert eng.accepted_indices == ()
    assert eng.rejection_counts() == {"NO_FACE_DETECTED": 1, "MULTIPLE_FACES_DETECTED": 1,
                                      "LOW_FACE_QUALITY": 2}
    eng.on_frame(4, _frame(), _Quality(ok=True))
    assert eng.accepted_indices == (4,)


def test_retake_then_declined_when_retakes_run_out() -> None:
    eng, clock = _engine()
    eng.start()
    events = []
    for i in range(100):
        clock.advance(0.25)
        events += eng.on_frame(i, _frame(), _Quality(ok=False))
        if eng.finished:
            break
    retakes = [e for e in events if isinstance(e, RetakeRequested)]
    assert len(retakes) == 1
    assert S.RESUBMITTED in [e.new for e in events if isinstance(e, StatusChanged)]
    assert eng.status is S.DECLINED
    assert eng.decision is not None and W.LOW_FACE_QUALITY in eng.decision.warnings


def test_resubmitted_returns_to_in_progress() -> None:
    eng, clock = _engine()
    eng.start()
    eng.on_frame(0, _frame(), _Quality(ok=False))
    clock.advance(4.0)
    eng.tick()
    assert eng.status is S.RESUBMITTED
    eng.on_frame(1, _frame())
    assert eng.status is S.IN_PROGRESS


def test_nobody_there_is_abandoned() -> None:
    eng, clock = _engine()
    eng.start()
    for i in range(30):
        clock.advance(0.25)
        eng.on_frame(i, _frame(0))
    assert eng.status is S.ABANDONED
    assert eng.decision is not None and eng.decision.reason is not None
    assert "no face" in eng.decision.reason


def test_expiry() -> None:
    eng, clock = _engine()
    eng.start()
    _capture(eng, clock)
    clock.advance(61)
    eng.tick()
    assert eng.status is S.EXPIRED
    assert eng.on_liveness(LivenessInput(LivenessMethod.PASSIVE, 99.0, attack=False)) == []
    assert eng.status is S.EXPIRED


def test_source_ended_mid_session_abandons_with_reason() -> None:
    eng, clock = _engine()
    eng.start()
    _capture(eng, clock, n=2)
    eng.on_source_ended("video ended")
    assert eng.status is S.ABANDONED
    assert eng.decision is not None
    assert eng.decision.reason is not None and "video ended" in eng.decision.reason
    assert "2 of 3 usable" in eng.decision.reason
    assert eng.decision.liveness.status.value == "Not Finished"


def test_attempt_limits() -> None:
    eng, _ = _engine(attempts=AttemptCounts(person=3, device=0))
    eng.start()
    assert eng.status is S.DECLINED
    assert eng.decision is not None
    assert W.ATTEMPT_LIMIT_EXCEEDED in eng.decision.warnings
    eng, _ = _engine(attempts=AttemptCounts(person=0, device=500))
    eng.start()
    assert eng.status is S.DECLINED
    eng, _ = _engine(attempts=AttemptCounts(person=2, device=499))
    eng.start()
    assert eng.status is S.IN_PROGRESS


def test_out_of_order_calls_are_refused() -> None:
    eng, _ = _engine()
    with pytest.raises(SessionStateError):
        eng.on_search(SearchInput(matches=()))
    eng.start()
    with pytest.raises(SessionStateError):
        eng.on_liveness(LivenessInput(LivenessMethod.PASSIVE, 90.0, attack=False))
    with pytest.raises(SessionStateError):
        eng.start()


def test_credential_instead_of_a_check() -> None:
    cred = CredentialInput("jti-1", "dev-a", "kid", "sub", LivenessMethod.PASSIVE, 0, 99)
    eng, _ = _engine()
    eng.start()
    assert eng.credential_refusal(cred) is not None  # this workflow does not accept them
    with pytest.raises(SessionStateError):
        eng.accept_credential(cred)
    eng, _ = _engine(_wf(credential={"accept": True}))
    eng.start()
    assert eng.credential_refusal(cred) is None
    eng.accept_credential(cred)
    assert eng.status is S.APPROVED
    strong, _ = _engine(_wf(credential={"accept": True, "accepted_methods": ["FLASHING"]}))
    strong.start()
    assert strong.credential_refusal(cred) is not None
