"""Booths full of signed verdicts, fast, for the sync benchmark and the chaos tests: a real
initialised data folder (SQLCipher), the real device key, real signing (sync.verdict) and the
real outbox append (sync.verdict_store), one transaction per verdict as at a booth."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from app.kiosk.storage import db_key, ensure_initialised, open_database
from storage.config import StorageConfig
from storage.database import Database
from sync.device_key import DeviceKey
from sync.device_key_store import load_device_key
from sync.reports import LivenessReport
from sync.verdict import (
    CaptureSource,
    ChallengeBinding,
    SignedVerdict,
    VerdictBody,
    idempotency_key,
    iso_utc,
    sign_verdict,
)
from sync.verdict_store import VerdictStore
from sync.vocabulary import CaptureKind, FeatureStatus, LivenessMethod, SessionStatus


@dataclass
class LabBooth:
    home: Path
    db: Database
    store: VerdictStore
    key: DeviceKey

    @property
    def device_id(self) -> str:
        return self.key.device_id

    def close(self) -> None:
        self.db.close()


def open_booth(home: Path, device_id: str | None = None, fleet: str = "lab") -> LabBooth:
    """Initialise (once) and open a booth's data folder; its key file lives in `home`."""
    cfg = StorageConfig()
    ensure_initialised(home, cfg, device_id=device_id)
    key = db_key(home, cfg)
    db = open_database(home, cfg, key)
    return LabBooth(home, db, VerdictStore(db, fleet=fleet), load_device_key(db, key))


@dataclass(frozen=True)
class VerdictBuilder:
    key: DeviceKey
    session_id: str
    kind: CaptureKind = CaptureKind.CAMERA

    def __call__(self, seq: int) -> SignedVerdict:
        now = time.time()
        k = self.key
        body = VerdictBody(
            session_id=self.session_id, vendor_data=f"person-{self.session_id}",
            status=SessionStatus.APPROVED, workflow_id="lab", workflow_version=1,
            liveness=LivenessReport(status=FeatureStatus.APPROVED,
                                    method=LivenessMethod.PASSIVE, score=97.0),
            face=None, age=None, warnings=(), reason=None, created_at=iso_utc(now),
            decided_at=iso_utc(now), device_id=k.device_id, sequence=seq,
            idempotency_key=idempotency_key(k.device_id, self.session_id),
            challenge=ChallengeBinding(method=LivenessMethod.PASSIVE, nonce="ab" * 16),
            capture_source=CaptureSource(kind=self.kind, device_id=k.device_id,
                                         detail="lab"))
        return sign_verdict(body, k)


def append_verdicts(booth: LabBooth, n: int, prefix: str = "s",
                    kind: CaptureKind = CaptureKind.CAMERA) -> list[int]:
    """Append n signed verdicts (sessions `{prefix}-{i}`); their sequence numbers."""
    out = []
    for i in range(n):
        sid = f"{prefix}-{i}"
        booth.store.record_session_start(sid, f"person-{sid}", "lab", 1, time.time())
        verdict, _ = booth.store.append(VerdictBuilder(booth.key, sid, kind))
        out.append(verdict.sequence)
    return out
