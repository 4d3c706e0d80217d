"""Webhook endpoints and the delivery queue as an operator sees them: add or disable an
endpoint, list deliveries (failed ones first of all), send an event again (same event_id)."""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from sync.hub.api.errors import HubInputError
from sync.hub.db import now_iso
from sync.hub.webhooks.events import RETRY_WINDOW_S
from sync.hub.webhooks.tables import webhook_deliveries, webhook_endpoints, webhook_events

STATES = ("pending", "delivered", "failed")


def add_endpoint(engine: sa.Engine, name: str, url: str) -> str:
    """Returns the new endpoint's signing secret (shown once by the CLI)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HubInputError(f"webhook URL {url!r}: give http(s)://host[:port]/path")
    if not name or len(name) > 100:
        raise HubInputError("endpoint name: 1 to 100 characters")
    secret = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        if conn.execute(sa.select(webhook_endpoints.c.id).where(
                webhook_endpoints.c.name == name)).first() is not None:
            raise HubInputError(f"webhook endpoint {name!r} exists already")
        conn.execute(webhook_endpoints.insert().values(
            name=name, url=url, secret=secret, enabled=True, created_at=now_iso()))
    return secret


def set_enabled(engine: sa.Engine, name: str, enabled: bool) -> None:
    with engine.begin() as conn:
        res = conn.execute(webhook_endpoints.update().where(
            webhook_endpoints.c.name == name).values(enabled=enabled))
        if res.rowcount != 1:
            raise HubInputError(f"no webhook endpoint {name!r}")


def endpoints(engine: sa.Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(name=r.name, url=r.url, enabled=r.enabled, created_at=r.created_at)
                for r in conn.execute(sa.select(webhook_endpoints).order_by(
                    webhook_endpoints.c.id))]


def deliveries(engine: sa.Engine, state: str | None = None, limit: int = 100
               ) -> list[dict[str, Any]]:
    if state is not None and state not in STATES:
        raise HubInputError(f"state {state!r}: one of {', '.join(STATES)}")
    d, e, p = webhook_deliveries, webhook_events, webhook_endpoints
    q = (sa.select(d.c.event_id, d.c.state, d.c.attempts, d.c.last_status_code, d.c.last_error,
                   d.c.last_attempt_at, d.c.delivered_at, d.c.next_attempt_at, e.c.session_id,
                   e.c.webhook_type, e.c.status, e.c.created_at, p.c.name.label("endpoint"))
         .join(e, e.c.event_id == d.c.event_id).join(p, p.c.id == d.c.endpoint_id)
         .order_by(e.c.created_at.desc()).limit(limit))
    if state is not None:
        q = q.where(d.c.state == state)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def resend(engine: sa.Engine, event_id: str | None = None, *, endpoint: str | None = None,
           all_failed: bool = False) -> int:
    """Queue deliveries again (same event_id, same envelope): one event, or every failed one.
    Returns how many deliveries were queued."""
    if (event_id is None) == (not all_failed):
        raise HubInputError("give an EVENT_ID or --all-failed")
    now = time.time()
    d = webhook_deliveries
    cond = [d.c.event_id == event_id] if event_id is not None else [d.c.state == "failed"]
    with engine.begin() as conn:
        if endpoint is not None:
            ep = conn.execute(sa.select(webhook_endpoints.c.id).where(
                webhook_endpoints.c.name == endpoint)).first()
            if ep is None:
                raise HubInputError(f"no webhook endpoint {endpoint!r}")
            cond.append(d.c.endpoint_id == ep.id)
        res = conn.execute(d.update().where(*cond).values(
            state="pending", next_attempt_at=now, give_up_at=now + RETRY_WINDOW_S))
        if event_id is not None and res.rowcount == 0:
            raise HubInputError(f"no delivery of event {event_id}")
        return int(res.rowcount)
