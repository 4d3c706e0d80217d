"""Verdict log, outbox and session attempts on storage's encrypted database.

`append` allocates the next sequence number, lets the caller sign the verdict with it, and writes
the signed bytes to the verdict log and the outbox, all inside one IMMEDIATE transaction: either
the verdict exists on disk with a number no other verdict ever had, or nothing happened (a crash
before COMMIT rolls the number back together with the verdict, which nobody has seen).

Tables (storage/migrations): meta (the counter under SEQUENCE_KEY), sessions, verdicts, outbox.
Times in `sessions.created_at` use storage's format, so that ISO strings compare as times.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from storage.database import Database
from sync.verdict import SignedVerdict, iso_utc

log = logging.getLogger(__name__)

SEQUENCE_KEY = "verdict_sequence"


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

    def outbox(self, limit: int = 100) -> list[OutboxItem]:
        """Unsent items, oldest first."""
        with self._db.read("reading the outbox") as conn:
            rows = conn.execute(
                "SELECT o.id, o.verdict_id, v.sequence, o.topic, o.idempotency_key, o.payload, "
                "o.attempts, o.created_at FROM outbox o JOIN verdicts v ON v.id = o.verdict_id "
                "WHERE o.sent_at IS NULL ORDER BY o.id LIMIT ?", (limit,)).fetchall()
        return [OutboxItem(int(r[0]), int(r[1]), int(r[2]), str(r[3]), str(r[4]), bytes(r[5]),
                           int(r[6]), str(r[7])) for r in rows]

    def outbox_sequences(self) -> list[int]:
        """Sequence numbers of the unsent verdicts, oldest first."""
        return [i.sequence for i in self.outbox(limit=1_000_000)]
