"""RFC 8785 (JSON Canonicalization Scheme) bytes, and a strict reader of canonical documents.

What is signed is the canonical form; a signed file is stored as exactly those bytes, so that any
change to any byte of the file is caught: either the bytes stop being canonical, or the content
changed and the signature fails.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import rfc8785


class CanonicalError(ValueError):
    """The value cannot be canonicalised, or the bytes are not a canonical JSON document."""


def canonical_bytes(obj: Any) -> bytes:
    """The RFC 8785 encoding of a JSON value (UTF-8, sorted keys, no spaces, ES6 numbers)."""
    try:
        return rfc8785.dumps(obj)
    except rfc8785.CanonicalizationError as exc:
        raise CanonicalError(f"cannot canonicalise: {exc}") from exc


ObjectHook = Callable[[list[tuple[str, Any]]], dict[str, Any]]


def strict_object_hook(on_duplicate: Callable[[str], Exception]) -> ObjectHook:
    """A json `object_pairs_hook` refusing a key seen twice in one object (json keeps the last)."""

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise on_duplicate(key)
            out[key] = value
        return out

    return hook


_no_duplicates = strict_object_hook(lambda key: CanonicalError(f"key {key!r} appears twice"))


def _no_constants(name: str) -> Any:
    raise CanonicalError(f"{name} is not JSON")


def parse_canonical(raw: bytes, *, allow_trailing_newline: bool = True) -> Any:
    """Decode a JSON document that must be byte-for-byte canonical (one final newline allowed)."""
    body = raw[:-1] if allow_trailing_newline and raw.endswith(b"\n") else raw
    try:
        value = json.loads(body.decode("utf-8"), object_pairs_hook=_no_duplicates,
                           parse_constant=_no_constants)
    except UnicodeDecodeError as exc:
        raise CanonicalError("not UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise CanonicalError(f"not JSON (line {exc.lineno} column {exc.colno}: {exc.msg})") from exc
    expected = canonical_bytes(value)
    if expected != body:
        at = next((i for i, (a, b) in enumerate(zip(expected, body, strict=False)) if a != b),
                  min(len(expected), len(body)))
        raise CanonicalError(f"not in RFC 8785 canonical form (first difference at byte {at})")
    return value
