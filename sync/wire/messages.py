"""Payloads of the fleet tree (pydantic): the hub's signed ack, the booth's status, its
registration. Every payload is RFC 8785 canonical JSON (sync.canonical)."""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Any, Literal, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from pydantic import Field, ValidationError

from sync.canonical import CanonicalError, canonical_bytes, parse_canonical
from sync.device_key import b64url, b64url_decode, key_id, verify_signature
from sync.reports import WireModel
from sync.strict_json import MAX_SAFE_INTEGER, StrictJsonError, parse_json

_HEX64 = r"^[0-9a-f]{64}$"
MAX_MESSAGE_BYTES = 64 * 1024
M = TypeVar("M", bound=WireModel)


class WireError(ValueError):
    """A payload that does not parse or verify; str() is one line."""


class AckResult(StrEnum):
    STORED = "stored"  # committed at the hub now
    DUPLICATE = "duplicate"  # the same bytes were committed before
    REFUSED = "refused"  # recorded with the reason, never stored


class AckSignature(WireModel):
    alg: Literal["Ed25519"] = "Ed25519"
    key_id: str
    value: str


class AckBody(WireModel):
    """What the hub says about one verdict. `verdict_sha256` names the exact bytes it judged,
    so a kept ack proves which verdict the hub stored."""

    v: Literal[1] = 1
    device_id: str
    idempotency_key: str = Field(min_length=1, max_length=100)
    sequence: int = Field(ge=0, le=MAX_SAFE_INTEGER)  # 0: the verdict could not be read
    verdict_sha256: str = Field(pattern=_HEX64)
    result: AckResult
    reason: str | None = Field(default=None, max_length=300)
    hub_time: str


class HubAck(AckBody):
    signature: AckSignature

    @property
    def delivered(self) -> bool:
        """Stored now or before: the booth may let the verdict leave its outbox."""
        return self.result in (AckResult.STORED, AckResult.DUPLICATE)


def verdict_digest(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def _flat_canonical(doc: dict[str, Any]) -> bytes:
    """RFC 8785 bytes of an ack: ASCII keys, strings, safe integers, null and one nested
    object of strings. For exactly these values the standard library's sorted, compact,
    non-ASCII-preserving JSON is the canonical form (same key order, same string escapes), at
    a fraction of rfc8785's cost: each verdict costs the hub one ack and the booth one check.
    A unit test holds the two equal."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False
                      ).encode("utf-8")


def sign_ack(body: AckBody, hub_key: Ed25519PrivateKey) -> bytes:
    wire = body.model_dump(mode="json")
    sig = hub_key.sign(_flat_canonical(wire))
    signature = {"alg": "Ed25519", "key_id": key_id(hub_key.public_key()), "value": b64url(sig)}
    return _flat_canonical({**wire, "signature": signature})


def verify_ack(raw: bytes, hub_public: Ed25519PublicKey) -> HubAck:
    try:
        doc = parse_json(raw, max_bytes=MAX_MESSAGE_BYTES)
    except StrictJsonError as exc:
        raise WireError(f"ack: {exc}") from exc
    try:
        ack = HubAck.model_validate(doc)
    except ValidationError as exc:
        raise WireError(f"not a valid ack: {_first(exc)}") from exc
    # validated: only the value types _flat_canonical handles exactly are left
    if _flat_canonical(doc) != raw:
        raise WireError("ack: not in RFC 8785 canonical form")
    if ack.signature.key_id != key_id(hub_public):
        raise WireError(f"ack signed by key {ack.signature.key_id}, not the hub's")
    unsigned = {k: v for k, v in doc.items() if k != "signature"}
    try:
        sig = b64url_decode(ack.signature.value)
    except ValueError as exc:
        raise WireError(f"ack signature value: {exc}") from exc
    if not verify_signature(hub_public, sig, _flat_canonical(unsigned)):
        raise WireError("ack signature does not match its content")
    return ack


class BoothStatus(WireModel):
    v: Literal[1] = 1
    state: Literal["online", "offline"]
    backlog: int = Field(ge=0, le=MAX_SAFE_INTEGER)  # verdicts still in the outbox
    last_sync: str | None = None  # ISO 8601 UTC of the last hub ack, if any
    # what the booth runs and has applied from the hub (sync.fleet.commands), for the hub's
    # fleet view; absent (not null) on a booth that does not know them, as older booths sent
    workflow_id: str | None = Field(default=None, max_length=64)
    workflow_version: int | None = Field(default=None, ge=1, le=MAX_SAFE_INTEGER)
    workflow_error: str | None = Field(default=None, max_length=300)  # last push refused
    review_cursor: int | None = Field(default=None, ge=0, le=MAX_SAFE_INTEGER)

    def to_bytes(self) -> bytes:
        doc = self.model_dump(mode="json")
        for name in _STATUS_OPTIONAL:
            if doc[name] is None:
                del doc[name]
        return canonical_bytes(doc)


_STATUS_OPTIONAL = ("workflow_id", "workflow_version", "workflow_error", "review_cursor")


class Registration(WireModel):
    """A booth's verdict key. Trusted for its device id because the broker's ACL lets only the
    certificate with that id (CN) write the device's register topic."""

    v: Literal[1] = 1
    device_id: str = Field(min_length=1, max_length=64)
    public_jwk: dict[str, str]

    def to_bytes(self) -> bytes:
        return canonical_bytes(self.model_dump(mode="json"))


def parse_status(raw: bytes) -> BoothStatus:
    return _model(BoothStatus, raw, "status")


def parse_registration(raw: bytes) -> Registration:
    return _model(Registration, raw, "registration")


def _parse(raw: bytes, what: str) -> dict[str, Any]:
    try:
        doc = parse_canonical(raw, allow_trailing_newline=False, max_bytes=MAX_MESSAGE_BYTES)
    except CanonicalError as exc:
        raise WireError(f"{what}: {exc}") from exc
    if not isinstance(doc, dict):
        raise WireError(f"{what}: not a JSON object")
    return doc


def _model(cls: type[M], raw: bytes, what: str) -> M:
    try:
        return cls.model_validate(_parse(raw, what))
    except ValidationError as exc:
        raise WireError(f"not a valid {what}: {_first(exc)}") from exc


def _first(exc: ValidationError) -> str:
    e = exc.errors(include_url=False)[0]
    return f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}"
