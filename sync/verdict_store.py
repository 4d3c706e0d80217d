"""Verdict log, outbox and session attempts on storage's encrypted database.

`append` allocates the next sequence number, lets the caller sign the verdict with it, and writes
the signed bytes to the verdict log and the outbox, all inside one IMMEDIATE transaction: either
the verdict exists on disk with a number no other verdict ever had, or nothing happened (a crash
before COMMIT rolls the number back together with the verdict, which nobody has seen).

Tables (storage/migrations): meta (the counter under SEQUENCE_KEY), sessions, verdicts, outbox.
Times in `sessions.created_at` use storage's format, so that ISO strings compare as times.

Delivery (sync.drain): an outbox row is deleted only when the hub's signed ack for its
idempotency key says stored or duplicate and names the row's exact bytes; the ack is kept in
`verdicts.hub_ack` as the proof. A refused ack keeps the row with its reason.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from storage.database import Database
from sync.verdict import SignedVerdict, iso_utc

log = logging.getLogger(__name__)

SEQUENCE_KEY = "verdict_sequence"
LAST_SYNC_KEY = "outbox_last_sync"


class VerdictStoreError(RuntimeError):
    pass


@dataclass(frozen=True)
class OutboxItem:
    id: int
    verdict_id: int
    sequence: int
    topic: str
    idempotency_key: str
    payload: bytes
    attempts: int
    created_at: str


def verdict_topic(fleet: str, device_id: str) -> str:
    return f"poh/v1/{fleet}/{device_id}/verdict"


class VerdictStore:
    def __init__(self, db: Database, fleet: str = "default") -> None:
        self._db = db
        self._fleet = fleet

    # ---- sessions and attempts ---------------------------------------------------------------
    def record_session_start(self, session_id: str, vendor_data: str, workflow_id: str,
                             workflow_version: int, started_at: float) -> None:
        """Recorded before the check runs, so abandoned sessions count toward the limits."""
        data = json.dumps({"workflow_version": workflow_version, "started_at": started_at})
        stamp = iso_utc(started_at)
        with self._db.transaction("recording a session start") as conn:
            conn.execute(
                "INSERT INTO sessions (id, vendor_data, workflow_id, status, data, created_at, "
                "updated_at) VALUES (?, ?, ?, 'In Progress', ?, ?, ?)",
                (session_id, vendor_data, workflow_id, data, stamp, stamp))

    def count_attempts(self, vendor_data: str, since: float) -> tuple[int, int]:
        """Sessions started since `since` (epoch s): (for this person, on this device)."""
        stamp = iso_utc(since)
        with self._db.read("counting attempts") as conn:
            person = conn.execute(
                "SELECT COUNT(*) FROM sessions WHERE vendor_data = ? AND created_at >= ?",
                (vendor_data, stamp)).fetchone()[0]
            device = conn.execute(
                "SELECT COUNT(*) FROM sessions WHERE created_at >= ?", (stamp,)).fetchone()[0]
        return int(person), int(device)

    # ---- the verdict transaction -------------------------------------------------------------
    def append(self, build: Callable[[int], SignedVerdict], *, kind: str = "verdict",
               before_commit: Callable[[], None] | None = None) -> tuple[SignedVerdict, bytes]:
        """Allocate a sequence number, sign with it, write log + outbox; all or nothing."""
        if kind != "verdict":
            raise VerdictStoreError(f"unknown outbox kind {kind}")
        with self._db.transaction("storing a verdict") as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?",
                               (SEQUENCE_KEY,)).fetchone()
            # the counter, not max(sequence): the log may be pruned, numbers must not come back
            seq = int(row[0]) + 1 if row is not None else 1
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                "value = excluded.value, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
                (SEQUENCE_KEY, seq))
            verdict = build(seq)
            if verdict.sequence != seq:
                raise VerdictStoreError(f"verdict carries sequence {verdict.sequence}, "
                                        f"allocated {seq}")
            raw = verdict.to_bytes()
            cur = conn.execute(
                "INSERT INTO verdicts (session_id, sequence, idempotency_key, verdict_json, "
                "signature) VALUES (?, ?, ?, ?, ?)",
                (verdict.session_id, seq, verdict.idempotency_key, raw.decode("utf-8"),
                 verdict.signature.value))
            conn.execute(
                "INSERT INTO outbox (verdict_id, topic, payload, idempotency_key) "
                "VALUES (?, ?, ?, ?)",
                (cur.lastrowid, verdict_topic(self._fleet, verdict.device_id), raw,
                 verdict.idempotency_key))
            conn.execute(
                "UPDATE sessions SET status = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', "
                "'now') WHERE id = ?", (verdict.status.value, verdict.session_id))
            if before_commit is not None:
                before_commit()
        log.info("verdict %d for session %s stored (%s)", seq, verdict.session_id,
                 verdict.status.value)
        return verdict, raw

    # ---- reading -----------------------------------------------------------------------------
    def verdict_bytes(self, key: str | int) -> bytes | None:
        """A stored verdict, exactly as signed, by sequence number or session id."""
        sql = ("SELECT verdict_json FROM verdicts WHERE sequence = ?" if isinstance(key, int)
               else "SELECT verdict_json FROM verdicts WHERE session_id = ?")
        with self._db.read("reading a verdict") as conn:
            row = conn.execute(sql, (key,)).fetchone()
        return str(row[0]).encode("utf-8") if row else None

    def last_sequence(self) -> int:
        with self._db.read("reading the verdict sequence") as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?",
                               (SEQUENCE_KEY,)).fetchone()
        return int(row[0]) if row else 0

    def outbox(self, limit: int = 100, after_id: int = 0) -> list[OutboxItem]:
        """Unsent items with an id above `after_id`, oldest (lowest sequence) first."""
        with self._db.read("reading the outbox") as conn:
            rows = conn.execute(
                "SELECT o.id, o.verdict_id, v.sequence, o.topic, o.idempotency_key, o.payload, "
                "o.attempts, o.created_at FROM outbox o JOIN verdicts v ON v.id = o.verdict_id "
                "WHERE o.sent_at IS NULL AND o.id > ? ORDER BY o.id LIMIT ?",
                (after_id, limit)).fetchall()
        return [OutboxItem(int(r[0]), int(r[1]), int(r[2]), str(r[3]), str(r[4]), bytes(r[5]),
                           int(r[6]), str(r[7])) for r in rows]

    def outbox_sequences(self) -> list[int]:
        """Sequence numbers of the unsent verdicts, oldest first."""
        return [i.sequence for i in self.outbox(limit=1_000_000)]

    # ---- delivery to the hub -----------------------------------------------------------------
    def mark_delivered(self, acks: list[Delivery]) -> int:
        """Delete the outbox rows the hub acknowledged, keeping each ack with its verdict; one
        transaction. An ack whose digest does not match the row's bytes deletes nothing."""
        if not acks:
            return 0
        done = 0
        with self._db.transaction("recording hub acknowledgements") as conn:
            for a in acks:
                row = conn.execute("SELECT id, verdict_id, payload FROM outbox WHERE "
                                   "idempotency_key = ?", (a.idempotency_key,)).fetchone()
                if row is None:
                    continue  # acknowledged before (a duplicate ack)
                if hashlib.sha256(bytes(row[2])).hexdigest() != a.verdict_sha256:
                    log.warning("hub ack for %s names other bytes; row kept", a.idempotency_key)
                    continue
                conn.execute("UPDATE verdicts SET hub_ack = ?, delivered_at = ? WHERE id = ?",
                             (a.ack.decode("utf-8"), a.hub_time, row[1]))
                conn.execute("DELETE FROM outbox WHERE id = ?", (row[0],))
                done += 1
            if done:
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                    "value = excluded.value, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
                    (LAST_SYNC_KEY, acks[-1].hub_time))
        return done

    def mark_refused(self, idempotency_key: str, reason: str) -> None:
        """Keep the row; record why (the operator sees it) and count the attempt."""
        with self._db.transaction("recording a refused verdict") as conn:
            conn.execute(
                "UPDATE outbox SET refused_reason = ?, refused_at = strftime("
                "'%Y-%m-%dT%H:%M:%fZ', 'now'), attempts = attempts + 1 WHERE idempotency_key = ?",
                (reason[:300], idempotency_key))

    def backlog(self) -> OutboxBacklog:
        with self._db.read("reading the outbox backlog") as conn:
            n, refused = conn.execute(
                "SELECT COUNT(*), COUNT(refused_reason) FROM outbox WHERE sent_at IS NULL"
            ).fetchone()
            last = conn.execute(
                "SELECT refused_reason FROM outbox WHERE refused_reason IS NOT NULL "
                "ORDER BY refused_at DESC LIMIT 1").fetchone()
            sync = conn.execute("SELECT value FROM meta WHERE key = ?",
                                (LAST_SYNC_KEY,)).fetchone()
        return OutboxBacklog(int(n), int(refused), str(last[0]) if last else None,
                             str(sync[0]) if sync else None)

    def hub_ack(self, sequence: int) -> bytes | None:
        """The hub's signed ack kept with a delivered verdict (None: not delivered yet)."""
        with self._db.read("reading a hub ack") as conn:
            row = conn.execute("SELECT hub_ack FROM verdicts WHERE sequence = ?",
                               (sequence,)).fetchone()
        return str(row[0]).encode("utf-8") if row and row[0] is not None else None


@dataclass(frozen=True)
class Delivery:
    """A verified hub ack that lets one verdict leave the outbox."""

    idempotency_key: str
    verdict_sha256: str
    hub_time: str
    ack: bytes  # the signed ack, canonical JSON


@dataclass(frozen=True)
class OutboxBacklog:
    pending: int  # verdicts not yet acknowledged by the hub
    refused: int  # of those, refused by the hub at the last attempt
    last_refusal: str | None
    last_sync: str | None  # hub time of the latest ack
