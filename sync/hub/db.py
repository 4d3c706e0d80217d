"""The hub's database: SQLite (default, one file) or PostgreSQL, by SQLAlchemy URL."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from sync.hub.console.tables import console_metadata
from sync.hub.fleet_tables import fleet_metadata
from sync.hub.schema import metadata
from sync.hub.webhooks.tables import ensure_indexes, service_metadata

log = logging.getLogger(__name__)


class HubDatabaseError(RuntimeError):
    """The hub database cannot be used; str() is one line."""


def default_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'hub.db'}"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def open_engine(url: str, create: bool = True) -> sa.Engine:
    """Connect and create the tables (idempotent). SQLite runs in WAL with full fsync at
    commit: an ack goes out only after its verdict is durable. create=False (commands that
    only read): a database without the hub's tables is an error, and nothing is created."""
    try:
        engine = sa.create_engine(url, pool_pre_ping=True)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise HubDatabaseError(f"hub database URL {url!r}: {exc}") from None
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        # BEGIN IMMEDIATE: a worker takes the write lock up front (waiting up to busy_timeout)
        # instead of failing on a read-to-write upgrade when another worker wrote meanwhile
        sa.event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    elif engine.dialect.name != "postgresql":
        raise HubDatabaseError(f"hub database {engine.dialect.name}: only sqlite and "
                               "postgresql are supported")
    if not create:
        path = engine.url.database
        if engine.dialect.name == "sqlite" and (not path or not Path(path).is_file()):
            raise HubDatabaseError(f"no hub database at {url} (nothing was created)")
        try:
            with engine.connect() as conn:
                found = sa.inspect(conn).has_table("verdicts")
        except sa.exc.OperationalError as exc:
            raise HubDatabaseError(f"cannot open the hub database: {exc.orig}") from None
        if not found:
            raise HubDatabaseError(f"{url} holds no hub tables (nothing was created)")
        return engine
    for attempt in (1, 2):
        try:
            metadata.create_all(engine)
            fleet_metadata.create_all(engine)  # read by the API's decisions (fleet reviews)
            service_metadata.create_all(engine)  # sessions, API keys, webhooks (integrators)
            ensure_indexes(engine)
            console_metadata.create_all(engine)  # operators, audit, fleet operations
            break
        except (sa.exc.OperationalError, sa.exc.IntegrityError, sa.exc.ProgrammingError) as exc:
            # two processes creating the tables at once: the loser sees "already exists"
            # (SQLite) or a unique violation (PostgreSQL); the second pass finds them made
            if attempt == 2 or not _created_meanwhile(exc):
                raise HubDatabaseError(f"cannot open the hub database: {exc.orig}") from None
            log.info("hub tables created by another process meanwhile")
    return engine


def _created_meanwhile(exc: sa.exc.DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return "already exists" in text or "duplicate key" in text or "unique" in text


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # the driver must not BEGIN on its own (see "begin")
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def insert(engine: sa.Engine, table: sa.Table) -> Any:
    """INSERT with the dialect's ON CONFLICT support (both dialects name it the same)."""
    return insert_for(engine.dialect.name, table)


def insert_for(dialect: str, table: sa.Table) -> Any:
    """insert() by dialect name (for statements built once and kept)."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
