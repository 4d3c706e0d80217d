"""Status changes of sessions at the hub, and the webhook events they cause.

Three moments change a session's status at the hub, each calls one function here inside the
transaction that makes the change, so the event is in the durable queue exactly when the
change is committed (no change without its webhook, no webhook for a change rolled back):

- the ingest stores a verdict (`on_verdict_stored`, called by sync.hub.ingest);
- the fleet index finds the person enrolled by an earlier session (`on_fleet_review`,
  called by sync.hub.templates): Approved becomes In Review;
- a reviewer decides (`record_status_change`, called by the review console).

One `status.updated` webhook per status change; `data.updated` when the decision changes
without a new status (a further duplicate found for a session already In Review).
"""

from __future__ import annotations

import functools
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from sync.hub.api.decisions import build_decision
from sync.hub.db import insert_for, now_iso
from sync.hub.fleet_tables import fleet_reviews
from sync.hub.webhooks.tables import (
    hub_sessions,
    status_changes,
    webhook_deliveries,
    webhook_endpoints,
    webhook_events,
)
from sync.verdict import SignedVerdict
from sync.vocabulary import SessionStatus

log = logging.getLogger(__name__)

STATUS_UPDATED = "status.updated"
DATA_UPDATED = "data.updated"
RETRY_WINDOW_S = 26 * 3600  # retried for at least a day (Didit's promise), then "failed"
# what a reviewer may decide at the hub
REVIEW_OUTCOMES = frozenset({SessionStatus.APPROVED, SessionStatus.DECLINED,
                             SessionStatus.IN_REVIEW})


class StatusChangeError(ValueError):
    """A status change that cannot be made (unknown session, same status, not a decision)."""


# Built once: the ingest calls on_verdict_stored for every verdict, and building a statement
# costs more than running it (it halved the hub's verdicts per second).
_REVIEW_OF = (sa.select(fleet_reviews.c.matching_session)
              .where(fleet_reviews.c.session_id == sa.bindparam("sid")).limit(1))
_ENABLED_ENDPOINTS = sa.select(webhook_endpoints.c.id).where(
    webhook_endpoints.c.enabled.is_(True))


@functools.cache
def _insert_session(dialect: str) -> Any:
    return (insert_for(dialect, hub_sessions).on_conflict_do_nothing()
            .returning(hub_sessions.c.session_number))


def on_verdict_stored(conn: sa.Connection, fleet_id: str, device_id: str, verdict_id: int,
                      signed: SignedVerdict) -> None:
    """The ingest stored this verdict (same transaction): the session exists at the hub."""
    status = signed.status
    review = conn.execute(_REVIEW_OF, {"sid": signed.session_id}).first()
    now = now_iso()
    if review is not None and status is SessionStatus.APPROVED:
        status = SessionStatus.IN_REVIEW  # the fleet found the person first (see templates)
    row = conn.execute(_insert_session(conn.engine.dialect.name), dict(
        session_id=signed.session_id, fleet_id=fleet_id, device_id=device_id,
        verdict_id=verdict_id, vendor_data=signed.vendor_data or None,
        workflow_id=signed.workflow_id, workflow_version=signed.workflow_version,
        booth_status=signed.status.value, status=status.value, created_at=signed.created_at,
        updated_at=now)).first()
    if row is None:
        log.warning("session %s already at the hub from another verdict; kept the first",
                    signed.session_id)
        return
    if status is not signed.status:
        _change(conn, signed.session_id, signed.status, status, "fleet", None,
                "POSSIBLE_DUPLICATED_FACE found by the hub", now)
    emit(conn, signed.session_id, STATUS_UPDATED)


def on_fleet_review(conn: sa.Connection, session_id: str | None) -> None:
    """The fleet index put this session In Review (same transaction as its fleet_reviews
    row). A session whose verdict has not reached the hub yet is handled on arrival."""
    if session_id is None:
        return
    row = _session(conn, session_id)
    if row is None:
        return
    if row.status == SessionStatus.APPROVED.value:
        now = now_iso()
        _set_status(conn, session_id, SessionStatus.IN_REVIEW, now)
        _change(conn, session_id, SessionStatus.APPROVED, SessionStatus.IN_REVIEW, "fleet",
                None, "POSSIBLE_DUPLICATED_FACE found by the hub", now)
        emit(conn, session_id, STATUS_UPDATED)
    else:
        emit(conn, session_id, DATA_UPDATED)  # a new match in its decision


def record_status_change(engine: sa.Engine, session_id: str, new_status: SessionStatus, *,
                         actor: str, reason: str | None = None,
                         expect: SessionStatus | None = None,
                         also: Callable[[sa.Connection, str | None], None] | None = None
                         ) -> str | None:
    """A reviewer's decision (the review console calls this): the session's status becomes
    `new_status`, the change is kept with who made it and why, and one status.updated webhook
    is queued. Returns the webhook's event id (None when no endpoint is configured).
    Raises StatusChangeError for an unknown session, a status that is not a decision, the
    status the session already has, or (with `expect`) a session no longer in that status:
    two reviewers deciding at once, the second is refused, never silently the winner. `also`
    runs in the same transaction with the event id (the console's audit entry), so the
    change, its webhook and its audit row exist together or not at all."""
    if new_status not in REVIEW_OUTCOMES:
        raise StatusChangeError(f"{new_status.value!r} is not a review decision")
    with engine.begin() as conn:
        row = _session(conn, session_id)
        if row is None:
            raise StatusChangeError(f"session {session_id} is not at the hub")
        old = SessionStatus(row.status)
        if old is new_status:
            raise StatusChangeError(f"session {session_id} is already {old.value}")
        if expect is not None and old is not expect:
            raise StatusChangeError(f"session {session_id} is {old.value}, not {expect.value}")
        now = now_iso()
        if not _set_status(conn, session_id, new_status, now, old):
            raise StatusChangeError(f"session {session_id} changed meanwhile; look again")
        _change(conn, session_id, old, new_status, "reviewer", actor, reason, now)
        event_id = emit(conn, session_id, STATUS_UPDATED)
        if also is not None:
            also(conn, event_id)
        return event_id


def emit(conn: sa.Connection, session_id: str, webhook_type: str) -> str | None:
    """Queue one webhook event for the session's current state to every enabled endpoint."""
    endpoints = [r.id for r in conn.execute(_ENABLED_ENDPOINTS)]
    if not endpoints:
        return None
    row = conn.execute(sa.select(hub_sessions).where(
        hub_sessions.c.session_id == session_id)).mappings().one()
    decision = build_decision(conn, row).model_dump(mode="json")
    event_id = str(uuid.uuid4())
    now = time.time()
    envelope: dict[str, Any] = {
        "event_id": event_id, "webhook_type": webhook_type, "created_at": int(now),
        "session_id": session_id, "status": row["status"],
        "workflow_id": row["workflow_id"], "workflow_version": row["workflow_version"],
        "vendor_data": row["vendor_data"], "metadata": None, "decision": decision}
    conn.execute(webhook_events.insert().values(
        event_id=event_id, session_id=session_id, webhook_type=webhook_type,
        status=row["status"], envelope=json.dumps(envelope, sort_keys=True),
        created_at=now_iso()))
    conn.execute(webhook_deliveries.insert(), [
        dict(event_id=event_id, endpoint_id=e, state="pending", attempts=0,
             next_attempt_at=now, give_up_at=now + RETRY_WINDOW_S) for e in endpoints])
    log.info("webhook %s %s for session %s queued to %d endpoint(s)", webhook_type,
             row["status"], session_id, len(endpoints))
    return event_id


def _session(conn: sa.Connection, session_id: str) -> Any:
    return conn.execute(sa.select(hub_sessions.c.status).where(
        hub_sessions.c.session_id == session_id)).first()


def _set_status(conn: sa.Connection, session_id: str, status: SessionStatus, now: str,
                old: SessionStatus | None = None) -> bool:
    """Set the status (only if it is still `old`, when given); False when it was not."""
    where = hub_sessions.c.session_id == session_id
    if old is not None:
        where = sa.and_(where, hub_sessions.c.status == old.value)
    done = conn.execute(hub_sessions.update().where(where).values(status=status.value,
                                                                   updated_at=now))
    return done.rowcount == 1


def _change(conn: sa.Connection, session_id: str, old: SessionStatus, new: SessionStatus,
            source: str, actor: str | None, reason: str | None, now: str) -> None:
    conn.execute(status_changes.insert().values(
        session_id=session_id, from_status=old.value, to_status=new.value, source=source,
        actor=actor, reason=reason[:1000] if reason else None, at=now))
