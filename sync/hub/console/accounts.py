"""Operator accounts: roles, password checks, and the lock-out after repeated wrong passwords.

Roles: a reviewer works the In Review queue and sees the fleet; an admin also revokes devices,
publishes workflows, erases people fleet-wide and re-sends webhooks. Five wrong passwords in a
row lock the account for fifteen minutes (the count resets on a good login); a locked account
refuses even the right password until then, and a wrong name costs as much time as a wrong
password, so the answer does not tell which names exist.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from sync.hub.console.passwords import DUMMY_HASH, hash_password, verify_password
from sync.hub.console.tables import operators
from sync.hub.db import now_iso

MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")


class Role(StrEnum):
    REVIEWER = "reviewer"
    ADMIN = "admin"


class AccountError(ValueError):
    """An account change that cannot be made; str() is one line."""


@dataclass(frozen=True)
class Operator:
    name: str
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


@dataclass(frozen=True)
class LoginResult:
    operator: Operator | None
    locked_for: float = 0.0  # seconds left of a lock-out (0: not locked)


def parse_role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        raise AccountError(f"role {text!r}: reviewer or admin") from None


def add_operator(engine: sa.Engine, name: str, role: Role, password: str) -> None:
    if not _NAME.match(name):
        raise AccountError(f"operator name {name!r}: 1-100 letters, digits, '._@-'")
    hashed = hash_password(password)
    with engine.begin() as conn:
        if conn.execute(sa.select(operators.c.name).where(operators.c.name == name)
                        ).first() is not None:
            raise AccountError(f"an operator named {name!r} exists already")
        conn.execute(operators.insert().values(name=name, role=role.value, password=hashed,
                                               created_at=now_iso(), failed_logins=0))


def set_password(engine: sa.Engine, name: str, password: str) -> None:
    hashed = hash_password(password)
    with engine.begin() as conn:
        done = conn.execute(operators.update().where(operators.c.name == name).values(
            password=hashed, failed_logins=0, locked_until=None)).rowcount
    if not done:
        raise AccountError(f"no operator named {name!r}")


def disable_operator(engine: sa.Engine, name: str) -> None:
    from sync.hub.console.web_sessions import end_all_sessions

    with engine.begin() as conn:
        done = conn.execute(operators.update().where(
            operators.c.name == name, operators.c.disabled_at.is_(None)).values(
            disabled_at=now_iso())).rowcount
    if not done:
        raise AccountError(f"no enabled operator named {name!r}")
    end_all_sessions(engine, name)


def list_operators(engine: sa.Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(name=r.name, role=r.role, created_at=r.created_at,
                     disabled_at=r.disabled_at, failed_logins=r.failed_logins,
                     locked=bool(r.locked_until and r.locked_until > time.time()))
                for r in conn.execute(sa.select(operators).order_by(operators.c.name))]


def operator(engine: sa.Engine, name: str) -> Operator | None:
    """The enabled operator of that name."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(operators.c.name, operators.c.role).where(
            operators.c.name == name, operators.c.disabled_at.is_(None))).first()
    return Operator(row.name, Role(row.role)) if row is not None else None


def authenticate(engine: sa.Engine, name: str, password: str) -> LoginResult:
    """The operator for a right name and password of an enabled, unlocked account."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(operators).where(operators.c.name == name)).first()
    if row is None or row.disabled_at is not None:
        verify_password(password, DUMMY_HASH)  # the same cost as a real check
        return LoginResult(None)
    now = time.time()
    if row.locked_until is not None and row.locked_until > now:
        return LoginResult(None, row.locked_until - now)
    if not verify_password(password, row.password):
        with engine.begin() as conn:
            conn.execute(operators.update().where(operators.c.name == name).values(
                failed_logins=operators.c.failed_logins + 1))
            failures = conn.execute(sa.select(operators.c.failed_logins).where(
                operators.c.name == name)).scalar_one()
            if failures >= MAX_FAILURES:
                conn.execute(operators.update().where(operators.c.name == name).values(
                    failed_logins=0, locked_until=now + LOCK_SECONDS))
                return LoginResult(None, float(LOCK_SECONDS))
        return LoginResult(None)
    if row.failed_logins or row.locked_until is not None:
        with engine.begin() as conn:
            conn.execute(operators.update().where(operators.c.name == name).values(
                failed_logins=0, locked_until=None))
    return LoginResult(Operator(row.name, Role(row.role)))
