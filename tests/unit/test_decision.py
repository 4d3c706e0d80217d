"""The decision table: each outcome, and failing closed whenever a piece is missing."""

from __future__ import annotations

from typing import Any

import pytest

from app.session import (
    CaptureFinding,
    CredentialInput,
    LivenessInput,
    SearchInput,
    SearchMatch,
    decide,
    decide_by_credential,
    decide_unfinished,
)
from app.workflows import Workflow, parse_workflow
from sync.vocabulary import FeatureStatus, LivenessMethod, SessionStatus, WarningCode

S, F, W = SessionStatus, FeatureStatus, WarningCode
PASSIVE = LivenessMethod.PASSIVE


def _wf(**search_cfg: Any) -> Workflow:
    return parse_workflow({
        "workflow_id": "t", "version": 3, "workflow_label": "t",
        "features": [{"feature": "LIVENESS", "config": {"method": "PASSIVE"}},
                     {"feature": "FACE_SEARCH", "config": {"review_threshold": 0.5, **search_cfg}},
                     {"feature": "AGE_ESTIMATION", "config": {"min_age": 18,
                                                             "review_margin_years": 2}}],
        "face_liveness_score_decline_threshold": 50,
        "face_liveness_score_review_threshold": 60,
    })


LIVE = LivenessInput(PASSIVE, 92.0, attack=False)
EMPTY = SearchInput(matches=(), gallery_size=10)


def test_all_good_is_approved() -> None:
    d = decide(_wf(), LIVE, EMPTY, 35.0)
    assert d.status is S.APPROVED
    assert d.warnings == ()
    assert d.liveness.status is F.APPROVED and d.liveness.score == 92.0
    assert d.face_search is not None and d.face_search.status is F.APPROVED
    assert d.age is not None and d.age.age_estimation == 35.0


def test_attack_declines() -> None:
    d = decide(_wf(), LivenessInput(PASSIVE, 95.0, attack=True), EMPTY, 35.0)
    assert d.status is S.DECLINED
    assert W.LIVENESS_FACE_ATTACK in d.warnings
    assert d.liveness.status is F.DECLINED


@pytest.mark.parametrize(("score", "status"), [
    (10.0, S.DECLINED), (50.0, S.DECLINED), (55.0, S.IN_REVIEW), (60.0, S.IN_REVIEW),
    (60.5, S.APPROVED), (None, S.DECLINED), (float("nan"), S.DECLINED),
])
def test_liveness_score_bands(score: float | None, status: SessionStatus) -> None:
    d = decide(_wf(), LivenessInput(PASSIVE, score, attack=False), EMPTY, 35.0)
    assert d.status is status
    assert (W.LOW_LIVENESS_SCORE in d.warnings) == (status is not S.APPROVED)


def test_wrong_method_never_passes() -> None:
    d = decide(_wf(), LivenessInput(LivenessMethod.FLASHING, 99.0, attack=False), EMPTY, 35.0)
    assert d.status is S.DECLINED
    assert d.reason is not None and "method" in d.reason


def test_duplicate_goes_to_review_with_matches() -> None:
    hit = SearchInput(matches=(SearchMatch("alice", 0.93, "s-1"), SearchMatch("bob", 0.31)))
    d = decide(_wf(), LIVE, hit, 35.0)
    assert d.status is S.IN_REVIEW
    assert W.POSSIBLE_DUPLICATED_FACE in d.warnings
    assert d.face_search is not None
    assert [m.vendor_data for m in d.face_search.matches] == ["alice"]
    assert d.face_search.matches[0].similarity_score == 0.93


def test_duplicate_declines_only_when_explicit() -> None:
    hit = SearchInput(matches=(SearchMatch("alice", 0.93),))
    wf = _wf(duplicate_action="DECLINE", decline_threshold=0.9)
    assert decide(wf, LIVE, hit, 35.0).status is S.DECLINED
    near = SearchInput(matches=(SearchMatch("alice", 0.7),))
    assert decide(wf, LIVE, near, 35.0).status is S.IN_REVIEW


def test_blocklist_declines() -> None:
    hit = SearchInput(matches=(SearchMatch("bob", 0.8), SearchMatch("x", 0.7, blocklisted=True)))
    d = decide(_wf(max_matches=1), LIVE, hit, 35.0)
    assert d.status is S.DECLINED
    assert W.BLOCKLISTED_FACE in d.warnings and W.POSSIBLE_DUPLICATED_FACE in d.warnings
    assert d.face_search is not None
    assert d.face_search.matches[0].blocklisted  # blocklist hits listed first, never cut


@pytest.mark.parametrize(("age", "status", "code"), [
    (None, S.DECLINED, W.AGE_NOT_DETECTED), (15.0, S.DECLINED, W.AGE_BELOW_MINIMUM),
    (19.0, S.IN_REVIEW, W.AGE_BELOW_MINIMUM), (20.0, S.APPROVED, None),
])
def test_age(age: float | None, status: SessionStatus, code: WarningCode | None) -> None:
    d = decide(_wf(), LIVE, EMPTY, age)
    assert d.status is status
    if code is not None:
        assert code in d.warnings


def test_missing_pieces_fail_closed() -> None:
    no_live = decide(_wf(), None, EMPTY, 35.0)
    assert no_live.status is S.DECLINED
    assert no_live.liveness.status is F.NOT_FINISHED
    assert W.CHECK_NOT_COMPLETED in no_live.warnings
    no_search = decide(_wf(), LIVE, None, 35.0)
    assert no_search.status is S.DECLINED
    assert no_search.face_search is not None
    assert no_search.face_search.status is F.NOT_FINISHED


def test_decline_beats_review() -> None:
    hit = SearchInput(matches=(SearchMatch("alice", 0.93),))
    d = decide(_wf(), LivenessInput(PASSIVE, 20.0, attack=False), hit, 35.0)
    assert d.status is S.DECLINED


def test_unfinished_is_never_approved() -> None:
    d = decide_unfinished(_wf(), S.ABANDONED, "video ended")
    assert d.status is S.ABANDONED
    assert d.liveness.status is F.NOT_FINISHED
    for bad in (S.APPROVED, S.IN_REVIEW, S.IN_PROGRESS):
        with pytest.raises(ValueError, match="cannot end"):
            decide_unfinished(_wf(), bad, "x")


def test_credential_needs_age_claim() -> None:
    cred = CredentialInput("j", "dev", "k", "sub", PASSIVE, 0, 10, age_over=None)
    with pytest.raises(ValueError, match="minimum age"):
        decide_by_credential(_wf(), cred)
    ok = decide_by_credential(_wf(), CredentialInput("j", "dev", "k", "sub", PASSIVE, 0, 10, 18))
    assert ok.status is S.APPROVED


def _capture_wf(**policy: str) -> Workflow:
    doc = _wf().model_dump(mode="json")
    doc["capture_integrity"] = policy
    return parse_workflow(doc)


TIMING = CaptureFinding(W.IRREGULAR_FRAME_TIMING, "frame timing: too regular for a camera")
VIRTUAL = CaptureFinding(W.VIRTUAL_CAMERA, "virtual camera: driver 'v4l2 loopback'")


def test_capture_findings_review_by_default() -> None:
    d = decide(_wf(), LIVE, EMPTY, 35.0, (TIMING,))
    assert d.status is S.IN_REVIEW
    assert d.warnings == (W.IRREGULAR_FRAME_TIMING,)
    assert d.reason == TIMING.reason
    assert d.liveness.status is F.APPROVED  # the reports keep their own verdicts


def test_capture_findings_decline_when_the_workflow_says_so() -> None:
    wf = _capture_wf(virtual_camera="DECLINE")
    d = decide(wf, LIVE, EMPTY, 35.0, (TIMING, VIRTUAL))
    assert d.status is S.DECLINED
    assert d.warnings == (W.IRREGULAR_FRAME_TIMING, W.VIRTUAL_CAMERA)
    assert d.reason == VIRTUAL.reason
    # a declining feature still wins over a reviewing finding, and its reason is given
    attack = LivenessInput(PASSIVE, 5.0, attack=True)
    d = decide(_wf(), attack, EMPTY, 35.0, (TIMING,))
    assert d.status is S.DECLINED and d.reason == "presentation attack detected"
    assert W.IRREGULAR_FRAME_TIMING in d.warnings


def test_capture_findings_join_an_unfinished_session_without_changing_its_status() -> None:
    d = decide_unfinished(_wf(), S.ABANDONED, "walked away", capture=(VIRTUAL, VIRTUAL))
    assert d.status is S.ABANDONED
    assert d.warnings == (W.CHECK_NOT_COMPLETED, W.VIRTUAL_CAMERA)
