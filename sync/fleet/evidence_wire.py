"""Evidence frames on the wire: a booth's few review frames of a session In Review, and the
hub's signed acknowledgement (both sealed with sync.fleet.envelope, bound to their topic).

    booth -> hub, poh/v1/{fleet}/{device}/evidence (QoS 1):
        {"type": "evidence", "session_id": id, "frames": [JPEG, base64, ...]}
    hub -> booth, poh/v1/{fleet}/{device}/cmd/evidence (QoS 1, signed by the hub):
        {"type": "evidence_ack", "session_id": id, "digest": hex, "result": r, "reason": text}

`result` is stored, duplicate (kept already) or refused (never to be kept: the reason says
why); each is final, so the booth stops sending. `digest` names the frames acknowledged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sync.fleet.envelope import EnvelopeError, open_message, seal

MAX_FRAMES = 12
# how long the hub keeps review frames (sync.hub.evidence); the booth's consent screen says it
HUB_RETENTION_DAYS = 30.0
MAX_FRAME_BYTES = 256 * 1024  # a 320-pixel JPEG is some 10-30 kB
JPEG_MAGIC = b"\xff\xd8\xff"
RESULTS = ("stored", "duplicate", "refused")
_SESSION_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def evidence_topic(fleet: str, device: str) -> str:
    return f"poh/v1/{fleet}/{device}/evidence"


def evidence_ack_topic(fleet: str, device: str) -> str:
    return f"poh/v1/{fleet}/{device}/cmd/evidence"


def hub_evidence_filter(fleet: str) -> str:
    return f"poh/v1/{fleet}/+/evidence"


def frames_digest(frames: list[bytes]) -> str:
    h = hashlib.sha256()
    for f in frames:
        h.update(len(f).to_bytes(8, "big"))
        h.update(f)
    return h.hexdigest()


@dataclass(frozen=True)
class EvidenceFrames:
    session_id: str
    frames: tuple[bytes, ...]

    @property
    def digest(self) -> str:
        return frames_digest(list(self.frames))


@dataclass(frozen=True)
class EvidenceAck:
    session_id: str
    digest: str
    result: str
    reason: str | None = None


def _session(value: object) -> str:
    if not isinstance(value, str) or not _SESSION_ID.match(value):
        raise EnvelopeError("evidence names no valid session id")
    return value


def seal_frames(key: bytes, topic: str, session_id: str, frames: list[bytes]) -> bytes:
    if not 1 <= len(frames) <= MAX_FRAMES:
        raise ValueError(f"{len(frames)} evidence frames: 1 to {MAX_FRAMES}")
    return seal(key, topic, {"type": "evidence", "session_id": _session(session_id),
                             "frames": [base64.b64encode(f).decode("ascii") for f in frames]})


def open_frames(key: bytes, topic: str, payload: bytes) -> EvidenceFrames:
    """The frames, or EnvelopeError (does not open, or not JPEG frames within the limits)."""
    msg = open_message(key, topic, payload)
    if msg["type"] != "evidence":
        raise EnvelopeError(f"not an evidence message ({msg['type']!r})")
    items = msg.get("frames")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_FRAMES:
        raise EnvelopeError(f"evidence holds 1 to {MAX_FRAMES} frames")
    frames = []
    for item in items:
        if not isinstance(item, str):
            raise EnvelopeError("an evidence frame is not base64 text")
        try:
            raw = base64.b64decode(item, validate=True)
        except (binascii.Error, ValueError):
            raise EnvelopeError("an evidence frame is not base64") from None
        if len(raw) > MAX_FRAME_BYTES or not raw.startswith(JPEG_MAGIC):
            raise EnvelopeError("an evidence frame is not a JPEG within the size limit")
        frames.append(raw)
    return EvidenceFrames(_session(msg.get("session_id")), tuple(frames))


def seal_ack(key: bytes, topic: str, ack: EvidenceAck, signer: Ed25519PrivateKey) -> bytes:
    body: dict[str, Any] = {"type": "evidence_ack", "session_id": ack.session_id,
                            "digest": ack.digest, "result": ack.result, "reason": ack.reason}
    return seal(key, topic, body, signer)


def open_ack(key: bytes, topic: str, payload: bytes, hub: Ed25519PublicKey) -> EvidenceAck:
    """The hub's acknowledgement, or EnvelopeError (unsigned, another topic, malformed)."""
    msg = open_message(key, topic, payload, signer=hub)
    result, digest, reason = msg.get("result"), msg.get("digest"), msg.get("reason")
    if msg["type"] != "evidence_ack" or result not in RESULTS or not isinstance(digest, str):
        raise EnvelopeError("not an evidence acknowledgement")
    return EvidenceAck(_session(msg.get("session_id")), digest, str(result),
                       reason if isinstance(reason, str) else None)
