"""The fleet wire contract: topics, the hub's signed ack (canonical, tamper-evident), status
and registration payloads."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.canonical import canonical_bytes, parse_canonical
from sync.device_key import DeviceKey
from sync.wire.messages import (
    AckBody,
    AckResult,
    BoothStatus,
    Registration,
    WireError,
    parse_registration,
    parse_status,
    sign_ack,
    verify_ack,
)
from sync.wire.topics import (
    TopicError,
    ack_topic,
    hub_verdict_filter,
    parse_device_topic,
    verdict_topic,
)

HUB = Ed25519PrivateKey.generate()
REASONS = [None, "unknown device", "caf\u00e9 \u2028 \u0007 \"quoted\" \\ \u00ff \U0001f600",
           "\x00\x1f\x7f tab\tnew\nline", "x" * 300]


def _ack(reason: str | None, result: AckResult = AckResult.REFUSED, seq: int = 7) -> bytes:
    return sign_ack(AckBody(device_id="booth-a", idempotency_key="k-1", sequence=seq,
                            verdict_sha256="ab" * 32, result=result, reason=reason,
                            hub_time="2026-01-01T00:00:00.000Z"), HUB)


@pytest.mark.parametrize("reason", REASONS)
def test_ack_is_rfc8785_and_verifies(reason: str | None) -> None:
    raw = _ack(reason, seq=2**53 - 1)
    assert canonical_bytes(parse_canonical(raw, allow_trailing_newline=False)) == raw
    ack = verify_ack(raw, HUB.public_key())
    assert ack.reason == reason and not ack.delivered


def test_ack_tampering_and_other_keys_are_refused() -> None:
    raw = _ack(None, AckResult.STORED)
    assert verify_ack(raw, HUB.public_key()).delivered
    forged = raw.replace(b'"result":"stored"', b'"result":"duplicate"')
    with pytest.raises(WireError, match="does not match"):
        verify_ack(forged, HUB.public_key())
    with pytest.raises(WireError, match="not the hub's"):
        verify_ack(raw, Ed25519PrivateKey.generate().public_key())
    with pytest.raises(WireError, match="canonical"):
        verify_ack(raw.replace(b",", b", ", 1), HUB.public_key())
    with pytest.raises(WireError):
        verify_ack(b"[]", HUB.public_key())


def test_topics_round_trip_and_refuse_wildcards() -> None:
    t = parse_device_topic(verdict_topic("fleet-1", "booth.a"))
    assert (t.fleet, t.device_id, t.kind) == ("fleet-1", "booth.a", "verdict")
    assert ack_topic("f", "d") == "poh/v1/f/d/ack"
    assert hub_verdict_filter() == "$share/hub/poh/v1/+/+/verdict"
    for bad in ("a/b", "+", "#", ""):
        with pytest.raises(TopicError):
            verdict_topic(bad, "d")
    for bad in ("poh/v1/f/d/other", "poh/v2/f/d/ack", "poh/v1/f/d"):
        with pytest.raises(TopicError):
            parse_device_topic(bad)


def test_status_and_registration_round_trip() -> None:
    st = BoothStatus(state="offline", backlog=3, last_sync=None)
    assert parse_status(st.to_bytes()) == st
    key = DeviceKey.generate("booth-a")
    reg = Registration(device_id="booth-a", public_jwk=key.public_jwk())
    assert parse_registration(reg.to_bytes()) == reg
    with pytest.raises(WireError):
        parse_status(b'{"v":1,"state":"sleeping","backlog":0}')


def test_verdict_unsigned_bytes_shortcut_equals_canonical_encoding() -> None:
    from app.lab.benchmarks.sync_booths import VerdictBuilder
    from sync.verdict import _unsigned_bytes, verify_verdict_bytes
    from sync.vocabulary import CaptureKind

    key = DeviceKey.generate("booth-\u00e9")
    for i, kind in enumerate(CaptureKind):
        raw = VerdictBuilder(key, f"s-{i} \"q\" \u2028", kind)(i + 1).to_bytes()
        doc = parse_canonical(raw)
        unsigned = {k: v for k, v in doc.items() if k != "signature"}
        assert _unsigned_bytes(raw, doc) == canonical_bytes(unsigned)
        assert _unsigned_bytes(raw + b"\n", doc) == canonical_bytes(unsigned)
        verify_verdict_bytes(raw, key.public)
        with pytest.raises(ValueError):
            verify_verdict_bytes(raw.replace(b'"status":"Approved"', b'"status":"Declined"'),
                                 key.public)
