"""Evidence retention: sealed challenge recordings (no plaintext on disk, tamper-evident)."""

from __future__ import annotations

import os
import secrets
import uuid
from pathlib import Path

import numpy as np
import pytest

from app.capture.challenge import digest_of
from app.capture.evidence import EvidenceConfig, EvidenceError, EvidenceStore
from app.capture.plan import make_plan
from app.capture.recording import Recording, plan_cues
from storage.sealed_file import SealedFileError


def _rec() -> Recording:
    plan = make_plan("FLASHING", bytes(range(16)))
    cols, acts = plan_cues(plan, 1.0)
    rng = np.random.default_rng(1)
    times = tuple(1.0 + i / 30 for i in range(20))
    frames = tuple(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8) for _ in times)
    return Recording("FLASHING", plan.nonce, 30.0, times, frames, cols, acts)


def test_kept_recording_is_sealed_and_exports_intact(tmp_path: Path) -> None:
    key = secrets.token_bytes(32)
    store = EvidenceStore(tmp_path / "evidence", key)
    sid = str(uuid.uuid4())
    rec = _rec()
    store.keep(sid, rec)
    path = tmp_path / "evidence" / f"{sid}.evidence"
    blob = path.read_bytes()
    assert b"\x89PNG" not in blob and b"capture.json" not in blob  # nothing readable on disk
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert [e.session_id for e in store.entries()] == [sid]
    back = store.export(sid, tmp_path / "out")
    assert back.nonce == rec.nonce and np.allclose(back.times, rec.times, atol=1e-6)
    assert digest_of(back) == digest_of(rec)  # the verdict's digest can be re-derived
    assert all(np.array_equal(a, b) for a, b in zip(back.frames, rec.frames, strict=True))
    assert back.colours == rec.colours


def test_tampered_wrong_key_and_swapped_files_do_not_open(tmp_path: Path) -> None:
    key = secrets.token_bytes(32)
    store = EvidenceStore(tmp_path / "ev", key)
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    store.keep(a, _rec())
    path = tmp_path / "ev" / f"{a}.evidence"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(SealedFileError, match="altered"):
        store.export(a, tmp_path / "o1")
    store.keep(a, _rec())
    with pytest.raises(SealedFileError):
        EvidenceStore(tmp_path / "ev", secrets.token_bytes(32)).export(a, tmp_path / "o2")
    os.replace(path, tmp_path / "ev" / f"{b}.evidence")  # another session's name
    with pytest.raises(SealedFileError):
        store.export(b, tmp_path / "o3")
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o3").exists()


def test_bad_session_ids_and_missing_evidence(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "ev", secrets.token_bytes(32))
    with pytest.raises(EvidenceError, match="not a session id"):
        store.keep("../../etc/passwd", _rec())
    with pytest.raises(EvidenceError, match="no evidence"):
        store.export(str(uuid.uuid4()), tmp_path / "o")
    assert store.delete(str(uuid.uuid4())) is False
    assert store.entries() == []


def test_retention_erases_expired_then_oldest_above_the_cap(tmp_path: Path) -> None:
    key = secrets.token_bytes(32)
    store = EvidenceStore(tmp_path / "ev", key)
    ids = [str(uuid.uuid4()) for _ in range(4)]
    for sid in ids:
        store.keep(sid, _rec())
    size = store.entries()[0].bytes
    now = 1_000_000_000.0
    for age_days, sid in zip((40, 3, 2, 1), ids, strict=True):
        path = tmp_path / "ev" / f"{sid}.evidence"
        os.utime(path, (now - age_days * 86400, now - age_days * 86400))
    capped = EvidenceStore(tmp_path / "ev", key, EvidenceConfig(
        max_age_days=30, max_total_mb=2.5 * size / (1024 * 1024)))
    assert capped.prune(now=now) == ids[:2]  # 40 days old, then the oldest over 2.5 files
    assert sorted(e.session_id for e in capped.entries()) == sorted(ids[2:])
    assert capped.prune(now=now) == []
    # a new recording is never the one erased, even when it alone is over the cap
    tiny = EvidenceStore(tmp_path / "ev", key, EvidenceConfig(max_total_mb=size / 4e6))
    newest = str(uuid.uuid4())
    tiny.keep(newest, _rec())
    assert [e.session_id for e in tiny.entries()] == [newest]
