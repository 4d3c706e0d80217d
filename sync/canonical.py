"""RFC 8785 (JSON Canonicalization Scheme) bytes, and a strict reader of canonical documents.

What is signed is the canonical form; a signed file is stored as exactly those bytes, so that any
change to any byte of the file is caught: either the bytes stop being canonical, or the content
changed and the signature fails.
"""

from __future__ import annotations

from typing import Any

import rfc8785

from sync.strict_json import DEFAULT_MAX_BYTES, StrictJsonError, parse_json


class CanonicalError(ValueError):
    """The value cannot be canonicalised, or the bytes are not a canonical JSON document."""


def canonical_bytes(obj: Any) -> bytes:
    """The RFC 8785 encoding of a JSON value (UTF-8, sorted keys, no spaces, ES6 numbers)."""
    try:
        return rfc8785.dumps(obj)
    except rfc8785.CanonicalizationError as exc:
        raise CanonicalError(f"cannot canonicalise: {exc}") from exc


def parse_canonical(raw: bytes, *, allow_trailing_newline: bool = True,
                    max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """Decode a JSON document that must be byte-for-byte canonical (one final newline allowed)."""
    body = raw[:-1] if allow_trailing_newline and raw.endswith(b"\n") else raw
    try:
        # the project's one strict reader: no duplicate keys, no NaN, no 2**53+ integers, no
        # deep nesting (what parses here can also be canonicalised again below)
        value = parse_json(body, max_bytes=max_bytes)
    except StrictJsonError as exc:
        raise CanonicalError(str(exc)) from exc
    expected = canonical_bytes(value)
    if expected != body:
        at = next((i for i, (a, b) in enumerate(zip(expected, body, strict=False)) if a != b),
                  min(len(expected), len(body)))
        raise CanonicalError(f"not in RFC 8785 canonical form (first difference at byte {at})")
    return value
