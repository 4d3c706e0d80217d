"""The signed verdict: Didit's webhook body plus device id, sequence number and challenge binding.

The signature is Ed25519 over the RFC 8785 canonical JSON of everything except `signature`. A
verdict file is the canonical JSON of the whole signed document, so `verify_verdict_bytes` fails
on any change to any byte: either the bytes stop being canonical or the signature breaks.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import Field, ValidationError

from sync.canonical import CanonicalError, canonical_bytes, parse_canonical
from sync.device_key import (
    DeviceKey,
    DeviceKeyError,
    b64url,
    b64url_decode,
    key_id,
    verify_signature,
)
from sync.reports import AgeReport, FaceSearchReport, LivenessReport, WireModel
from sync.strict_json import MAX_SAFE_INTEGER
from sync.vocabulary import CaptureKind, LivenessMethod, SessionStatus, WarningCode

SCHEMA = "poh.verdict.v1"
_HEX64 = r"^[0-9a-f]{64}$"

# One namespace for idempotency keys: the same device and session always give the same key, so a
# retried publish of one verdict is recognisably the same event at the hub.
_IDEMPOTENCY_NS = uuid.UUID("5b8f3c52-8a0e-4e55-9d43-2f7a3d0c6e11")


class VerdictError(ValueError):
    """A verdict does not verify or does not parse; str() is one line."""


class ChallengeBinding(WireModel):
    """The session's CSPRNG nonce and a digest of what the person's capture answered."""

    method: LivenessMethod
    nonce: str = Field(pattern=r"^[0-9a-f]{32,128}$")
    response_digest: str | None = Field(default=None, pattern=_HEX64)


class CaptureSource(WireModel):
    """What the face was captured from, signed with the verdict: a verdict made from a video
    file or a simulation can never pass for a capture at the booth."""

    kind: CaptureKind
    device_id: str | None = Field(default=None, max_length=100)  # camera: the booth's id
    detail: str = Field(default="", max_length=200)  # e.g. "camera 0", "video live.avi"

    @property
    def proves_presence(self) -> bool:
        return self.kind is CaptureKind.CAMERA


class CredentialUse(WireModel):
    """A reusable credential that stood in for a new check."""

    jti: str
    issuer: str
    key_id: str
    method: LivenessMethod
    issued_at: int = Field(ge=0, le=MAX_SAFE_INTEGER)
    expires_at: int = Field(ge=0, le=MAX_SAFE_INTEGER)


class VerdictBody(WireModel):
    schema_: Literal["poh.verdict.v1"] = Field(default="poh.verdict.v1", alias="schema")
    session_id: str = Field(min_length=1, max_length=100)
    vendor_data: str = Field(max_length=500)
    status: SessionStatus
    workflow_id: str
    workflow_version: int = Field(ge=1, le=MAX_SAFE_INTEGER)
    liveness: LivenessReport
    face: FaceSearchReport | None  # Didit names the face-search block "face"
    age: AgeReport | None
    warnings: tuple[WarningCode, ...]
    reason: str | None
    created_at: str  # ISO 8601 UTC, milliseconds
    decided_at: str
    device_id: str
    sequence: int = Field(ge=1, le=MAX_SAFE_INTEGER)
    idempotency_key: str
    challenge: ChallengeBinding
    capture_source: CaptureSource
    credential: CredentialUse | None = None

    model_config = WireModel.model_config | {"populate_by_name": True}

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class Signature(WireModel):
    alg: Literal["Ed25519"] = "Ed25519"
    key_id: str
    value: str  # base64url, no padding


class SignedVerdict(VerdictBody):
    signature: Signature

    @property
    def body(self) -> VerdictBody:
        data = self.model_dump(by_alias=True, exclude={"signature"})
        return VerdictBody.model_validate(data)

    def to_bytes(self) -> bytes:
        """The canonical bytes of the signed document: what is stored, sent and verified."""
        return canonical_bytes(self.wire())


def iso_utc(epoch_seconds: float) -> str:
    dt = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def idempotency_key(device_id: str, session_id: str) -> str:
    return str(uuid.uuid5(_IDEMPOTENCY_NS, f"{device_id}/{session_id}"))


def response_digest(nonce: bytes, parts: list[bytes]) -> str:
    """SHA-256 binding the nonce to the evidence (e.g. per-frame digests), in order."""
    h = hashlib.sha256(b"poh-challenge-response-v1")
    h.update(len(nonce).to_bytes(2, "big") + nonce)
    for p in parts:
        h.update(len(p).to_bytes(4, "big") + p)
    return h.hexdigest()


def sign_verdict(body: VerdictBody, key: DeviceKey) -> SignedVerdict:
    if body.device_id != key.device_id:
        raise VerdictError(f"verdict device {body.device_id} is not this key's {key.device_id}")
    wire = body.wire()
    sig = key.sign(canonical_bytes(wire))
    return SignedVerdict.model_validate(
        {**wire, "signature": {"alg": "Ed25519", "key_id": key.key_id, "value": b64url(sig)}})


def verify_verdict_bytes(raw: bytes, public: Ed25519PublicKey) -> SignedVerdict:
    """Parse and verify a stored or received verdict; any altered byte raises VerdictError."""
    try:
        doc = parse_canonical(raw)
    except CanonicalError as exc:
        raise VerdictError(f"verdict bytes: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("signature"), dict):
        raise VerdictError("not a signed verdict (no signature object)")
    try:
        signed = SignedVerdict.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(x) for x in first["loc"])
        raise VerdictError(f"not a valid verdict: {where}: {first['msg']}") from exc
    if signed.signature.key_id != key_id(public):
        raise VerdictError(f"signed by key {signed.signature.key_id}, not by the key given "
                           f"({key_id(public)})")
    try:
        sig = b64url_decode(signed.signature.value)
    except DeviceKeyError as exc:
        raise VerdictError(f"signature value: {exc}") from exc
    if not verify_signature(public, sig, _unsigned_bytes(raw, doc)):
        raise VerdictError("signature does not match the verdict's content")
    return signed


def _unsigned_bytes(raw: bytes, doc: dict[str, Any]) -> bytes:
    """The canonical bytes of the document without its signature. `raw` is known canonical,
    so they are `raw` less the one `,"signature":{...}` member: sorted keys put it after
    "age", and an unescaped quote cannot occur inside a JSON string, so the member's text
    occurs nowhere else. This spares the hub a second canonical encoding of every verdict
    (a unit test holds the two equal); anything unexpected takes the long way."""
    body = raw[:-1] if raw.endswith(b"\n") else raw
    member = b',"signature":' + canonical_bytes(doc["signature"])
    if body.count(member) == 1:
        return body.replace(member, b"", 1)
    return canonical_bytes({k: v for k, v in doc.items() if k != "signature"})
