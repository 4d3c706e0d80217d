"""The hub's judgement on a real database (SQLite file and a real PostgreSQL): every refusal
reason, duplicates stored once, acks signed and naming the exact bytes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.lab.benchmarks.sync_booths import VerdictBuilder
from sync.device_key import DeviceKey
from sync.hub import registry
from sync.hub.db import open_engine
from sync.hub.ingest import Inbound, Ingest
from sync.hub.report import audit, status
from sync.hub.schema import refusals, verdicts
from sync.vocabulary import CaptureKind
from sync.wire.messages import AckResult, verify_ack
from sync.wire.topics import verdict_topic

HUB = Ed25519PrivateKey.generate()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hub.db'}"
    else:
        url = request.getfixturevalue("postgres").new_database()
    eng = open_engine(url)
    yield eng
    eng.dispose()


def _verdict(key: DeviceKey, session: str, seq: int,
             kind: CaptureKind = CaptureKind.CAMERA) -> bytes:
    return VerdictBuilder(key, session, kind)(seq).to_bytes()


def _one(ingest: Ingest, topic: str, payload: bytes) -> tuple[AckResult, str | None, bytes]:
    [out] = ingest.process([Inbound(topic, payload)])
    assert out.ack is not None
    ack = verify_ack(out.ack, HUB.public_key())
    assert ack.result is out.result and ack.reason == out.reason
    return out.result, out.reason, out.ack


def test_stored_once_duplicate_acked_again(engine: sa.Engine) -> None:
    key = DeviceKey.generate("booth-a")
    registry.register_device(engine, "f", "booth-a", key.public_jwk())
    ingest = Ingest(engine, HUB)
    topic = verdict_topic("f", "booth-a")
    raw = _verdict(key, "s1", 1)
    first = ingest.process([Inbound(topic, raw), Inbound(topic, raw)])  # a re-send in one batch
    assert [o.result for o in first] == [AckResult.STORED, AckResult.DUPLICATE]
    result, _, ack_raw = _one(ingest, topic, raw)
    assert result is AckResult.DUPLICATE
    ack = verify_ack(ack_raw, HUB.public_key())
    assert ack.device_id == "booth-a" and ack.sequence == 1 and ack.delivered
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(verdicts)).scalar() == 1
        assert bytes(conn.execute(sa.select(verdicts.c.payload)).scalar_one()) == raw
    assert audit(engine).verified == 1


def test_every_refusal_is_recorded_and_never_stored(engine: sa.Engine) -> None:
    key = DeviceKey.generate("booth-a")
    other = DeviceKey.generate("booth-a")  # same id, another key: a forged signature
    revoked = DeviceKey.generate("booth-r")
    registry.register_device(engine, "f", "booth-a", key.public_jwk())
    registry.register_device(engine, "f", "booth-r", revoked.public_jwk())
    registry.revoke_device(engine, "f", "booth-r", "stolen")
    ingest = Ingest(engine, HUB)
    a = verdict_topic("f", "booth-a")
    assert _one(ingest, a, _verdict(key, "s1", 1))[0] is AckResult.STORED
    cases = {
        "unknown device": (verdict_topic("f", "booth-x"),
                           _verdict(DeviceKey.generate("booth-x"), "s", 1)),
        "device revoked: stolen": (verdict_topic("f", "booth-r"), _verdict(revoked, "s", 1)),
        "bad verdict: signed by key": (a, _verdict(other, "s2", 2)),
        "capture source video_file": (a, _verdict(key, "s3", 3, CaptureKind.VIDEO_FILE)),
        "sequence 1 already stored with other content": (a, _verdict(key, "s4", 1)),
        "idempotency key already stored with other content": (a, _verdict(key, "s1", 5)),
        "verdict of device booth-a on booth-b's topic": (
            verdict_topic("f", "booth-b"), _verdict(key, "s6", 6)),
        "bad verdict: verdict bytes": (a, b"{not json"),
    }
    registry.register_device(engine, "f", "booth-b", key.public_jwk())
    for expected, (topic, payload) in cases.items():
        result, reason, _ = _one(ingest, topic, payload)
        assert result is AckResult.REFUSED and reason is not None
        assert reason.startswith(expected), (expected, reason)
    _one(ingest, *cases["capture source video_file"])  # the same bytes refused again
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(verdicts)).scalar() == 1
        times = dict(conn.execute(sa.select(refusals.c.reason, refusals.c.times)).all())
    assert len(times) == len(cases)
    assert max(times.values()) == 2
    assert status(engine)["verdicts"] == 1


def test_testing_fleet_accepts_simulated_capture(engine: sa.Engine) -> None:
    key = DeviceKey.generate("lab-1")
    registry.register_device(engine, "lab", "lab-1", key.public_jwk())
    registry.set_testing(engine, "lab", True)
    result, _, _ = _one(Ingest(engine, HUB), verdict_topic("lab", "lab-1"),
                        _verdict(key, "s", 1, CaptureKind.SIMULATION))
    assert result is AckResult.STORED


def test_registration_keeps_the_first_key(engine: sa.Engine) -> None:
    key = DeviceKey.generate("booth-a")
    registry.register_device(engine, "f", "booth-a", key.public_jwk())
    registry.register_device(engine, "f", "booth-a", key.public_jwk())  # again: fine
    with pytest.raises(registry.RegistryError, match="kept the first"):
        registry.register_device(engine, "f", "booth-a", DeviceKey.generate().public_jwk())
