"""Review frames at the hub: what a booth sends for a session In Review (sync.fleet.evidence_wire),
checked, sealed at rest and acknowledged; read by the review console; erased with the person
and after the retention period.

A message is heard only from a registered, non-revoked device of the fleet, on its own topic
(the broker's ACL lets only that device's certificate write it; the envelope is bound to the
topic), for a session that device signed and that is In Review at the hub. Anything else is
refused with a signed acknowledgement that tells the booth to stop (an unknown or revoked
device gets no answer at all). Frames are sealed one by one under a key derived from the hub's
Ed25519 signing key, which no booth holds (the fleet template key that opens the wire
envelope is every booth's), with fleet, device, session and frame number as associated data.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sync.fleet.envelope import EnvelopeError
from sync.fleet.evidence_wire import (
    HUB_RETENTION_DAYS,
    EvidenceAck,
    evidence_ack_topic,
    frames_digest,
    open_frames,
    seal_ack,
)
from sync.hub.console.tables import hub_evidence
from sync.hub.db import now_iso
from sync.hub.registry import lookup
from sync.hub.webhooks.tables import hub_sessions
from sync.vocabulary import SessionStatus

log = logging.getLogger(__name__)

RETENTION_DAYS = HUB_RETENTION_DAYS
Outgoing = tuple[str, bytes]


class EvidenceVault:
    """Seals and opens review frames at rest (the ingest and the console share it)."""

    def __init__(self, signing_key: Ed25519PrivateKey) -> None:
        raw = signing_key.private_bytes(serialization.Encoding.Raw,
                                        serialization.PrivateFormat.Raw,
                                        serialization.NoEncryption())
        self._aead = AESGCM(HKDF(hashes.SHA256(), 32, salt=None,
                                 info=b"poh-hub/evidence-at-rest/v1").derive(raw))

    @staticmethod
    def _aad(fleet: str, device: str, session_id: str, frame: int) -> bytes:
        return f"poh-hub-evidence|{fleet}|{device}|{session_id}|{frame}".encode()

    def seal(self, fleet: str, device: str, session_id: str, frame: int, jpeg: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, jpeg,
                                          self._aad(fleet, device, session_id, frame))

    def open(self, fleet: str, device: str, session_id: str, frame: int, sealed: bytes
             ) -> bytes:
        return self._aead.decrypt(sealed[:12], sealed[12:],
                                  self._aad(fleet, device, session_id, frame))


class HubEvidence:
    """One fleet's evidence ingest (the fleet template key opens the booths' envelopes)."""

    def __init__(self, engine: sa.Engine, fleet_id: str, template_key: bytes,
                 signer: Ed25519PrivateKey) -> None:
        self.engine = engine
        self.fleet_id = fleet_id
        self._key = template_key
        self._signer = signer
        self.vault = EvidenceVault(signer)

    def handle(self, topic: str, payload: bytes) -> list[Outgoing]:
        """A booth's frames -> the acknowledgement to publish (none for a stranger)."""
        parts = topic.split("/")
        if len(parts) != 5 or parts[:3] != ["poh", "v1", self.fleet_id] or parts[4] != (
                "evidence"):
            return []
        device = parts[3]
        with self.engine.connect() as conn:
            known = lookup(conn, self.fleet_id, device)
        if known is None or known.revoked:
            log.warning("evidence from %s/%s ignored: %s device", self.fleet_id, device,
                        "revoked" if known is not None else "unknown")
            return []
        try:
            msg = open_frames(self._key, topic, payload)
        except EnvelopeError as exc:
            log.warning("evidence from %s refused: %s", device, exc)
            return []  # nothing names the session to answer for
        frames = list(msg.frames)
        digest = frames_digest(frames)
        result, reason = self._store(device, msg.session_id, frames, digest)
        if result == "refused":
            log.warning("evidence from %s for session %s refused: %s", device, msg.session_id,
                        reason)
        else:
            log.info("evidence for session %s from %s: %s (%d frames)", msg.session_id,
                     device, result, len(frames))
        ack_topic = evidence_ack_topic(self.fleet_id, device)
        return [(ack_topic, seal_ack(self._key, ack_topic, EvidenceAck(
            msg.session_id, digest, result, reason), self._signer))]

    def _store(self, device: str, session_id: str, frames: list[bytes], digest: str
               ) -> tuple[str, str | None]:
        try:
            return self._insert(device, session_id, frames, digest)
        except sa.exc.IntegrityError:  # another hub process stored them meanwhile
            return "duplicate", None

    def _insert(self, device: str, session_id: str, frames: list[bytes], digest: str
                ) -> tuple[str, str | None]:
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(hub_sessions.c.fleet_id, hub_sessions.c.device_id,
                                         hub_sessions.c.status).where(
                hub_sessions.c.session_id == session_id)).first()
            if row is None or (row.fleet_id, row.device_id) != (self.fleet_id, device):
                return "refused", "no session of this device at the hub"
            kept = conn.execute(sa.select(hub_evidence.c.digest).where(
                hub_evidence.c.session_id == session_id).limit(1)).first()
            if kept is not None:
                return "duplicate", None
            if row.status != SessionStatus.IN_REVIEW.value:
                return "refused", f"the session is {row.status}, not In Review"
            now = now_iso()
            conn.execute(hub_evidence.insert(), [
                {"session_id": session_id, "frame": i, "fleet_id": self.fleet_id,
                 "device_id": device, "digest": digest, "received_at": now,
                 "sealed": self.vault.seal(self.fleet_id, device, session_id, i, f)}
                for i, f in enumerate(frames)])
        return "stored", None


def frame_count(engine: sa.Engine, session_id: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(hub_evidence).where(
            hub_evidence.c.session_id == session_id)).scalar() or 0)


def read_frame(engine: sa.Engine, vault: EvidenceVault, session_id: str, frame: int
               ) -> bytes | None:
    """One frame as JPEG, opened in memory (None: no such frame)."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(hub_evidence).where(
            hub_evidence.c.session_id == session_id, hub_evidence.c.frame == frame)).first()
    if row is None:
        return None
    return vault.open(row.fleet_id, row.device_id, session_id, frame, row.sealed)


def erase_person(conn: sa.Connection, fleet_id: str, vendor_data: str) -> int:
    """Inside the erasure's transaction: every frame of the person's sessions."""
    sessions = sa.select(hub_sessions.c.session_id).where(
        hub_sessions.c.fleet_id == fleet_id, hub_sessions.c.vendor_data == vendor_data)
    n = conn.execute(hub_evidence.delete().where(
        hub_evidence.c.session_id.in_(sessions))).rowcount
    if n:
        log.info("erasure: %d evidence frame(s) deleted", n)
    return int(n or 0)


def prune(engine: sa.Engine, days: float = RETENTION_DAYS, now: datetime | None = None
          ) -> int:
    """Delete frames received more than `days` ago; returns how many."""
    cutoff = ((now or datetime.now(UTC)) - timedelta(days=days)).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")
    with engine.begin() as conn:
        n = conn.execute(hub_evidence.delete().where(
            hub_evidence.c.received_at < cutoff)).rowcount
    if n:
        log.info("evidence retention deleted %d frame(s) older than %g days", n, days)
    return int(n or 0)
