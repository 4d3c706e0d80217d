"""Canonical JSON and verdict signatures: round trip, and any changed byte fails verification."""

from __future__ import annotations

import json

import pytest

from sync.canonical import CanonicalError, canonical_bytes, parse_canonical
from sync.device_key import DeviceKey, DeviceKeyError, FileKeySlot, load_or_create
from sync.reports import FaceMatch, FaceSearchReport, LivenessReport, WarningItem
from sync.verdict import (
    CaptureSource,
    ChallengeBinding,
    VerdictBody,
    VerdictError,
    idempotency_key,
    iso_utc,
    sign_verdict,
    verify_verdict_bytes,
)
from sync.vocabulary import (
    CaptureKind,
    FeatureStatus,
    LivenessMethod,
    SessionStatus,
    WarningCode,
)


def _body(key: DeviceKey, seq: int = 7) -> VerdictBody:
    return VerdictBody(
        session_id="2f1c8a9e-1b7d-4a53-9d1e-3f8b2c4d5e6f", vendor_data="voter-0042",
        status=SessionStatus.IN_REVIEW, workflow_id="poh-default", workflow_version=1,
        liveness=LivenessReport(status=FeatureStatus.APPROVED, method=LivenessMethod.PASSIVE,
                                score=87.25),
        face=FaceSearchReport(
            status=FeatureStatus.IN_REVIEW,
            matches=(FaceMatch(vendor_data="voter-0007", similarity_score=0.8123),),
            warnings=(WarningItem(code=WarningCode.POSSIBLE_DUPLICATED_FACE),)),
        age=None, warnings=(WarningCode.POSSIBLE_DUPLICATED_FACE,),
        reason="possible duplicate face 0.812 — é ✓", created_at=iso_utc(1_750_000_000.0),
        decided_at=iso_utc(1_750_000_002.5), device_id=key.device_id, sequence=seq,
        idempotency_key=idempotency_key(key.device_id, "s"),
        challenge=ChallengeBinding(method=LivenessMethod.PASSIVE, nonce="0f" * 16,
                                   response_digest="ab" * 32),
        capture_source=CaptureSource(kind=CaptureKind.CAMERA, device_id=key.device_id,
                                     detail="camera 0"))


def test_canonical_form() -> None:
    expected = '{"a":[0.5,"é",null],"b":1}'.encode()
    assert canonical_bytes({"b": 1.0, "a": [0.5, "é", None]}) == expected
    assert parse_canonical(b'{"a":1}') == {"a": 1}
    assert parse_canonical(b'{"a":1}\n') == {"a": 1}
    for bad in (b'{"a": 1}', b'{"b":1,"a":2}', b'{"a":1.0}', b'{"a":1,"a":1}', b'{"a":NaN}',
                b'{"a":1}\n\n', b'\xff'):
        with pytest.raises(CanonicalError):
            parse_canonical(bad)


def test_sign_and_verify_round_trip() -> None:
    key = DeviceKey.generate()
    signed = sign_verdict(_body(key), key)
    raw = signed.to_bytes()
    back = verify_verdict_bytes(raw, key.public)
    assert back == signed
    assert back.body == _body(key)
    assert json.loads(raw)["schema"] == "poh.verdict.v1"


def test_any_changed_byte_fails() -> None:
    key = DeviceKey.generate()
    raw = sign_verdict(_body(key), key).to_bytes()
    for i in range(len(raw)):
        for flip in (0x01, 0x20):
            tampered = bytearray(raw)
            tampered[i] ^= flip
            with pytest.raises(VerdictError):
                verify_verdict_bytes(bytes(tampered), key.public)
    with pytest.raises(VerdictError):
        verify_verdict_bytes(raw[:-1], key.public)
    with pytest.raises(VerdictError):
        verify_verdict_bytes(raw + b" ", key.public)


def test_reformatted_or_resigned_verdicts_fail() -> None:
    key = DeviceKey.generate()
    signed = sign_verdict(_body(key), key)
    pretty = json.dumps(signed.wire(), indent=2).encode()
    with pytest.raises(VerdictError, match="canonical"):
        verify_verdict_bytes(pretty, key.public)
    other = DeviceKey.generate(device_id=key.device_id)
    with pytest.raises(VerdictError, match="signed by key"):
        verify_verdict_bytes(signed.to_bytes(), other.public)
    # a changed field, re-canonicalised, keeps a valid form but breaks the signature
    doc = signed.wire()
    doc["status"] = "Approved"
    with pytest.raises(VerdictError, match="signature does not match"):
        verify_verdict_bytes(canonical_bytes(doc), key.public)


def test_device_key_is_created_once_and_stored_encrypted(tmp_path: object) -> None:
    from pathlib import Path
    path = Path(str(tmp_path)) / "keys" / "device_key.json"
    secret = b"s" * 32
    first = load_or_create(FileKeySlot(path), secret)
    again = load_or_create(FileKeySlot(path), secret)
    assert (first.device_id, first.key_id) == (again.device_id, again.key_id)
    text = path.read_text()
    assert "ENCRYPTED PRIVATE KEY" in text
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert "PRIVATE" not in repr(first) and first.key_id in repr(first)
    with pytest.raises(DeviceKeyError, match="cannot be decrypted"):
        load_or_create(FileKeySlot(path), b"t" * 32)
