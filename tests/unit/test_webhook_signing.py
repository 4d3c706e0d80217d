"""Didit's three webhook signatures, as the hub makes them, checked by the integrator-side
verifier (app.lab.didit_receiver, written from Didit's documentation apart from the hub's
code): fixed vectors, the unicode case where X-Signature and X-Signature-V2 differ, whole
floats, any changed byte, a stale timestamp."""

from __future__ import annotations

import hashlib
import hmac
import json

from app.lab.didit_receiver import verify
from sync.hub.webhooks.signing import body_bytes, signed_headers, v2_message

SECRET = "whsec-test-secret"
TS = 1_767_225_600
ENVELOPE = {"event_id": "7f1c1a4e-0000-4000-8000-000000000001",
            "webhook_type": "status.updated", "timestamp": TS, "created_at": TS - 5,
            "session_id": "s-1", "status": "Approved", "workflow_id": "default",
            "workflow_version": 3, "vendor_data": "José Müller 日本 😀", "metadata": None,
            "decision": {"liveness_checks": [{"score": 97.0, "age_estimation": 34.25}]}}


def _h(msg: bytes) -> str:
    return hmac.new(SECRET.encode(), msg, hashlib.sha256).hexdigest()


def test_body_is_sorted_compact_and_ascii_escaped() -> None:
    raw = body_bytes(ENVELOPE)
    assert raw.startswith(b'{"created_at":1767225595,"decision":{"liveness_checks":[')
    assert b"Jos\\u00e9 M\\u00fcller \\u65e5\\u672c \\ud83d\\ude00" in raw
    assert b": " not in raw and b", " not in raw.replace(b"M\\u00fcller ", b"")


def test_the_three_signatures_by_their_definitions() -> None:
    raw = body_bytes(ENVELOPE)
    headers = signed_headers(SECRET, raw, TS)
    assert headers["X-Signature"] == _h(raw)
    expected_v2 = ('{"created_at":1767225595,"decision":{"liveness_checks":[{"age_estimation":'
                   '34.25,"score":97}]},"event_id":"7f1c1a4e-0000-4000-8000-000000000001",'
                   '"metadata":null,"session_id":"s-1","status":"Approved","timestamp":'
                   '1767225600,"vendor_data":"José Müller 日本 😀","webhook_type":'
                   '"status.updated","workflow_id":"default","workflow_version":3}')
    assert v2_message(json.loads(raw)) == expected_v2.encode()
    assert headers["X-Signature-V2"] == _h(expected_v2.encode())
    assert headers["X-Signature-Simple"] == _h(b"1767225600:s-1:Approved:status.updated")
    assert headers["X-Timestamp"] == "1767225600"
    # non-ASCII text: the raw body escapes it, V2 does not, so the two differ
    assert headers["X-Signature"] != headers["X-Signature-V2"]
    assert verify(SECRET, raw, headers, now=TS + 10).ok


def test_ascii_body_without_floats_has_equal_v1_and_v2() -> None:
    env = {**ENVELOPE, "vendor_data": "person-1", "decision": {"n": 1}}
    raw = body_bytes(env)
    headers = signed_headers(SECRET, raw, TS)
    assert headers["X-Signature"] == headers["X-Signature-V2"]


def test_a_changed_byte_a_wrong_secret_or_a_stale_timestamp_fail() -> None:
    raw = body_bytes(ENVELOPE)
    headers = signed_headers(SECRET, raw, TS)
    tampered = raw.replace(b'"Approved"', b'"Declined"')
    check = verify(SECRET, tampered, headers, now=TS)
    assert not check.signature and not check.signature_v2 and not check.signature_simple
    assert not verify("another-secret", raw, headers, now=TS).ok
    stale = verify(SECRET, raw, headers, now=TS + 301)
    assert stale.signature and stale.signature_v2 and not stale.timestamp_fresh
    assert not stale.ok
