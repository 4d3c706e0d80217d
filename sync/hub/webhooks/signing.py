"""Didit's webhook signatures. The body is the envelope as JSON with sorted keys and compact
separators, non-ASCII escaped (\\uXXXX), as Didit serialises it. Headers:

- X-Signature: HMAC-SHA256 (hex) of the raw body bytes;
- X-Signature-V2: HMAC-SHA256 of the body parsed and serialised again with sorted keys,
  compact separators, UTF-8 not escaped and whole floats written as integers (what
  `JSON.stringify(sortKeys(shortenFloats(JSON.parse(body))))` gives a Node integrator), so
  it survives a framework that re-encodes the JSON; for a body with non-ASCII text (José) it
  differs from X-Signature;
- X-Signature-Simple: HMAC-SHA256 of "{timestamp}:{session_id}:{status}:{webhook_type}";
- X-Timestamp: Unix seconds of this delivery attempt (also the body's `timestamp`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any


def body_bytes(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode("ascii")


def shorten_floats(value: Any) -> Any:
    """1.0 -> 1 everywhere (JavaScript has one number type; its JSON has no "1.0")."""
    if isinstance(value, dict):
        return {k: shorten_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shorten_floats(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def v2_message(parsed: Any) -> bytes:
    return json.dumps(shorten_floats(parsed), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def simple_message(timestamp: int | str, session_id: Any, status: Any,
                   webhook_type: Any) -> bytes:
    def text(v: Any) -> str:
        return "" if v is None else str(v)
    return (f"{timestamp}:{text(session_id)}:{text(status)}:{text(webhook_type)}"
            ).encode()


def signed_headers(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    doc = json.loads(body)
    return {
        "Content-Type": "application/json",
        "X-Signature": hmac_hex(secret, body),
        "X-Signature-V2": hmac_hex(secret, v2_message(doc)),
        "X-Signature-Simple": hmac_hex(secret, simple_message(
            timestamp, doc.get("session_id"), doc.get("status"), doc.get("webhook_type"))),
        "X-Timestamp": str(timestamp),
    }
