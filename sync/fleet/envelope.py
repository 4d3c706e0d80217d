"""Fleet template messages on the wire: AES-256-GCM under the fleet template key, bound to
their topic, and (from the hub) signed with the hub's Ed25519 key.

    {"v": 1, "n": nonce (base64), "c": ciphertext (base64)[, "s": hub signature (base64)]}

The plaintext is canonical JSON. The associated data is the topic, so a message replayed on
another booth's topic does not open. Every booth holds the template key, so the broker's ACL
alone would keep one booth from forging the hub's deltas; the hub's signature (over topic,
nonce and ciphertext, verified with the key from the bundle) makes that independent of the
broker. Templates, vendor data and session ids are never on the wire or in a log in clear.
"""

from __future__ import annotations

import base64
import os
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sync.canonical import canonical_bytes
from sync.strict_json import InputError, parse_json

VERSION = 1
MAX_MESSAGE_BYTES = 8 * 1024 * 1024


class EnvelopeError(ValueError):
    """A message that does not open (wrong key, other topic, tampered, unsigned)."""


def _aad(topic: str) -> bytes:
    return b"poh-fleet-message|v1|" + topic.encode("utf-8")


def _signed(topic: str, nonce: bytes, ct: bytes) -> bytes:
    return _aad(topic) + b"|" + nonce + ct


def seal(key: bytes, topic: str, message: dict[str, Any],
         signer: Ed25519PrivateKey | None = None) -> bytes:
    nonce = os.urandom(12)
    ct = AESGCM(key).encrypt(nonce, canonical_bytes(message), _aad(topic))
    doc = {"v": VERSION, "n": base64.b64encode(nonce).decode(),
           "c": base64.b64encode(ct).decode()}
    if signer is not None:
        doc["s"] = base64.b64encode(signer.sign(_signed(topic, nonce, ct))).decode()
    return canonical_bytes(doc)


def _field(doc: dict[str, Any], name: str) -> bytes:
    value = doc.get(name)
    if not isinstance(value, str):
        raise EnvelopeError(f"fleet message has no {name!r}")
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise EnvelopeError(f"fleet message field {name!r} is not base64") from None


def open_message(key: bytes, topic: str, raw: bytes,
                 signer: Ed25519PublicKey | None = None) -> dict[str, Any]:
    """The message, or EnvelopeError. With `signer`, a message without its valid signature is
    refused before it is decrypted."""
    try:
        doc = parse_json(raw, max_bytes=MAX_MESSAGE_BYTES)
    except InputError as exc:
        raise EnvelopeError(f"fleet message is not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("v") != VERSION:
        raise EnvelopeError("fleet message has an unknown version")
    nonce, ct = _field(doc, "n"), _field(doc, "c")
    if len(nonce) != 12:
        raise EnvelopeError("fleet message nonce has the wrong size")
    if signer is not None:
        try:
            signer.verify(_field(doc, "s"), _signed(topic, nonce, ct))
        except InvalidSignature:
            raise EnvelopeError("fleet message is not signed by the hub") from None
    try:
        plain = AESGCM(key).decrypt(nonce, ct, _aad(topic))
    except InvalidTag:
        raise EnvelopeError("fleet message does not open (another key or topic, or "
                            "tampered)") from None
    try:
        message = parse_json(plain, max_bytes=MAX_MESSAGE_BYTES)
    except InputError as exc:
        raise EnvelopeError(f"fleet message content is not JSON ({exc})") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise EnvelopeError("fleet message has no type")
    return message


def template_b64(vector: bytes) -> str:
    return base64.b64encode(vector).decode("ascii")


def template_bytes(text: object, dim: int) -> bytes:
    if not isinstance(text, str):
        raise EnvelopeError("template missing")
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise EnvelopeError("template is not base64") from None
    if len(raw) != dim * 4:
        raise EnvelopeError(f"template has {len(raw)} bytes, expected {dim * 4}")
    return raw
