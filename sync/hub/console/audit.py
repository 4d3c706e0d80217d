"""The audit log: every operator action (logins, decisions, revocations, workflow
publications, erasures, webhook re-sends), with who, when, what and why, in the hub database.
Entries are only ever added."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from sync.hub.console.tables import audit_log
from sync.hub.db import now_iso


def record(conn: sa.Connection, actor: str, action: str, target: str | None = None,
           reason: str | None = None, detail: str | None = None) -> None:
    """Add an entry inside the caller's transaction."""
    conn.execute(audit_log.insert().values(
        at=now_iso(), actor=actor[:100], action=action[:32],
        target=target[:200] if target else None, reason=reason[:1000] if reason else None,
        detail=detail[:1000] if detail else None))


def add(engine: sa.Engine, actor: str, action: str, target: str | None = None,
        reason: str | None = None, detail: str | None = None) -> None:
    with engine.begin() as conn:
        record(conn, actor, action, target, reason, detail)


def entries(engine: sa.Engine, limit: int = 200, actor: str | None = None
            ) -> list[dict[str, Any]]:
    q = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if actor is not None:
        q = q.where(audit_log.c.actor == actor)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]
