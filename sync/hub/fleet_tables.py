"""The hub's tables for fleet-wide uniqueness (SQLAlchemy Core, SQLite and PostgreSQL).

Nothing biometric is stored in clear: a template and its person's vendor data are sealed
(AES-256-GCM under a key derived from the fleet template key) and found by an HMAC of the
vendor data. Deltas are numbered per fleet without gaps (booths merge strictly in order).
"""

from __future__ import annotations

import sqlalchemy as sa

fleet_metadata = sa.MetaData()
BIG = sa.BigInteger().with_variant(sa.Integer, "sqlite")

# Every live template of the fleet; index_id is the seq of the delta that added it.
fleet_templates = sa.Table(
    "fleet_templates", fleet_metadata,
    sa.Column("fleet_id", sa.String(64), primary_key=True),
    sa.Column("index_id", BIG, primary_key=True, autoincrement=False),
    sa.Column("entry_id", sa.String(200), nullable=False, unique=True),
    sa.Column("origin_device", sa.String(64), nullable=False),
    sa.Column("origin_session", sa.String(100)),
    sa.Column("vendor_hash", sa.String(64), nullable=False, index=True),
    sa.Column("enrolled_at", sa.String(40), nullable=False),
    sa.Column("sealed", sa.LargeBinary, nullable=False),  # template + vendor data
)

# The delta log: op add | erase | void (an addition erased since: its content is gone).
fleet_deltas = sa.Table(
    "fleet_deltas", fleet_metadata,
    sa.Column("fleet_id", sa.String(64), primary_key=True),
    sa.Column("seq", BIG, primary_key=True, autoincrement=False),
    sa.Column("op", sa.String(8), nullable=False),
    sa.Column("entry_id", sa.String(200)),
    sa.Column("sealed", sa.LargeBinary),
    sa.Column("created_at", sa.String(32), nullable=False),
)

# Entry ids erased for good: a booth re-sending such an addition is not heard again.
fleet_erased = sa.Table(
    "fleet_erased", fleet_metadata,
    sa.Column("entry_id", sa.String(200), primary_key=True),
    sa.Column("erased_at", sa.String(32), nullable=False),
)

# One row per erasure (the seq of its delta): who asked; booths confirm by their cursor.
fleet_erasures = sa.Table(
    "fleet_erasures", fleet_metadata,
    sa.Column("fleet_id", sa.String(64), primary_key=True),
    sa.Column("seq", BIG, primary_key=True, autoincrement=False),
    sa.Column("requested_by", sa.String(64), nullable=False),  # a device id, or "hub"
    sa.Column("entries", sa.Integer, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)

# Booths that take part: the last cursor each reported (it has merged every delta up to it).
fleet_booths = sa.Table(
    "fleet_booths", fleet_metadata,
    sa.Column("fleet_id", sa.String(64), primary_key=True),
    sa.Column("device_id", sa.String(64), primary_key=True),
    sa.Column("cursor", BIG, nullable=False),
    sa.Column("last_seen", sa.String(32), nullable=False),
)

# Sessions the hub put In Review: a later enrolment of a person another session enrolled.
fleet_reviews = sa.Table(
    "fleet_reviews", fleet_metadata,
    sa.Column("fleet_id", sa.String(64), primary_key=True),
    sa.Column("entry_id", sa.String(200), primary_key=True),
    sa.Column("device_id", sa.String(64), nullable=False),
    sa.Column("session_id", sa.String(100)),
    sa.Column("matching_entry", sa.String(200), nullable=False),
    sa.Column("matching_device", sa.String(64), nullable=False),
    sa.Column("matching_session", sa.String(100)),
    sa.Column("similarity", sa.Float, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)
