"""Server-side web sessions of the console: the browser holds a random token in an HttpOnly,
SameSite=Strict cookie; the hub keeps only its SHA-256, the operator's name and the session's
CSRF token. A session ends at logout, after 30 minutes without a request, after 12 hours in
any case, and when its operator is disabled."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

import sqlalchemy as sa

from sync.hub.console.accounts import Operator, operator
from sync.hub.console.tables import web_sessions

IDLE_SECONDS = 30 * 60
MAX_SECONDS = 12 * 3600
TOUCH_EVERY = 60.0  # last_seen is written at most once a minute per session


@dataclass(frozen=True)
class WebSession:
    operator: Operator
    csrf: str


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def start_session(engine: sa.Engine, who: Operator) -> tuple[str, WebSession]:
    """A new session for `who`: (the cookie's token, the session)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = time.time()
    with engine.begin() as conn:
        # old sessions of everyone are swept here, not by a timer
        conn.execute(web_sessions.delete().where(sa.or_(
            web_sessions.c.last_seen < now - IDLE_SECONDS,
            web_sessions.c.created_at < now - MAX_SECONDS)))
        conn.execute(web_sessions.insert().values(token_sha256=_sha(token), operator=who.name,
                                                  csrf=csrf, created_at=now, last_seen=now))
    return token, WebSession(who, csrf)


def find_session(engine: sa.Engine, token: str | None) -> WebSession | None:
    if not token or len(token) > 200:
        return None
    now = time.time()
    with engine.connect() as conn:
        row = conn.execute(sa.select(web_sessions).where(
            web_sessions.c.token_sha256 == _sha(token))).first()
    if row is None or row.last_seen < now - IDLE_SECONDS or row.created_at < now - MAX_SECONDS:
        return None
    who = operator(engine, row.operator)
    if who is None:  # disabled since
        return None
    if now - row.last_seen > TOUCH_EVERY:
        with engine.begin() as conn:
            conn.execute(web_sessions.update().where(
                web_sessions.c.token_sha256 == row.token_sha256).values(last_seen=now))
    return WebSession(who, row.csrf)


def end_session(engine: sa.Engine, token: str | None) -> None:
    if token:
        with engine.begin() as conn:
            conn.execute(web_sessions.delete().where(web_sessions.c.token_sha256 == _sha(token)))


def end_all_sessions(engine: sa.Engine, name: str) -> None:
    with engine.begin() as conn:
        conn.execute(web_sessions.delete().where(web_sessions.c.operator == name))
