"""A booth's fleet state in its encrypted database: which fleet, the fleet template key, the
template cursor, the fleet entries it holds and the erasures the hub has still to confirm.

The fleet template key (AES-256-GCM, for templates on the wire) sits in the meta table wrapped
once more under a key derived from the database key, like the rotation matrix. Functions take a
connection and leave the transaction to the caller.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.database import Connection
from storage.errors import BoothStateError, DatabaseCorruptError
from storage.keys import derive_key

META_FLEET = "fleet_id"
META_TEMPLATE_KEY = "fleet_template_key"
META_CURSOR = "fleet_template_cursor"
META_REGISTRATION = "fleet_registration_pending"
_AAD = b"poh-fleet-template-key|v1"


class FleetKeyError(BoothStateError):
    """The booth's template key is its fleet's and cannot be changed alone (exit 2)."""


def _put(conn: Connection, key: str, value: bytes | str) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
        "value = excluded.value, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        (key, value))


def _get(conn: Connection, key: str) -> bytes | str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def fleet_of(conn: Connection) -> str | None:
    """The fleet this booth joined, or None."""
    value = _get(conn, META_FLEET)
    return None if value is None else str(value)


def save_membership(conn: Connection, db_key: bytes, fleet_id: str, template_key: bytes
                    ) -> None:
    nonce = os.urandom(12)
    wrapped = nonce + AESGCM(derive_key(db_key, "fleet-template-key")).encrypt(
        nonce, template_key, _AAD + fleet_id.encode())
    _put(conn, META_FLEET, fleet_id)
    _put(conn, META_TEMPLATE_KEY, wrapped)


def template_key(conn: Connection, db_key: bytes) -> bytes:
    fleet, blob = fleet_of(conn), _get(conn, META_TEMPLATE_KEY)
    if fleet is None or not isinstance(blob, bytes):
        raise DatabaseCorruptError("this booth has not joined a fleet (no fleet template key)")
    try:
        return AESGCM(derive_key(db_key, "fleet-template-key")).decrypt(
            blob[:12], blob[12:], _AAD + fleet.encode())
    except InvalidTag:
        raise DatabaseCorruptError("the fleet template key fails authentication") from None


def cursor(conn: Connection) -> int:
    value = _get(conn, META_CURSOR)
    return int(value) if value is not None else 0


def set_cursor(conn: Connection, seq: int) -> None:
    _put(conn, META_CURSOR, str(seq))


def queue_registration(conn: Connection, payload: bytes) -> None:
    """The register message to publish before anything else (until the broker took it)."""
    _put(conn, META_REGISTRATION, payload)


def pending_registration(conn: Connection) -> bytes | None:
    value = _get(conn, META_REGISTRATION)
    return bytes(value) if isinstance(value, bytes) else None


def registration_sent(conn: Connection, payload: bytes) -> None:
    """Forget the pending registration if it is still `payload` (a newer join keeps its own)."""
    conn.execute("DELETE FROM meta WHERE key = ? AND value = ?", (META_REGISTRATION, payload))


# --- entries --------------------------------------------------------------------------------

@dataclass(frozen=True)
class LocalTemplate:
    """A local enrolled template the hub has not announced yet (to publish)."""

    template_id: int
    vendor_data: str
    session_id: str | None
    created_at: str
    template: bytes  # protected (rotated) float32 little-endian, as stored


def unpublished(conn: Connection, limit: int) -> list[LocalTemplate]:
    rows = conn.execute(
        "SELECT t.id, t.vendor_data, t.session_id, t.created_at, t.template FROM templates t "
        "WHERE t.kind = 'enrolled' AND NOT EXISTS (SELECT 1 FROM fleet_entries e "
        "WHERE e.template_id = t.id) ORDER BY t.id LIMIT ?", (limit,)).fetchall()
    return [LocalTemplate(int(r[0]), str(r[1]), r[2], str(r[3]), bytes(r[4])) for r in rows]


def has_entry(conn: Connection, entry_id: str) -> bool:
    return conn.execute("SELECT 1 FROM fleet_entries WHERE entry_id = ?",
                        (entry_id,)).fetchone() is not None


def add_entry(conn: Connection, entry_id: str, template_id: int | None, origin_device: str,
              origin_session: str | None, seq: int) -> None:
    conn.execute("INSERT OR IGNORE INTO fleet_entries (entry_id, template_id, origin_device, "
                 "origin_session, seq) VALUES (?, ?, ?, ?, ?)",
                 (entry_id, template_id, origin_device, origin_session, seq))


def drop_entries(conn: Connection, entry_ids: Sequence[str]) -> None:
    conn.executemany("DELETE FROM fleet_entries WHERE entry_id = ?",
                     [(e,) for e in entry_ids])


def template_exists(conn: Connection, template_id: int) -> bool:
    return conn.execute("SELECT 1 FROM templates WHERE id = ?",
                        (template_id,)).fetchone() is not None


def local_vendor_data(conn: Connection, entry_ids: Sequence[str]) -> set[str]:
    """People of this booth's copies of the given entries (to erase them with their sessions)."""
    if not entry_ids:
        return set()
    marks = ",".join("?" * len(entry_ids))
    rows = conn.execute(
        f"SELECT DISTINCT t.vendor_data FROM fleet_entries e JOIN templates t "
        f"ON t.id = e.template_id WHERE e.entry_id IN ({marks})", list(entry_ids)).fetchall()
    return {str(r[0]) for r in rows if r[0] is not None}


# --- erasures -------------------------------------------------------------------------------

def request_erasure(conn: Connection, vendor_data: str) -> None:
    """Inside the erasure's own transaction: remember to tell the hub (fleet booths only)."""
    if fleet_of(conn) is not None:
        conn.execute("INSERT OR IGNORE INTO fleet_erasures (vendor_data) VALUES (?)",
                     (vendor_data,))


def pending_erasures(conn: Connection) -> list[str]:
    return [str(r[0]) for r in conn.execute(
        "SELECT vendor_data FROM fleet_erasures ORDER BY requested_at, vendor_data")]


def erasure_done(conn: Connection, vendor_data: str) -> None:
    conn.execute("DELETE FROM fleet_erasures WHERE vendor_data = ?", (vendor_data,))
