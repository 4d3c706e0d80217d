"""The hub's tables for integrators (SQLAlchemy Core, SQLite and PostgreSQL): each session's
current status, the status changes made at the hub, API keys, webhook endpoints, and the
webhook queue (events and one delivery row per endpoint). Created with the hub's own tables
by sync.hub.db.open_engine."""

from __future__ import annotations

import sqlalchemy as sa

from sync.hub.fleet_tables import fleet_reviews

service_metadata = sa.MetaData()
BIG = sa.BigInteger().with_variant(sa.Integer, "sqlite")

# One row per session whose verdict the hub stored. session_number is Didit's running number;
# status is the current one (the booth's, or the hub's since: fleet duplicate, a reviewer).
hub_sessions = sa.Table(
    "hub_sessions", service_metadata,
    sa.Column("session_number", BIG, primary_key=True, autoincrement=True),
    sa.Column("session_id", sa.String(100), nullable=False, unique=True),
    sa.Column("fleet_id", sa.String(64), nullable=False),
    sa.Column("device_id", sa.String(64), nullable=False),
    sa.Column("verdict_id", BIG, nullable=False),
    sa.Column("vendor_data", sa.String(500)),
    sa.Column("workflow_id", sa.String(100), nullable=False),
    sa.Column("workflow_version", sa.BigInteger, nullable=False),
    sa.Column("booth_status", sa.String(32), nullable=False),
    sa.Column("status", sa.String(32), nullable=False, index=True),
    sa.Column("created_at", sa.String(32), nullable=False, index=True),  # the verdict's
    sa.Column("updated_at", sa.String(32), nullable=False),
)

# Status changes made at the hub (not the booth's own): a fleet duplicate, a reviewer.
status_changes = sa.Table(
    "status_changes", service_metadata,
    sa.Column("id", BIG, primary_key=True, autoincrement=True),
    sa.Column("session_id", sa.String(100), nullable=False, index=True),
    sa.Column("from_status", sa.String(32), nullable=False),
    sa.Column("to_status", sa.String(32), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),  # fleet | reviewer
    sa.Column("actor", sa.String(100)),
    sa.Column("reason", sa.String(1000)),
    sa.Column("at", sa.String(32), nullable=False),
)

# API keys: one per integrator, only a SHA-256 of the secret part is kept.
api_keys = sa.Table(
    "api_keys", service_metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("secret_sha256", sa.String(64), nullable=False),
    sa.Column("scopes", sa.String(200), nullable=False),  # space separated
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("revoked_at", sa.String(32)),
    sa.Column("last_used_at", sa.String(32)),
)

# Where webhooks go; the secret signs them (an HMAC key, so it is kept, as Didit keeps it).
webhook_endpoints = sa.Table(
    "webhook_endpoints", service_metadata,
    sa.Column("id", BIG, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("secret", sa.String(128), nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", sa.String(32), nullable=False),
)

# One event per status change (or data change); its envelope without the per-attempt
# timestamp, fixed at the change: every retry carries the same event_id and decision.
webhook_events = sa.Table(
    "webhook_events", service_metadata,
    sa.Column("event_id", sa.String(36), primary_key=True),
    sa.Column("session_id", sa.String(100), nullable=False, index=True),
    sa.Column("webhook_type", sa.String(32), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("envelope", sa.Text, nullable=False),  # JSON, "timestamp" added per attempt
    sa.Column("created_at", sa.String(32), nullable=False),
)

# The queue: one row per (event, endpoint) until delivered or given up.
webhook_deliveries = sa.Table(
    "webhook_deliveries", service_metadata,
    sa.Column("event_id", sa.String(36), primary_key=True),
    sa.Column("endpoint_id", BIG, primary_key=True, autoincrement=False),
    sa.Column("state", sa.String(12), nullable=False, index=True),  # pending|delivered|failed
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", sa.Float, nullable=False, index=True),  # epoch seconds
    sa.Column("give_up_at", sa.Float, nullable=False),
    sa.Column("last_attempt_at", sa.String(32)),
    sa.Column("last_status_code", sa.Integer),
    sa.Column("last_error", sa.String(300)),
    sa.Column("delivered_at", sa.String(32)),
)

# Every stored verdict asks whether the fleet index put its session In Review first: looked up
# by session id, which the fleet's own table does not index. Made by ensure_indexes (also on a
# hub database made before this index existed).
fleet_reviews_by_session = sa.Index("fleet_reviews_session", fleet_reviews.c.session_id)


def ensure_indexes(engine: sa.Engine) -> None:
    fleet_reviews_by_session.create(engine, checkfirst=True)
