"""Verdict log + outbox on a real SQLCipher file: one transaction, numbers never reused."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.kiosk.storage import open_database
from storage.config import StorageConfig
from storage.database import Database
from storage.errors import DatabaseOpenError
from sync.device_key import DeviceKey
from sync.reports import LivenessReport
from sync.verdict import (
    CaptureSource,
    ChallengeBinding,
    SignedVerdict,
    VerdictBody,
    idempotency_key,
    iso_utc,
    sign_verdict,
    verify_verdict_bytes,
)
from sync.verdict_store import VerdictStore
from sync.vocabulary import CaptureKind, FeatureStatus, LivenessMethod, SessionStatus

KEY = bytes(range(32))


def _builder(key: DeviceKey, session_id: str):  # type: ignore[no-untyped-def]
    def build(seq: int) -> SignedVerdict:
        body = VerdictBody(
            session_id=session_id, vendor_data="v", status=SessionStatus.DECLINED,
            workflow_id="w", workflow_version=1,
            liveness=LivenessReport(status=FeatureStatus.DECLINED,
                                    method=LivenessMethod.PASSIVE, score=3.0),
            face=None, age=None, warnings=(), reason="test",
            created_at=iso_utc(1.7e9), decided_at=iso_utc(1.7e9 + 1), device_id=key.device_id,
            sequence=seq, idempotency_key=idempotency_key(key.device_id, session_id),
            challenge=ChallengeBinding(method=LivenessMethod.PASSIVE, nonce="aa" * 16),
            capture_source=CaptureSource(kind=CaptureKind.CAMERA, device_id=key.device_id,
                                         detail="camera 0"))
        return sign_verdict(body, key)
    return build


def _open(home: Path, key: bytes = KEY) -> Database:
    """The kiosk's encrypted database in the data folder `home`."""
    return open_database(home, StorageConfig(), key)


def _store(home: Path) -> VerdictStore:
    return VerdictStore(_open(home))


def _append(store: VerdictStore, key: DeviceKey, session_id: str) -> SignedVerdict:
    store.record_session_start(session_id, "v", "w", 1, 1.7e9)
    return store.append(_builder(key, session_id))[0]


def test_append_writes_log_and_outbox_once(tmp_path: Path) -> None:
    key = DeviceKey.generate()
    store = _store(tmp_path)
    store.record_session_start("s1", "v", "w", 1, 1.7e9)
    verdict, raw = store.append(_builder(key, "s1"))
    assert verdict.sequence == 1
    assert store.verdict_bytes("s1") == raw == store.verdict_bytes(1)
    items = store.outbox()
    assert [i.payload for i in items] == [raw] and store.outbox_sequences() == [1]
    assert items[0].topic == f"poh/v1/default/{key.device_id}/verdict"
    assert verify_verdict_bytes(items[0].payload, key.public).status is SessionStatus.DECLINED
    assert store.count_attempts("v", 0.0) == (1, 1)
    assert store.count_attempts("other", 0.0) == (0, 1)
    assert store.count_attempts("v", 1.7e9 + 1) == (0, 0)


def test_failure_inside_the_transaction_leaves_nothing(tmp_path: Path) -> None:
    key = DeviceKey.generate()
    store = _store(tmp_path)
    store.record_session_start("s1", "v", "w", 1, 1.7e9)

    def boom() -> None:
        raise OSError("disk full")

    with pytest.raises(OSError):
        store.append(_builder(key, "s1"), before_commit=boom)
    assert store.outbox() == [] and store.verdict_bytes("s1") is None
    assert store.last_sequence() == 0
    assert store.append(_builder(key, "s1"))[0].sequence == 1


def test_sequence_never_repeats_across_restarts(tmp_path: Path) -> None:
    key = DeviceKey.generate()
    path = tmp_path  # the data folder holding the database file
    seen = []
    for i in range(3):  # three "process lifetimes": reopen the file each time
        db = _open(path)
        seen.append(_append(VerdictStore(db), key, f"s{i}").sequence)
        db.close()
    # a separate process appends too
    code = textwrap.dedent(f"""
        from pathlib import Path
        from app.kiosk.storage import open_database
        from storage.config import StorageConfig
        from sync.verdict_store import VerdictStore
        from sync.device_key import DeviceKey
        import tests.integration.test_verdict_store as t
        store = VerdictStore(open_database(Path({str(path)!r}), StorageConfig(),
                                           bytes(range(32))))
        print(t._append(store, DeviceKey.generate(), "child").sequence)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2])
    seen.append(int(out.stdout.strip()))
    store = _store(path)
    seen.append(_append(store, key, "last").sequence)
    assert seen == [1, 2, 3, 4, 5]
    assert store.outbox_sequences() == [1, 2, 3, 4, 5]


def test_verdicts_are_not_readable_without_the_key(tmp_path: Path) -> None:
    key = DeviceKey.generate()
    db = _open(tmp_path)
    _append(VerdictStore(db), key, "s1")
    db.close()
    with pytest.raises(DatabaseOpenError):
        _open(tmp_path, bytes(32))
    on_disk = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert b"poh.verdict.v1" not in on_disk and key.device_id.encode() not in on_disk
