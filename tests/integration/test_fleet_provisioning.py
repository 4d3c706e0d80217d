"""Provisioning against a real mosquitto running the shipped configuration: `poh fleet init`,
`add-device`, `join` (registration over TLS with the issued certificate), the ACL refusing a
booth's write to another booth's topic, a client without the fleet's certificate refused, and
existing templates re-protected under the fleet rotation in one transaction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fleet_helpers import Fleet, add_and_join, fleet_with_broker, hub_link, poh, wait_for
from support.certs import TestCA

from app.kiosk.config import KioskConfig
from app.kiosk.storage import open_storage
from storage import fleet_state
from storage.protection import DIM, random_orthogonal
from sync.fleet.membership import load_membership
from sync.transport import (
    BrokerSettings,
    Connected,
    ConnectFailed,
    Disconnected,
    MqttLink,
    Published,
    Received,
    Subscribed,
    TlsFiles,
)
from sync.wire.messages import parse_registration


@pytest.fixture()
def fleet(tmp_path: Path) -> Fleet:
    with fleet_with_broker(tmp_path) as f:
        yield f  # type: ignore[misc]


def _storage(home: Path):  # type: ignore[no-untyped-def]
    return open_storage(home, KioskConfig.model_validate({}).storage, create=False)


def test_round_trip_registers_the_verdict_key_over_tls(
        fleet: Fleet, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hub = hub_link(fleet)
    hub.start()
    wait_for(hub, Connected)
    hub.subscribe([("poh/v1/f1/+/register", 1)])
    wait_for(hub, Subscribed)
    home = tmp_path / "booth-a"
    joined = add_and_join(capsys, fleet, home, "booth-a")
    assert joined["status"] == "joined" and joined["registered"] is True
    got = wait_for(hub, Received, lambda e: e.topic == "poh/v1/f1/booth-a/register")[-1]
    reg = parse_registration(got.payload)  # type: ignore[union-attr]
    storage = _storage(home)
    try:
        dk = storage.device_key()
        assert reg.device_id == "booth-a" == dk.device_id
        assert reg.public_jwk == dk.public_jwk()
        with storage.db.read() as conn:
            assert fleet_state.pending_registration(conn) is None
            assert fleet_state.fleet_of(conn) == "f1"
    finally:
        storage.close()
    hub.stop()
    # nothing secret in clear on the stick or in the booth's files
    bundle = (fleet.folder.path / "devices" / "booth-a.pohbundle").read_bytes()
    assert b"BEGIN" not in bundle and fleet.folder.secret("template.key") not in bundle
    membership = load_membership(home)
    assert membership is not None and membership.fleet_id == "f1"
    assert (home / "fleet" / "client.key.enc").read_bytes().startswith(
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert (home / "config.json").read_text().count('"fleet_id": "f1"') == 1


def test_a_broken_or_foreign_bundle_is_refused_and_changes_nothing(
        fleet: Fleet, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pw = tmp_path / "pw"
    pw.write_text("the-right-passphrase\n")
    home = tmp_path / "booth"
    code, out, _ = poh(capsys, home, "fleet", "add-device", "booth-x", "--fleet",
                       str(fleet.folder.path), "--passphrase-file", str(pw))
    assert code == 0
    bundle = Path(out["bundle"])
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-passphrase\n")
    code, _, err = poh(capsys, home, "fleet", "join", str(bundle), "--passphrase-file",
                       str(wrong), "--register-timeout", "0")
    assert code == 2 and "passphrase" in err and not home.exists()
    tampered = tmp_path / "tampered.pohbundle"
    raw = bundle.read_bytes()
    tampered.write_bytes(raw.replace(b'"booth-x"', b'"booth-y"', 1))
    code, _, err = poh(capsys, home, "fleet", "join", str(tampered), "--passphrase-file",
                       str(pw), "--register-timeout", "0")
    assert code == 2 and err.count("\n") == 1
    code, _, err = poh(capsys, home, "fleet", "join", str(pw), "--passphrase-file", str(pw))
    assert code == 2 and "not a provisioning bundle" in err
    # an initialised booth with another device id refuses the bundle, untouched
    code, init, _ = poh(capsys, home, "db", "init")
    assert code == 0
    code, _, err = poh(capsys, home, "fleet", "join", str(bundle), "--passphrase-file",
                       str(pw), "--register-timeout", "0")
    assert code == 2 and "booth-x" in err and init["device_id"] in err
    assert load_membership(home) is None and not (home / "config.json").exists()


def test_clients_without_the_fleets_certificate_cannot_connect(fleet: Fleet,
                                                               tmp_path: Path) -> None:
    ca = fleet.folder.path / "ca" / "ca.crt"
    bare = MqttLink(BrokerSettings.from_url(fleet.folder.broker_url, "no-cert", TlsFiles(ca)))
    other = TestCA("another CA")
    pair = other.issue("booth-a")
    (tmp_path / "o.crt").write_bytes(pair.cert)
    (tmp_path / "o.key").write_bytes(pair.key)
    foreign = MqttLink(BrokerSettings.from_url(fleet.folder.broker_url, "foreign", TlsFiles(
        ca, tmp_path / "o.crt", tmp_path / "o.key")))
    for link in (bare, foreign):
        link.start()
        # TLS 1.2 refuses in the handshake (ConnectFailed); TLS 1.3 checks the certificate
        # after it, so the broker drops the connection (Disconnected): never Connected
        seen = wait_for(link, (ConnectFailed, Disconnected))  # type: ignore[arg-type]
        seen += wait_for(link, (ConnectFailed, Disconnected))  # type: ignore[arg-type]
        assert not any(isinstance(e, Connected) for e in seen)
        link.stop()


def _one_verdict(store, dk):  # type: ignore[no-untyped-def]
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

    def build(seq: int):  # type: ignore[no-untyped-def]
        return sign_verdict(VerdictBody(
            session_id="s1", vendor_data="v", status=SessionStatus.APPROVED, workflow_id="w",
            workflow_version=1, liveness=LivenessReport(
                status=FeatureStatus.APPROVED, method=LivenessMethod.PASSIVE, score=90.0),
            face=None, age=None, warnings=(), reason=None, created_at=iso_utc(1.7e9),
            decided_at=iso_utc(1.7e9), device_id=dk.device_id, sequence=seq,
            idempotency_key=idempotency_key(dk.device_id, "s1"),
            challenge=ChallengeBinding(method=LivenessMethod.PASSIVE, nonce="ab" * 16),
            capture_source=CaptureSource(kind=CaptureKind.CAMERA, device_id=dk.device_id,
                                         detail="camera 0")), dk)

    store.record_session_start("s1", "v", "w", 1, 1.7e9)
    store.append(build)


def test_a_booth_cannot_write_another_booths_topics(
        fleet: Fleet, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Booth A's drain, told it is booth B (a tampered or compromised booth), publishes A's
    verdict on B's topic: the broker answers 0x87 (or drops the connection), and the verdict
    stays in A's outbox."""
    import threading

    from sync.drain.booth import make_drain, run_drain
    from sync.drain.drain import DrainSettings
    from sync.fleet.link import link_for

    add_and_join(capsys, fleet, tmp_path / "a", "booth-a")
    add_and_join(capsys, fleet, tmp_path / "b", "booth-b")
    storage = _storage(tmp_path / "a")
    try:
        dk = storage.device_key()
        store = storage.verdicts()
        _one_verdict(store, dk)
        (item,) = store.outbox()
        m = load_membership(tmp_path / "a")
        assert m is not None
        with m.client_key_file(storage.key) as key_path:
            drain = make_drain(store, broker_url=m.broker_url, fleet="f1", device_id="booth-b",
                               hub_key=m.hub_key(), tls=TlsFiles(m.ca, m.cert, key_path),
                               settings=DrainSettings(ack_timeout=60.0))
        stop = threading.Event()
        refused = threading.Event()
        real = drain._refuse

        def refuse(it, reason):  # type: ignore[no-untyped-def]
            real(it, reason)
            if "authori" in reason:
                refused.set()
                stop.set()

        drain._refuse = refuse  # type: ignore[method-assign]
        timer = threading.Timer(20.0, stop.set)
        timer.start()
        run_drain(drain, stop)
        timer.cancel()
        assert refused.is_set(), "the broker did not refuse the write to booth-b's topic"
        assert [i.idempotency_key for i in store.outbox()] == [item.idempotency_key]
        # the same certificate may not read B's acks either, and may write its own topic
        link = link_for(m, storage.key, "acl-test")
        link.start()
        wait_for(link, Connected)
        # mosquitto 2.0 grants the subscription but delivers only what the ACL lets it read
        link.subscribe([("poh/v1/f1/booth-b/ack", 1), ("poh/v1/f1/booth-a/ack", 1)])
        wait_for(link, Subscribed)
        hub = hub_link(fleet)
        hub.start()
        wait_for(hub, Connected)
        for who in ("booth-b", "booth-a"):  # in this order: B's would arrive first
            mid = hub.publish(f"poh/v1/f1/{who}/ack", who.encode())
            wait_for(hub, Published, lambda e, mid=mid: e.mid == mid)
        seen = wait_for(link, Received)
        assert [e.topic for e in seen if isinstance(e, Received)] == ["poh/v1/f1/booth-a/ack"]
        mine = link.publish("poh/v1/f1/booth-a/verdict", item.payload)
        assert wait_for(link, Published, lambda e: e.mid == mine)[-1].ok  # type: ignore
        hub.stop()
        link.stop()
    finally:
        storage.close()


def test_join_reprotects_existing_templates_in_one_transaction(
        fleet: Fleet, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "booth"
    rng = np.random.default_rng(3)
    raw = rng.standard_normal((3, DIM))
    raw /= np.linalg.norm(raw, axis=1, keepdims=True)
    code, init, _ = poh(capsys, home, "db", "init")
    assert code == 0
    storage = _storage(home)
    try:
        for i, emb in enumerate(raw):
            storage.faces.enroll(f"person-{i}", emb)
        before = storage.faces.key_generation
    finally:
        storage.close()
    joined = add_and_join(capsys, fleet, home, init["device_id"], register_timeout=0)
    assert joined["templates_reprotected"] == 3
    fleet_r = random_orthogonal(DIM, fleet.folder.secret("rotation.seed"))
    storage = _storage(home)
    try:
        assert storage.faces.key_generation == before + 1
        with storage.db.read() as conn:
            rows = conn.execute("SELECT vendor_data, template FROM templates ORDER BY id")
            stored = {r[0]: np.frombuffer(bytes(r[1]), dtype="<f4") for r in rows}
            assert fleet_state.pending_registration(conn) is not None  # sent by the sync loop
        for i, emb in enumerate(raw):
            assert np.allclose(stored[f"person-{i}"], fleet_r @ emb, atol=1e-5)
            hit = storage.faces.search(emb, 1).enrolled[0]
            assert hit.vendor_data == f"person-{i}" and hit.cosine > 0.999
    finally:
        storage.close()
    code, _, err = poh(capsys, home, "keys", "rotate")
    assert code == 2 and "fleet" in err
    # joining the same fleet again renews the files and leaves the templates alone
    pw = fleet.folder.path / "pass.txt"
    code, out, _ = poh(capsys, home, "fleet", "add-device", init["device_id"], "--fleet",
                       str(fleet.folder.path), "--passphrase-file", str(pw), "--out",
                       str(tmp_path / "again.pohbundle"))
    assert code == 0
    code, again, err = poh(capsys, home, "fleet", "join", out["bundle"], "--passphrase-file",
                           str(pw), "--register-timeout", "0")
    assert code == 0, err
    assert again["status"] == "renewed" and again["templates_reprotected"] == 0
    assert again["key_generation"] == before + 1
