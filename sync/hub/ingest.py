"""Judge and store a batch of received verdicts in one transaction; acks are made after it.

Each verdict is refused (recorded with the reason, never acknowledged as stored) when its device
is unknown or revoked, its signature or bytes do not verify, it names another device than its
topic, its capture source is not the booth camera (unless the fleet is marked for testing), or
its idempotency key or its device sequence number is already stored with other content. The
same bytes again (a re-send) are acknowledged as a duplicate and stored once: the unique keys
decide, so two hub workers racing on one verdict still store it once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.hub.db import insert, now_iso
from sync.hub.registry import Device, is_testing, lookup
from sync.hub.schema import refusals, verdicts
from sync.hub.webhooks.events import on_verdict_stored
from sync.verdict import SignedVerdict, VerdictError, verify_verdict_bytes
from sync.wire.messages import AckBody, AckResult, sign_ack, verdict_digest
from sync.wire.topics import TopicError, ack_topic, parse_device_topic

log = logging.getLogger(__name__)

MAX_VERDICT_BYTES = 256 * 1024


@dataclass(frozen=True)
class Inbound:
    topic: str
    payload: bytes
    mid: int = 0


@dataclass(frozen=True)
class Outcome:
    inbound: Inbound
    result: AckResult
    reason: str | None
    ack_topic: str | None  # None: the topic names no device, nobody to answer
    ack: bytes | None


@dataclass(frozen=True)
class _Verdict:
    fleet: str
    device: str
    sha: str
    key: str
    sequence: int


Judged = tuple[_Verdict | None, AckResult, str | None]


class Ingest:
    def __init__(self, engine: sa.Engine, hub_key: Ed25519PrivateKey) -> None:
        self.engine = engine
        self.hub_key = hub_key
        # built once: SQLAlchemy then reuses the compiled statement for every verdict
        self._insert = (insert(engine, verdicts).on_conflict_do_nothing()
                        .returning(verdicts.c.id))

    def process(self, batch: list[Inbound]) -> list[Outcome]:
        """One transaction for the batch; the returned acks may be sent once this returns."""
        judged: list[tuple[Inbound, _Verdict | None, AckResult, str | None]] = []
        with self.engine.begin() as conn:
            devices: dict[tuple[str, str], Device | None] = {}
            testing: dict[str, bool] = {}
            for msg in batch:
                v, result, reason = self._judge(conn, msg, devices, testing)
                judged.append((msg, v, result, reason))
        hub_time = now_iso()
        return [self._outcome(msg, v, result, reason, hub_time)
                for msg, v, result, reason in judged]

    def _judge(self, conn: sa.Connection, msg: Inbound,
               devices: dict[tuple[str, str], Device | None], testing: dict[str, bool]
               ) -> Judged:
        try:
            where = parse_device_topic(msg.topic)
        except TopicError as exc:
            log.warning("ignored a message: %s", exc)
            return None, AckResult.REFUSED, str(exc)
        v = _Verdict(where.fleet, where.device_id, verdict_digest(msg.payload),
                     *_loose_ids(msg.payload))

        def refuse(reason: str) -> Judged:
            self._record_refusal(conn, v, msg.payload, reason)
            return v, AckResult.REFUSED, reason

        if len(msg.payload) > MAX_VERDICT_BYTES:
            return refuse(f"verdict larger than {MAX_VERDICT_BYTES} bytes")
        ident = (v.fleet, v.device)
        if ident not in devices:
            devices[ident] = lookup(conn, v.fleet, v.device)
        device = devices[ident]
        if device is None:
            return refuse("unknown device (not registered with the hub)")
        if device.revoked:
            return refuse(f"device revoked: {device.revoked_reason or 'no reason given'}")
        try:
            signed = verify_verdict_bytes(msg.payload, device.public)
        except VerdictError as exc:
            return refuse(f"bad verdict: {exc}")
        if signed.device_id != v.device:
            return refuse(f"verdict of device {signed.device_id} on {v.device}'s topic")
        if not signed.capture_source.proves_presence:
            if v.fleet not in testing:
                testing[v.fleet] = is_testing(conn, v.fleet)
            if not testing[v.fleet]:
                return refuse(f"capture source {signed.capture_source.kind.value} is not the "
                              "booth camera (the fleet is not marked for testing)")
        return self._store(conn, v, signed, msg.payload, refuse)

    def _store(self, conn: sa.Connection, v: _Verdict, signed: SignedVerdict, payload: bytes,
               refuse: Callable[[str], Judged]) -> Judged:
        done = conn.execute(self._insert, dict(
            fleet_id=v.fleet, device_id=v.device, sequence=signed.sequence,
            idempotency_key=signed.idempotency_key, sha256=v.sha, status=signed.status.value,
            capture_kind=signed.capture_source.kind.value, payload=payload,
            received_at=now_iso())).first()
        if done is not None:  # (rowcount is not reliable for ON CONFLICT on every driver)
            # the session at the hub and its webhook, in this same transaction
            on_verdict_stored(conn, v.fleet, v.device, done.id, signed)
            return v, AckResult.STORED, None
        same_key = conn.execute(sa.select(verdicts.c.sha256).where(
            verdicts.c.idempotency_key == signed.idempotency_key)).first()
        if same_key is not None and same_key.sha256 == v.sha:
            return v, AckResult.DUPLICATE, None
        reason = ("idempotency key already stored with other content" if same_key is not None
                  else f"sequence {signed.sequence} already stored with other content")
        return refuse(reason)

    def _record_refusal(self, conn: sa.Connection, v: _Verdict, payload: bytes,
                        reason: str) -> None:
        at = now_iso()
        conn.execute(insert(self.engine, refusals).values(
            fleet_id=v.fleet, device_id=v.device, sha256=v.sha, reason=reason[:300],
            idempotency_key=v.key, sequence=v.sequence,
            payload=payload[:MAX_VERDICT_BYTES], first_at=at, last_at=at, times=1,
        ).on_conflict_do_update(
            index_elements=["fleet_id", "device_id", "sha256", "reason"],
            set_={"times": refusals.c.times + 1, "last_at": at}))
        log.warning("refused a verdict from %s/%s: %s", v.fleet, v.device, reason)

    def _outcome(self, msg: Inbound, v: _Verdict | None, result: AckResult,
                 reason: str | None, hub_time: str) -> Outcome:
        if v is None:
            return Outcome(msg, result, reason, None, None)
        body = AckBody(device_id=v.device, idempotency_key=v.key, sequence=v.sequence,
                       verdict_sha256=v.sha, result=result,
                       reason=reason[:300] if reason else None, hub_time=hub_time)
        return Outcome(msg, result, reason, ack_topic(v.fleet, v.device),
                       sign_ack(body, self.hub_key))


def _loose_ids(payload: bytes) -> tuple[str, int]:
    """The idempotency key and sequence a booth will recognise, even from a verdict that does
    not verify (so that its refusal reaches the right outbox row)."""
    try:
        doc = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return "unreadable", 0
    if not isinstance(doc, dict):
        return "unreadable", 0
    key, seq = doc.get("idempotency_key"), doc.get("sequence")
    key = key[:100] if isinstance(key, str) and key else "unreadable"
    seq = seq if isinstance(seq, int) and 0 <= seq < 2**53 else 0
    return key, seq
