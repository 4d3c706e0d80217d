"""The review console's and fleet operations' tables (SQLAlchemy Core, SQLite and PostgreSQL),
created with the hub's other tables by sync.hub.db.open_engine."""

from __future__ import annotations

import sqlalchemy as sa

console_metadata = sa.MetaData()
BIG = sa.BigInteger().with_variant(sa.Integer, "sqlite")

# People who use the console. password: "scrypt$N$r$p$salt$hash" (sync.hub.console.passwords).
operators = sa.Table(
    "console_operators", console_metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),  # reviewer | admin
    sa.Column("password", sa.String(300), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("disabled_at", sa.String(32)),
    sa.Column("failed_logins", sa.Integer, nullable=False, default=0),
    sa.Column("locked_until", sa.Float),  # epoch seconds
)

# Server-side web sessions: only a SHA-256 of the cookie's token is kept.
web_sessions = sa.Table(
    "console_sessions", console_metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("operator", sa.String(100), nullable=False, index=True),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_seen", sa.Float, nullable=False),
)

# Every operator action, with who, when, what and why.
audit_log = sa.Table(
    "console_audit", console_metadata,
    sa.Column("id", BIG, primary_key=True, autoincrement=True),
    sa.Column("at", sa.String(32), nullable=False, index=True),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("target", sa.String(200)),
    sa.Column("reason", sa.String(1000)),
    sa.Column("detail", sa.String(1000)),
)

# The last retained status of each booth (sync.wire.messages.BoothStatus), as the hub read it.
device_status = sa.Table(
    "device_status", console_metadata,
    sa.Column("fleet_id", sa.String(64), primary_key=True),
    sa.Column("device_id", sa.String(64), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("backlog", sa.BigInteger, nullable=False),
    sa.Column("last_sync", sa.String(40)),
    sa.Column("workflow_id", sa.String(64)),
    sa.Column("workflow_version", sa.BigInteger),
    sa.Column("workflow_error", sa.String(300)),
    sa.Column("review_cursor", sa.BigInteger),
    sa.Column("received_at", sa.String(32), nullable=False),
)

# Workflows published to a fleet: the ops worker publishes the newest one (retained, signed).
workflow_publications = sa.Table(
    "workflow_publications", console_metadata,
    sa.Column("publication", BIG, primary_key=True, autoincrement=True),
    sa.Column("fleet_id", sa.String(64), nullable=False, index=True),
    sa.Column("workflow_id", sa.String(64), nullable=False),
    sa.Column("workflow_version", sa.BigInteger, nullable=False),
    sa.Column("document", sa.Text, nullable=False),  # canonical JSON
    sa.Column("published_by", sa.String(100), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("sent_at", sa.String(32)),
)

# Fleet-wide erasures asked for at the console or the CLI; the fleet's template worker does
# them (it alone writes the delta log). vendor_data is kept only until then.
erasure_requests = sa.Table(
    "erasure_requests", console_metadata,
    sa.Column("id", BIG, primary_key=True, autoincrement=True),
    sa.Column("fleet_id", sa.String(64), nullable=False, index=True),
    sa.Column("vendor_data", sa.String(500)),
    sa.Column("vendor_digest", sa.String(16), nullable=False),  # for the record afterwards
    sa.Column("requested_by", sa.String(100), nullable=False),
    sa.Column("reason", sa.String(1000), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("done_at", sa.String(32)),
    sa.Column("erasure_seq", BIG),  # the fleet delta; booths confirm it by their cursors
    sa.Column("outcome", sa.String(16)),  # erased | nothing
)

# Small named cursors of the ops worker (e.g. the last reviewer decision published).
hub_cursors = sa.Table(
    "hub_cursors", console_metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", BIG, nullable=False),
)

# Review frames a booth sent for a session In Review (sync.hub.evidence): each JPEG sealed with
# AES-256-GCM under a key derived from the hub's signing key, bound to fleet, device, session
# and frame number. Deleted by the person's erasure and after the retention period.
hub_evidence = sa.Table(
    "hub_evidence", console_metadata,
    sa.Column("session_id", sa.String(100), primary_key=True),
    sa.Column("frame", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("fleet_id", sa.String(64), nullable=False),
    sa.Column("device_id", sa.String(64), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),  # of all the session's frames
    sa.Column("sealed", sa.LargeBinary, nullable=False),
    sa.Column("received_at", sa.String(32), nullable=False, index=True),
)
