"""Helpers for the hub API and webhook tests: verdicts of every kind signed by a real device
key and stored by the hub's real ingest, the API served by uvicorn on a free port, HTTP calls
with the standard library (as an integrator's poller would make them)."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.device_key import DeviceKey
from sync.hub import registry
from sync.hub.ingest import Inbound, Ingest
from sync.reports import AgeReport, FaceMatch, FaceSearchReport, LivenessReport, WarningItem
from sync.verdict import (
    CaptureSource,
    ChallengeBinding,
    SignedVerdict,
    VerdictBody,
    idempotency_key,
    iso_utc,
    sign_verdict,
)
from sync.vocabulary import (
    CaptureKind,
    FeatureStatus,
    LivenessMethod,
    SessionStatus,
    WarningCode,
)
from sync.wire.messages import AckResult
from sync.wire.topics import verdict_topic

FLEET = "f"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Booth:
    """A registered booth whose verdicts go through the hub's ingest (one transaction each)."""

    def __init__(self, engine: sa.Engine, device: str = "booth-a") -> None:
        self.key = DeviceKey.generate(device)
        self.seq = 0
        registry.register_device(engine, FLEET, device, self.key.public_jwk())
        self.ingest = Ingest(engine, Ed25519PrivateKey.generate())

    def verdict(self, session_id: str, status: SessionStatus = SessionStatus.APPROVED, *,
                vendor_data: str = "person-1", score: float = 97.0,
                matches: tuple[FaceMatch, ...] = (), warnings: tuple[WarningCode, ...] = (),
                age: float | None = 34.0) -> SignedVerdict:
        self.seq += 1
        live = FeatureStatus.DECLINED if WarningCode.LIVENESS_FACE_ATTACK in warnings \
            else FeatureStatus.APPROVED
        face_status = FeatureStatus.IN_REVIEW if matches else FeatureStatus.APPROVED
        live_w = tuple(WarningItem(code=c) for c in warnings
                       if c is WarningCode.LIVENESS_FACE_ATTACK)
        face_w = (WarningItem(code=WarningCode.POSSIBLE_DUPLICATED_FACE),) if matches else ()
        now = time.time()
        body = VerdictBody(
            session_id=session_id, vendor_data=vendor_data, status=status,
            workflow_id="default", workflow_version=3,
            liveness=LivenessReport(status=live, method=LivenessMethod.PASSIVE, score=score,
                                    warnings=live_w),
            face=FaceSearchReport(status=face_status, matches=matches, warnings=face_w),
            age=AgeReport(status=FeatureStatus.APPROVED, age_estimation=age, min_age=18)
            if age is not None else None,
            warnings=warnings, reason=None, created_at=iso_utc(now), decided_at=iso_utc(now),
            device_id=self.key.device_id, sequence=self.seq,
            idempotency_key=idempotency_key(self.key.device_id, session_id),
            challenge=ChallengeBinding(method=LivenessMethod.PASSIVE, nonce="ab" * 16),
            capture_source=CaptureSource(kind=CaptureKind.CAMERA, device_id=self.key.device_id,
                                         detail="camera 0"))
        return sign_verdict(body, self.key)

    def store(self, verdict: SignedVerdict) -> None:
        [out] = self.ingest.process([Inbound(verdict_topic(FLEET, self.key.device_id),
                                             verdict.to_bytes())])
        assert out.result is AckResult.STORED, out.reason


def call(method: str, url: str, key: str | None = None, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    if key is not None:
        req.add_header("x-api-key", key)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def wait_http(url: str, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except (OSError, urllib.error.URLError):
            if time.monotonic() > end:
                raise
            time.sleep(0.1)


def until(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    """Poll `condition` until it holds (True) or the timeout passes (False)."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def post_image(url: str, key: str, image: bytes | None, name: str = "selfie.jpg",
               **fields: str) -> tuple[int, Any]:
    """POST Didit's multipart form (`user_image` and text fields) to a standalone endpoint."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
             .encode() for k, v in fields.items()]
    if image is not None:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="user_image"; '
                     f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                     .encode() + image + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return call("POST", url, key, body,
                {"Content-Type": f"multipart/form-data; boundary={boundary}"})
