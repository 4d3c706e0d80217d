"""API keys: one per integrator, scoped, only a SHA-256 of the secret kept.

A key reads `poh_<key id>_<secret>`; the key id finds the row, the secret's SHA-256 is
compared in constant time (the secret is 256 random bits, so a fast hash is enough: nothing
to guess). `poh hub api-key add NAME --scope ...` prints a key once."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from sync.hub.api.errors import HubInputError
from sync.hub.db import now_iso
from sync.hub.webhooks.tables import api_keys

_KEY = re.compile(r"^poh_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,99}$")


class Scope(StrEnum):
    DECISIONS = "decisions:read"  # GET decisions and session lists
    STANDALONE = "standalone"  # POST /v3/passive-liveness/, /v3/face-search/
    ADMIN = "admin"  # everything, and the webhook queue


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    scopes: frozenset[Scope]

    def allows(self, scope: Scope) -> bool:
        return Scope.ADMIN in self.scopes or scope in self.scopes


def _sha(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def parse_scopes(values: list[str]) -> frozenset[Scope]:
    out: set[Scope] = set()
    for v in values:
        for part in v.replace(",", " ").split():
            try:
                out.add(Scope(part))
            except ValueError:
                raise HubInputError(f"scope {part!r}: one of "
                                    f"{', '.join(s.value for s in Scope)}") from None
    if not out:
        raise HubInputError("give at least one --scope")
    return frozenset(out)


def create_key(engine: sa.Engine, name: str, scopes: frozenset[Scope]) -> str:
    """Store a new key for `name` and return it (the only time it is seen)."""
    if not _NAME.match(name):
        raise HubInputError(f"key name {name!r}: 1-100 letters, digits, ' ._@-'")
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    with engine.begin() as conn:
        if conn.execute(sa.select(api_keys.c.key_id).where(api_keys.c.name == name)
                        ).first() is not None:
            raise HubInputError(f"an API key named {name!r} exists already")
        conn.execute(api_keys.insert().values(
            key_id=key_id, name=name, secret_sha256=_sha(secret),
            scopes=" ".join(sorted(s.value for s in scopes)), created_at=now_iso()))
    return f"poh_{key_id}_{secret}"


def check_key(engine: sa.Engine, token: str) -> ApiKey | None:
    """The key's record if `token` is a live key, else None."""
    m = _KEY.match(token)
    if m is None:
        return None
    with engine.connect() as conn:
        row = conn.execute(sa.select(api_keys).where(api_keys.c.key_id == m.group(1))).first()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.secret_sha256, _sha(m.group(2))):
        return None
    _touch(engine, row.key_id, row.last_used_at)
    return ApiKey(row.key_id, row.name, frozenset(Scope(s) for s in row.scopes.split()))


def _touch(engine: sa.Engine, key_id: str, last: str | None) -> None:
    """last_used_at, written at most once a minute (not a write per request)."""
    now = datetime.now(UTC)
    if last is not None:
        seen = datetime.fromisoformat(last.replace("Z", "+00:00"))
        if now - seen < timedelta(minutes=1):
            return
    with engine.begin() as conn:
        conn.execute(api_keys.update().where(api_keys.c.key_id == key_id).values(
            last_used_at=now_iso()))


def revoke_key(engine: sa.Engine, name: str) -> None:
    with engine.begin() as conn:
        res = conn.execute(api_keys.update().where(
            api_keys.c.name == name, api_keys.c.revoked_at.is_(None)).values(
                revoked_at=now_iso()))
        if res.rowcount != 1:
            raise HubInputError(f"no live API key named {name!r}")


def list_keys(engine: sa.Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(key_id=r.key_id, name=r.name, scopes=r.scopes.split(),
                     created_at=r.created_at, revoked_at=r.revoked_at,
                     last_used_at=r.last_used_at)
                for r in conn.execute(sa.select(api_keys).order_by(api_keys.c.created_at))]
