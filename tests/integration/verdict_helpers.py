"""A minimal signed verdict for CLI tests of verification and parsing."""

from __future__ import annotations

from sync.device_key import DeviceKey
from sync.reports import LivenessReport
from sync.verdict import (
    CaptureSource,
    ChallengeBinding,
    VerdictBody,
    idempotency_key,
    iso_utc,
    sign_verdict,
)
from sync.vocabulary import CaptureKind, FeatureStatus, LivenessMethod, SessionStatus


def signed_verdict_bytes(key: DeviceKey) -> bytes:
    body = VerdictBody(
        session_id="s", vendor_data="v", status=SessionStatus.APPROVED, workflow_id="w",
        workflow_version=1, liveness=LivenessReport(status=FeatureStatus.APPROVED,
                                                    method=LivenessMethod.PASSIVE, score=90.0),
        face=None, age=None, warnings=(), reason=None, created_at=iso_utc(1.7e9),
        decided_at=iso_utc(1.7e9), device_id=key.device_id, sequence=1,
        idempotency_key=idempotency_key(key.device_id, "s"),
        challenge=ChallengeBinding(method=LivenessMethod.PASSIVE, nonce="ab" * 16),
        capture_source=CaptureSource(kind=CaptureKind.CAMERA, device_id=key.device_id,
                                     detail="camera 0"))
    return sign_verdict(body, key).to_bytes()
