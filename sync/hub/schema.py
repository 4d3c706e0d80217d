"""The hub's tables (SQLAlchemy Core): one schema for SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# A fleet marked for testing accepts verdicts whose capture source is not the booth camera.
fleets = sa.Table(
    "fleets", metadata,
    sa.Column("fleet_id", sa.String(64), primary_key=True),
    sa.Column("testing", sa.Boolean, nullable=False, default=False),
)

devices = sa.Table(
    "devices", metadata,
    sa.Column("fleet_id", sa.String(64), primary_key=True),
    sa.Column("device_id", sa.String(64), primary_key=True),
    sa.Column("key_id", sa.String(100), nullable=False),
    sa.Column("public_jwk", sa.Text, nullable=False),
    sa.Column("registered_at", sa.String(32), nullable=False),
    sa.Column("revoked_at", sa.String(32)),
    sa.Column("revoked_reason", sa.String(300)),
)

# Stored verdicts: the exact signed bytes, once per idempotency key and per device sequence.
verdicts = sa.Table(
    "verdicts", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("fleet_id", sa.String(64), nullable=False),
    sa.Column("device_id", sa.String(64), nullable=False),
    sa.Column("sequence", sa.BigInteger, nullable=False),
    sa.Column("idempotency_key", sa.String(100), nullable=False, unique=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("capture_kind", sa.String(32), nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("received_at", sa.String(32), nullable=False),
    sa.UniqueConstraint("fleet_id", "device_id", "sequence", name="verdicts_device_sequence"),
)

# What the hub refused, once per (device, bytes, reason), with how often it came.
refusals = sa.Table(
    "refusals", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("fleet_id", sa.String(64), nullable=False),
    sa.Column("device_id", sa.String(64), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("reason", sa.String(300), nullable=False),
    sa.Column("idempotency_key", sa.String(100)),
    sa.Column("sequence", sa.BigInteger),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("first_at", sa.String(32), nullable=False),
    sa.Column("last_at", sa.String(32), nullable=False),
    sa.Column("times", sa.Integer, nullable=False, default=1),
    sa.UniqueConstraint("fleet_id", "device_id", "sha256", "reason", name="refusals_once"),
)
