"""Build a session's Didit-shaped decision from what the hub holds: the verdict the booth
signed, the session's current status, the fleet's duplicate finding and reviewers' decisions.
The API's GET /v3/session/{id}/decision/ and the webhooks' `decision` use this one builder."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from sync.hub.api.defs.decision import (
    CaptureSourceInfo,
    Decision,
    FaceMatch,
    LivenessCheck,
    PohDetails,
    Review,
    WarningObject,
)
from sync.hub.api.warning_texts import warning_object
from sync.hub.fleet_tables import fleet_reviews
from sync.hub.schema import verdicts
from sync.hub.webhooks.tables import hub_sessions, status_changes
from sync.verdict import SignedVerdict
from sync.vocabulary import FeatureStatus, SessionStatus

LIVENESS_NODE = "feature_liveness"
_RANK = {FeatureStatus.APPROVED: 0, FeatureStatus.NOT_FINISHED: 1, FeatureStatus.IN_REVIEW: 2,
         FeatureStatus.DECLINED: 3}


def load_decision(conn: sa.Connection, session_id: str) -> Decision | None:
    row = conn.execute(sa.select(hub_sessions).where(
        hub_sessions.c.session_id == session_id)).mappings().first()
    if row is None:
        return None
    return build_decision(conn, row)


def build_decision(conn: sa.Connection, session: Any) -> Decision:
    v = conn.execute(sa.select(verdicts).where(verdicts.c.id == session["verdict_id"])
                     ).mappings().one()
    signed = SignedVerdict.model_validate(json.loads(v["payload"]))
    status = SessionStatus(session["status"])
    check = _liveness_check(conn, signed, session, status)
    reviews = [Review(user=r.actor, new_status=SessionStatus(r.to_status), comment=r.reason,
                      created_at=r.at)
               for r in conn.execute(sa.select(status_changes).where(
                   status_changes.c.session_id == signed.session_id,
                   status_changes.c.source == "reviewer").order_by(status_changes.c.id))]
    features = ["LIVENESS"] + (["FACE_SEARCH"] if signed.face is not None else []) + (
        ["AGE_ESTIMATION"] if signed.age is not None else [])
    return Decision(
        session_id=signed.session_id, session_number=session["session_number"], status=status,
        workflow_id=signed.workflow_id, workflow_version=signed.workflow_version,
        features=features, vendor_data=signed.vendor_data or None,
        liveness_checks=[check], reviews=reviews, created_at=signed.created_at,
        poh=PohDetails(fleet_id=v["fleet_id"], device_id=v["device_id"],
                       sequence=v["sequence"], booth_status=signed.status,
                       capture_source=CaptureSourceInfo(kind=signed.capture_source.kind.value,
                                                        detail=signed.capture_source.detail),
                       verdict_sha256=v["sha256"], decided_at=signed.decided_at,
                       received_at=v["received_at"], reason=signed.reason))


def _liveness_check(conn: sa.Connection, signed: SignedVerdict, session: Any,
                    status: SessionStatus) -> LivenessCheck:
    """One LIVENESS block: liveness, the 1:N search (its matches and warnings: Didit reports
    duplicates inside liveness) and the age estimate, with the session's other warnings."""
    feature = signed.liveness.status
    if signed.face is not None and _RANK[signed.face.status] > _RANK[feature]:
        feature = signed.face.status
    matches = [_match(conn, m.session_id, m.vendor_data, m.similarity_score, m.blocklisted)
               for m in (signed.face.matches if signed.face is not None else ())]
    codes: list[str] = [w.code.value for w in signed.liveness.warnings]
    for block in (signed.face, signed.age):
        codes += [w.code.value for w in block.warnings] if block is not None else []
    codes += [c.value for c in signed.warnings]
    extra: dict[str, dict[str, Any]] = {}
    for r in conn.execute(sa.select(fleet_reviews).where(
            fleet_reviews.c.session_id == signed.session_id)):
        # the hub found this session's person enrolled by an earlier session of the fleet
        matches.append(_match(conn, r.matching_session, None, r.similarity, False))
        codes.append("POSSIBLE_DUPLICATED_FACE")
        extra["POSSIBLE_DUPLICATED_FACE"] = {"duplicated_session_id": r.matching_session,
                                             "duplicated_device_id": r.matching_device,
                                             "found_by": "hub"}
        if _RANK[feature] < _RANK[FeatureStatus.IN_REVIEW]:
            feature = FeatureStatus.IN_REVIEW
    if status is SessionStatus.APPROVED and session["booth_status"] != status.value:
        feature = FeatureStatus.APPROVED  # a reviewer approved: the block follows the session
    elif status is SessionStatus.DECLINED and feature is not FeatureStatus.DECLINED:
        feature = FeatureStatus.DECLINED
    seen: set[str] = set()
    warnings: list[WarningObject] = []
    for code in codes:
        if code not in seen:
            seen.add(code)
            warnings.append(warning_object(code, feature, LIVENESS_NODE, extra.get(code)))
    return LivenessCheck(
        node_id=LIVENESS_NODE, status=feature, method=signed.liveness.method,
        score=round(signed.liveness.score, 2) if signed.liveness.score is not None else None,
        # whole hundredths: every float a receiver re-serialises (X-Signature-V2) prints
        # the same in Python and JavaScript
        age_estimation=(round(signed.age.age_estimation, 2) if signed.age is not None
                        and signed.age.age_estimation is not None else None),
        matches=matches, warnings=warnings)


def _match(conn: sa.Connection, session_id: str | None, vendor_data: str | None,
           similarity: float, blocklisted: bool) -> FaceMatch:
    other = None
    if session_id is not None:
        other = conn.execute(sa.select(
            hub_sessions.c.session_number, hub_sessions.c.status, hub_sessions.c.vendor_data,
            hub_sessions.c.created_at).where(hub_sessions.c.session_id == session_id)).first()
    return FaceMatch(
        session_id=session_id, session_number=other.session_number if other else None,
        similarity_percentage=round(min(max(similarity, 0.0), 1.0) * 100, 2),
        vendor_data=vendor_data if vendor_data is not None else (
            other.vendor_data if other else None),
        verification_date=other.created_at if other else None,
        status=SessionStatus(other.status) if other else None, is_blocklisted=blocklisted)
