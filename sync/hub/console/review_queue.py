"""The In Review queue and reviewers' decisions.

A session is In Review when its booth found a possible duplicate (a 1:N hit above the review
threshold) or when the hub found the person enrolled by an earlier session of the fleet
(sync.hub.templates). The queue shows each such session with its matches: the score, and both
sessions' devices and times. A decision (Approved or Declined, with a reason) goes through
sync.hub.webhooks.events.record_status_change, which stores the status change with who made it
and why and queues the integrator's status.updated webhook in the same transaction; the ops
worker (sync.hub.console.ops_worker) sends it on to the session's booth, signed. Every decision
is also in the audit log.

Evidence recordings stay on the booth that kept them; a booth whose workflow sets
`sync_evidence` sends a few downscaled frames of a session In Review (sync.hub.evidence), and
the session's page shows them (each frame served decrypted on the fly, each view audited).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from sync.hub.console import audit
from sync.hub.console.accounts import Operator
from sync.hub.evidence import frame_count
from sync.hub.fleet_tables import fleet_reviews
from sync.hub.schema import verdicts
from sync.hub.webhooks.events import StatusChangeError, record_status_change
from sync.hub.webhooks.tables import hub_sessions, status_changes
from sync.verdict import SignedVerdict
from sync.vocabulary import SessionStatus

DECISIONS = (SessionStatus.APPROVED, SessionStatus.DECLINED)
EVIDENCE_NOT_KEPT = ("No review frames at the hub: a booth sends a few frames of its recording "
                     "only when its workflow sets sync_evidence and the session is In Review; "
                     "recordings otherwise stay (encrypted) on the booth that kept them.")
EVIDENCE_NO_KEY = ("{n} review frame(s) from the booth are at the hub, but this console has no "
                   "hub key to open them (serve it with --hub-dir).")
EVIDENCE_SHOWN = ("{n} frame(s) of the booth's challenge recording, downscaled; every view is "
                  "written to the audit log.")


class DecisionError(ValueError):
    """A decision that cannot be taken; str() is one line."""


@dataclass(frozen=True)
class Match:
    session_id: str | None
    similarity: float  # cosine, 0..1
    found_by: str  # "hub" (fleet index) or "booth" (its own 1:N search)
    device_id: str | None
    created_at: str | None
    status: str | None
    vendor_data: str | None

    @property
    def percent(self) -> float:
        return round(min(max(self.similarity, 0.0), 1.0) * 100, 1)


@dataclass(frozen=True)
class QueueItem:
    session_id: str
    session_number: int
    status: str
    fleet_id: str
    device_id: str
    created_at: str
    received_at: str
    vendor_data: str | None
    workflow: str
    liveness_method: str
    liveness_score: float | None
    warnings: tuple[str, ...]
    matches: tuple[Match, ...]
    evidence_frames: tuple[str, ...] = ()
    evidence_note: str = EVIDENCE_NOT_KEPT
    history: tuple[dict[str, Any], ...] = field(default=())


def in_review(engine: sa.Engine, limit: int = 100) -> list[QueueItem]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(hub_sessions).where(
            hub_sessions.c.status == SessionStatus.IN_REVIEW.value).order_by(
            hub_sessions.c.created_at).limit(limit)).mappings().all()
        return [_item(conn, r) for r in rows]


def queue_item(engine: sa.Engine, session_id: str) -> QueueItem | None:
    """One session as the queue shows it (whatever its status now)."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(hub_sessions).where(
            hub_sessions.c.session_id == session_id)).mappings().first()
        return _item(conn, row) if row is not None else None


def _other(conn: sa.Connection, session_id: str | None) -> Any:
    if session_id is None:
        return None
    return conn.execute(sa.select(hub_sessions.c.device_id, hub_sessions.c.created_at,
                                  hub_sessions.c.status, hub_sessions.c.vendor_data).where(
        hub_sessions.c.session_id == session_id)).first()


def _item(conn: sa.Connection, row: Any) -> QueueItem:
    v = conn.execute(sa.select(verdicts.c.payload, verdicts.c.received_at).where(
        verdicts.c.id == row["verdict_id"])).one()
    signed = SignedVerdict.model_validate(json.loads(v.payload))
    matches: list[Match] = []
    for r in conn.execute(sa.select(fleet_reviews).where(
            fleet_reviews.c.session_id == row["session_id"])):
        o = _other(conn, r.matching_session)
        matches.append(Match(r.matching_session, float(r.similarity), "hub",
                             r.matching_device, o.created_at if o else None,
                             o.status if o else None, o.vendor_data if o else None))
    for m in signed.face.matches if signed.face is not None else ():
        o = _other(conn, m.session_id)
        matches.append(Match(m.session_id, float(m.similarity_score), "booth",
                             o.device_id if o else None, o.created_at if o else None,
                             o.status if o else None, m.vendor_data))
    warnings = [w.code.value for w in signed.liveness.warnings]
    for block in (signed.face, signed.age):
        warnings += [w.code.value for w in block.warnings] if block is not None else []
    warnings += [c.value for c in signed.warnings]
    if any(m.found_by == "hub" for m in matches):
        warnings.append("POSSIBLE_DUPLICATED_FACE")
    history = tuple(dict(r._mapping) for r in conn.execute(sa.select(
        status_changes.c.from_status, status_changes.c.to_status, status_changes.c.source,
        status_changes.c.actor, status_changes.c.reason, status_changes.c.at).where(
        status_changes.c.session_id == row["session_id"]).order_by(status_changes.c.id)))
    return QueueItem(
        session_id=row["session_id"], session_number=int(row["session_number"]),
        status=row["status"], fleet_id=row["fleet_id"], device_id=row["device_id"],
        created_at=row["created_at"],
        received_at=v.received_at, vendor_data=row["vendor_data"],
        workflow=f"{row['workflow_id']} v{row['workflow_version']}",
        liveness_method=signed.liveness.method.value, liveness_score=signed.liveness.score,
        warnings=tuple(dict.fromkeys(warnings)), matches=tuple(matches), history=history)


def with_evidence(engine: sa.Engine, item: QueueItem, prefix: str, can_open: bool
                  ) -> QueueItem:
    """The item with its review frames' addresses (or the note saying why there are none)."""
    n = frame_count(engine, item.session_id)
    if n == 0:
        return item
    if not can_open:
        return dataclasses.replace(item, evidence_note=EVIDENCE_NO_KEY.format(n=n))
    urls = tuple(f"{prefix}/sessions/{item.session_id}/evidence/{i}" for i in range(n))
    return dataclasses.replace(item, evidence_frames=urls,
                               evidence_note=EVIDENCE_SHOWN.format(n=n))


def decide(engine: sa.Engine, who: Operator, session_id: str, outcome: str, reason: str
           ) -> str | None:
    """Approve or decline a session In Review; returns the webhook's event id (None when no
    webhook endpoint is configured)."""
    try:
        status = SessionStatus(outcome)
    except ValueError:
        raise DecisionError(f"decision {outcome!r}: Approved or Declined") from None
    if status not in DECISIONS:
        raise DecisionError(f"decision {outcome!r}: Approved or Declined")
    reason = " ".join(reason.split())
    if not reason:
        raise DecisionError("a decision needs a reason")
    if len(reason) > 1000:
        raise DecisionError("a reason has at most 1000 characters")
    with engine.connect() as conn:
        current = conn.execute(sa.select(hub_sessions.c.status).where(
            hub_sessions.c.session_id == session_id)).first()
    if current is None:
        raise DecisionError(f"session {session_id} is not at the hub")
    if current.status != SessionStatus.IN_REVIEW.value:
        raise DecisionError(f"session {session_id} is {current.status}, not In Review")
    def audited(conn: sa.Connection, event_id: str | None) -> None:
        audit.record(conn, who.name, "decide", session_id, reason,
                     f"{status.value}; webhook {event_id or 'none (no endpoint)'}")

    try:  # the status change, its webhook and the audit row in one transaction
        return record_status_change(engine, session_id, status, actor=who.name,
                                    reason=reason, expect=SessionStatus.IN_REVIEW,
                                    also=audited)
    except StatusChangeError as exc:
        raise DecisionError(str(exc)) from None
