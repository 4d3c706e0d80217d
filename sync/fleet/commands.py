"""What the hub tells booths, signed with the hub's Ed25519 key (the key every booth holds from
its bundle): a reviewer's decision on one of the booth's sessions, and the fleet's workflow.

    poh/v1/{fleet}/{device}/cmd/review   QoS 1, the booth's persistent session, re-sent by the
                                         hub until the booth's status reports it applied
    poh/v1/{fleet}/config                retained: the workflow every booth of the fleet runs

Each message is RFC 8785 canonical JSON with a `signature` member ({alg, key_id, value}) over
the canonical bytes of everything else, as the hub's verdict acks are signed. The signed body
names the fleet (and, for a decision, the device), so a message replayed on another fleet's or
another booth's topic is refused. A decision holds a session id and a status, a workflow holds
thresholds: nothing biometric and no key. The broker's ACL already lets only the hub write
these topics; the signature makes that independent of the broker.
"""

from __future__ import annotations

from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import Field, ValidationError

from sync.canonical import CanonicalError, canonical_bytes, parse_canonical
from sync.device_key import b64url, b64url_decode, key_id, verify_signature
from sync.reports import WireModel
from sync.strict_json import MAX_SAFE_INTEGER

MAX_COMMAND_BYTES = 256 * 1024
REVIEW_LEAF = "cmd/review"
ReviewOutcome = Literal["Approved", "Declined", "In Review"]


class CommandError(ValueError):
    """A hub command that does not parse or verify; str() is one line."""


class CommandSignature(WireModel):
    alg: Literal["Ed25519"] = "Ed25519"
    key_id: str
    value: str


class ReviewDecision(WireModel):
    """A reviewer's decision on one session of one booth. `decision_id` grows with every
    decision at the hub: a booth applies a decision only if it is newer than the last it
    applied, and reports the highest it applied (its review cursor) in its status."""

    v: Literal[1] = 1
    type: Literal["review"] = "review"
    fleet_id: str = Field(min_length=1, max_length=64)
    device_id: str = Field(min_length=1, max_length=64)
    decision_id: int = Field(ge=1, le=MAX_SAFE_INTEGER)
    # the decision sent to this booth before this one (0: none): a booth that has not applied
    # it holds this one back, so decisions are applied in order
    previous: int = Field(ge=0, le=MAX_SAFE_INTEGER)
    session_id: str = Field(min_length=1, max_length=100)
    status: ReviewOutcome
    reviewer: str = Field(min_length=1, max_length=100)
    reason: str | None = Field(default=None, max_length=1000)
    decided_at: str = Field(max_length=40)


class WorkflowPush(WireModel):
    """The fleet's workflow. `publication` grows with every publication at the hub: a booth
    never goes back to an older one (a replayed retained message is refused)."""

    v: Literal[1] = 1
    type: Literal["workflow"] = "workflow"
    fleet_id: str = Field(min_length=1, max_length=64)
    publication: int = Field(ge=1, le=MAX_SAFE_INTEGER)
    workflow_id: str = Field(min_length=1, max_length=64)
    workflow_version: int = Field(ge=1, le=MAX_SAFE_INTEGER)
    workflow: dict[str, Any]  # the workflow document; the booth validates it before applying
    published_by: str = Field(min_length=1, max_length=100)
    published_at: str = Field(max_length=40)


def review_topic(fleet: str, device_id: str) -> str:
    return f"poh/v1/{fleet}/{device_id}/{REVIEW_LEAF}"


def config_topic(fleet: str) -> str:
    return f"poh/v1/{fleet}/config"


def sign_command(body: ReviewDecision | WorkflowPush, hub_key: Ed25519PrivateKey) -> bytes:
    doc = body.model_dump(mode="json")
    sig = hub_key.sign(canonical_bytes(doc))
    signature = {"alg": "Ed25519", "key_id": key_id(hub_key.public_key()), "value": b64url(sig)}
    return canonical_bytes({**doc, "signature": signature})


def _verified(raw: bytes, hub_public: Ed25519PublicKey) -> dict[str, Any]:
    try:
        doc = parse_canonical(raw, allow_trailing_newline=False, max_bytes=MAX_COMMAND_BYTES)
    except CanonicalError as exc:
        raise CommandError(f"hub command: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("signature"), dict):
        raise CommandError("hub command: not a signed JSON object")
    try:
        sig = CommandSignature.model_validate(doc.pop("signature"))
        value = b64url_decode(sig.value)
    except (ValidationError, ValueError) as exc:
        raise CommandError(f"hub command signature: {str(exc).splitlines()[0]}") from None
    if sig.key_id != key_id(hub_public):
        raise CommandError(f"hub command signed by key {sig.key_id}, not the hub's")
    if not verify_signature(hub_public, value, canonical_bytes(doc)):
        raise CommandError("hub command signature does not match its content")
    return doc


def verify_review(raw: bytes, hub_public: Ed25519PublicKey, fleet: str, device_id: str
                  ) -> ReviewDecision:
    doc = _verified(raw, hub_public)
    try:
        msg = ReviewDecision.model_validate(doc)
    except ValidationError as exc:
        raise CommandError(f"not a valid review decision: {_first(exc)}") from None
    if (msg.fleet_id, msg.device_id) != (fleet, device_id):
        raise CommandError(f"review decision for {msg.fleet_id}/{msg.device_id}, not "
                           f"{fleet}/{device_id}")
    return msg


def verify_workflow(raw: bytes, hub_public: Ed25519PublicKey, fleet: str) -> WorkflowPush:
    doc = _verified(raw, hub_public)
    try:
        msg = WorkflowPush.model_validate(doc)
    except ValidationError as exc:
        raise CommandError(f"not a valid workflow publication: {_first(exc)}") from None
    if msg.fleet_id != fleet:
        raise CommandError(f"workflow published for fleet {msg.fleet_id}, not {fleet}")
    return msg


def _first(exc: ValidationError) -> str:
    e = exc.errors(include_url=False)[0]
    return f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}"
