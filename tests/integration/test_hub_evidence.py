"""Review frames from a booth to the hub's console, end to end over a real mosquitto (the
shipped configuration and ACL, certificates from `poh fleet init|add-device`), a joined
SQLCipher booth running the kiosk's fleet services, the hub as `poh hub run` runs its first
worker (ingest, template, ops and evidence workers) on SQLite and on PostgreSQL, and the
console served by uvicorn:

- an In Review session's frames (kept sealed with `sync_evidence`) reach the hub, the booth's
  mark goes on the hub's signed acknowledgement, and the console page shows them; an Approved
  session's frames are not sent;
- nothing on the wire (sniffed with the hub's own certificate) and nothing in the hub's
  database is a plain JPEG or PNG;
- a frame is served only to a logged-in operator, never cached, and every view is audited;
- an erasure of the person at the hub deletes the frames;
- another booth can neither post on this booth's topic (PUBACK 0x87) nor get frames stored
  for this booth's session from its own topic (a signed refusal)."""

from __future__ import annotations

import base64
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fleet_helpers import (
    Fleet,
    add_and_join,
    eventually,
    fleet_with_broker,
    hub_link,
    poh,
    wait_for,
)
from support.console import PASSWORD, Browserless
from support.hub_api import FLEET as HUB_FLEET
from support.hub_api import Booth, free_port, wait_http

from app.capture.plan import make_plan
from app.capture.recording import Recording, plan_cues
from app.kiosk.config import load_config
from app.kiosk.fleet_services import kiosk_fleet_services
from app.kiosk.fleet_sync import member_storage, register_now
from app.kiosk.root import open_kiosk
from app.kiosk.storage import Storage
from inference.pipeline import FacePipeline
from sync.fleet.evidence_wire import (
    evidence_ack_topic,
    evidence_topic,
    open_ack,
    open_frames,
    seal_frames,
)
from sync.fleet.link import running_link
from sync.fleet.membership import load_membership
from sync.hub.api.context import HubContext
from sync.hub.api.serve import BackgroundServer, HttpAddress
from sync.hub.console import accounts, fleet_ops
from sync.hub.console.tables import audit_log, hub_evidence
from sync.hub.db import open_engine
from sync.hub.evidence import EvidenceVault, HubEvidence
from sync.hub.schema import devices
from sync.hub.service import HubRun, load_signing_key, run_worker
from sync.hub.webhooks.tables import hub_sessions
from sync.reports import FaceMatch, FaceSearchReport, LivenessReport, WarningItem
from sync.transport import Published, Received, Subscribed, TlsFiles
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

FLEET = "f1"
# The starts of a JPEG (as OpenCV writes it) and of a PNG, raw and in base64: long enough that
# 350 kB of ciphertext holds one by chance about once in 10^16 (3-byte markers did: 1 run in 50)
PLAIN_IMAGE = (b"\xff\xd8\xff\xe0\x00\x10JFIF", b"/9j/4AAQSkZJRg", b"\x89PNG\r\n\x1a\n",
               b"iVBORw0KGgo")


def _recording(face: np.ndarray, n: int = 30) -> Recording:
    """A FLASHING-shaped recording of a real portrait, its brightness changing per frame."""
    plan = make_plan("FLASHING", bytes(range(16)))
    cols, acts = plan_cues(plan, 0.0)
    base = cv2.resize(face, (640, 480)).astype(np.int16)
    frames = tuple(np.clip(base + (i % 7) * 6 - 18, 0, 255).astype(np.uint8) for i in range(n))
    return Recording("FLASHING", plan.nonce, 30.0, tuple(i / 30 for i in range(n)), frames,
                     cols, acts)


def _session_with_verdict(storage: Storage, session_id: str, vendor: str,
                          status: SessionStatus) -> None:
    """A camera session's signed verdict in the booth's outbox, as the kiosk leaves it."""
    key = storage.device_key()
    storage.verdicts().record_session_start(session_id, vendor, "default", 3, time.time())
    review = status is SessionStatus.IN_REVIEW
    now = iso_utc(time.time())

    def build(seq: int) -> SignedVerdict:
        return sign_verdict(VerdictBody(
            session_id=session_id, vendor_data=vendor, status=status, workflow_id="default",
            workflow_version=3,
            liveness=LivenessReport(status=FeatureStatus.APPROVED,
                                    method=LivenessMethod.FLASHING, score=96.0),
            face=FaceSearchReport(
                status=FeatureStatus.IN_REVIEW if review else FeatureStatus.APPROVED,
                matches=(FaceMatch(session_id=str(uuid.uuid4()), vendor_data="voter-1",
                                   similarity_score=0.81),) if review else (),
                warnings=(WarningItem(code=WarningCode.POSSIBLE_DUPLICATED_FACE),)
                if review else ()),
            age=None, warnings=(), reason=None, created_at=now, decided_at=now,
            device_id=key.device_id, sequence=seq,
            idempotency_key=idempotency_key(key.device_id, session_id),
            challenge=ChallengeBinding(method=LivenessMethod.FLASHING, nonce="ab" * 16),
            capture_source=CaptureSource(kind=CaptureKind.CAMERA, device_id=key.device_id,
                                         detail="camera 0")), key)

    storage.verdicts().append(build)


@contextmanager
def hub_worker(fleet: Fleet, db_url: str) -> Iterator[None]:
    """`poh hub run`'s worker 0 on a thread: ingest, template, ops and evidence workers."""
    h = fleet.folder.path / "hub"
    cfg = HubRun(fleet.folder.broker_url, db_url, h / "signing.key", FLEET,
                 TlsFiles(h / "ca.crt", h / "hub.crt", h / "hub.key"), client_id="hub-t")
    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(cfg, 0, stop), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(20)


@contextmanager
def console(engine: sa.Engine, vault: EvidenceVault | None) -> Iterator[str]:
    port = free_port()
    server = BackgroundServer(HubContext(engine, evidence_vault=vault),
                              HttpAddress("127.0.0.1", port))
    server.start()
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/console/login")  # /health speaks for an ingest this test runs apart
    try:
        yield base
    finally:
        server.stop()


def _frames_at_hub(engine: sa.Engine, session_id: str) -> list[bytes]:
    with engine.connect() as conn:
        return [r.sealed for r in conn.execute(sa.select(hub_evidence.c.sealed).where(
            hub_evidence.c.session_id == session_id).order_by(hub_evidence.c.frame))]


def _image(web: Browserless, path: str) -> tuple[int, bytes, dict[str, str]]:
    req = urllib.request.Request(web.base + path)
    try:
        with web.opener.open(req, timeout=30) as resp:
            return resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def _registered(engine: sa.Engine, device: str) -> bool:
    with engine.connect() as conn:
        return conn.execute(sa.select(devices.c.device_id).where(
            devices.c.device_id == device)).first() is not None


def _console_checks(engine: sa.Engine, vault: EvidenceVault, review: str, approved: str
                    ) -> None:
    with console(engine, vault) as base:
        web = Browserless(base)
        frame0 = f"/console/sessions/{review}/evidence/0"
        assert _image(web, frame0)[0] == 303  # login first
        assert web.login("rita") == 303
        status, page, _ = web.get(f"/console/sessions/{review}")
        assert status == 200 and page.count(f'src="/console/sessions/{review}/evidence/') == 12
        status, jpeg, headers = _image(web, frame0)
        assert status == 200 and headers["content-type"] == "image/jpeg"
        assert headers["cache-control"] == "no-store"
        img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert img is not None and img.shape == (240, 320, 3)
        assert _image(web, f"/console/sessions/{review}/evidence/12")[0] == 404
        status, page, _ = web.get(f"/console/sessions/{approved}")
        assert status == 200 and "No review frames at the hub" in page
        with engine.connect() as conn:
            views = conn.execute(sa.select(audit_log.c.actor, audit_log.c.target,
                                           audit_log.c.detail).where(
                audit_log.c.action == "view_evidence")).all()
        assert [tuple(v) for v in views] == [("rita", review, "frame 0")]
    with console(engine, None) as base:  # a console without the hub key cannot open them
        web = Browserless(base)
        assert web.login("rita") == 303
        page = web.get(f"/console/sessions/{review}")[1]
        assert "no hub key to open them" in page and "/evidence/0" not in page


def _another_booth_cannot(fleet: Fleet, home_b: Path, template_key: bytes, review: str,
                          hub_public: Ed25519PublicKey) -> None:
    """Booth B (registered) posts frames for booth A's session: on A's topic the broker
    refuses them; on its own topic the hub refuses them, signed."""
    cfg = load_config(home_b / "config.json")
    storage, membership = member_storage(home_b, cfg)
    jpeg = bytes(cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes())
    try:
        with running_link(membership, storage.key, "evidence-test") as link:
            on_a = evidence_topic(FLEET, "booth-a")
            assert link.wait_connected(15)
            mid = link.publish(on_a, seal_frames(template_key, on_a, review, [jpeg]), qos=1)
            [*_, puback] = wait_for(link, Published, lambda e: e.mid == mid)
            assert isinstance(puback, Published) and not puback.ok
            assert "authori" in puback.reason.lower()
            own, ack_topic = evidence_topic(FLEET, "booth-b"), evidence_ack_topic(FLEET,
                                                                                 "booth-b")
            link.subscribe([(ack_topic, 1)])
            wait_for(link, Subscribed)  # the hub's answer must not come before it
            link.publish(own, seal_frames(template_key, own, review, [jpeg]), qos=1)
            [*_, got] = wait_for(link, Received, lambda e: e.topic == ack_topic, 30)
            assert isinstance(got, Received)
            ack = open_ack(template_key, ack_topic, got.payload, hub_public)
            assert (ack.session_id, ack.result) == (review, "refused")
            assert ack.reason == "no session of this device at the hub"
    finally:
        storage.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_review_frames_reach_the_console_sealed_and_are_erased(
        backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        face_pipeline: FacePipeline, portraits: dict[str, np.ndarray],
        request: pytest.FixtureRequest) -> None:
    db_url = (f"sqlite:///{tmp_path / 'hub.db'}" if backend == "sqlite"
              else request.getfixturevalue("postgres").new_database())
    engine = open_engine(db_url)
    accounts.add_operator(engine, "rita", accounts.Role.REVIEWER, PASSWORD)
    review, approved = str(uuid.uuid4()), str(uuid.uuid4())
    wire: list[tuple[str, bytes]] = []
    with fleet_with_broker(tmp_path, FLEET) as fleet:
        hub_dir = fleet.folder.path / "hub"
        template_key = bytes.fromhex((hub_dir / "template.key").read_text())
        signer = load_signing_key(hub_dir / "signing.key")
        home, home_b = tmp_path / "booth-a", tmp_path / "booth-b"
        add_and_join(capsys, fleet, home, "booth-a", register_timeout=0)
        add_and_join(capsys, fleet, home_b, "booth-b", register_timeout=0)
        cfg = load_config(home / "config.json")
        kiosk = open_kiosk(cfg, home, pipeline=face_pipeline)
        sniffer = hub_link(fleet, "sniffer")  # the hub's certificate reads the whole tree
        sniffer.start()
        try:
            assert sniffer.wait_connected(15)
            sniffer.subscribe([(f"poh/v1/{FLEET}/+/evidence", 1),
                               (f"poh/v1/{FLEET}/+/cmd/evidence", 1)])
            wait_for(sniffer, Subscribed)
            store = kiosk.storage.evidence()
            rec = _recording(portraits["obama.jpg"])
            for sid, status in ((review, SessionStatus.IN_REVIEW),
                                (approved, SessionStatus.APPROVED)):
                _session_with_verdict(kiosk.storage, sid, f"voter-{sid[:8]}", status)
                store.keep(sid, rec, send=True)
            assert sorted(store.to_send()) == sorted([review, approved])
            with hub_worker(fleet, db_url):
                for h in (home, home_b):
                    m = load_membership(h)
                    assert m is not None and register_now(h, load_config(h / "config.json"),
                                                          m, 15)
                eventually("both booths registered at the hub", lambda: _registered(
                    engine, "booth-a") and _registered(engine, "booth-b"))
                with kiosk_fleet_services(kiosk):
                    eventually("the frames stored at the hub",
                               lambda: len(_frames_at_hub(engine, review)) == 12)
                    eventually("the booth's mark gone on the hub's ack",
                               lambda: review not in store.to_send())
                    time.sleep(3)  # the services' next turns: the Approved session stays
                assert store.to_send() == [approved]
                assert _frames_at_hub(engine, approved) == []

                _console_checks(engine, EvidenceVault(signer), review, approved)
                _another_booth_cannot(fleet, home_b, template_key, review,
                                      signer.public_key())
                assert len(_frames_at_hub(engine, review)) == 12  # untouched by booth B

                with engine.connect() as conn:
                    vendor = conn.execute(sa.select(hub_sessions.c.vendor_data).where(
                        hub_sessions.c.session_id == review)).scalar_one()
                fleet_ops.request_erasure(engine, "ada", FLEET, vendor, "the person asked")
                eventually("the erasure deleted the frames",
                           lambda: _frames_at_hub(engine, review) == [])
            wire += [(ev.topic, ev.payload) for ev in sniffer.drain_events()
                     if isinstance(ev, Received)]
        finally:
            sniffer.stop()
            kiosk.close()

    code, listed, err = poh(capsys, home, "evidence", "list")  # the operator's view
    assert code == 0, err
    assert {r["session_id"]: r["frames_for_hub"] for r in listed["evidence"]} == {
        review: False, approved: True}
    up = [p for t, p in wire if t == evidence_topic(FLEET, "booth-a")]
    acks = [p for t, p in wire if t == evidence_ack_topic(FLEET, "booth-a")]
    assert up and acks  # the sniffer saw the frames and the acknowledgement go by
    assert {open_frames(template_key, evidence_topic(FLEET, "booth-a"), p).session_id
            for p in up} == {review}  # only the In Review session's frames were sent
    assert open_ack(template_key, evidence_ack_topic(FLEET, "booth-a"), acks[0],
                    signer.public_key()).result == "stored"
    for _topic, payload in wire:  # sealed: no image and no session id in clear
        assert not any(m in payload for m in PLAIN_IMAGE), _topic
        assert review.encode() not in payload
    engine.dispose()


def test_hub_database_holds_no_plain_frame(tmp_path: Path) -> None:
    """What the ingest writes, read back from the SQLite file itself."""
    engine = open_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    booth = Booth(engine, "booth-a")
    sid = str(uuid.uuid4())
    booth.store(booth.verdict(sid, SessionStatus.IN_REVIEW))
    key, signer = bytes(range(32)), Ed25519PrivateKey.generate()
    hub = HubEvidence(engine, HUB_FLEET, key, signer)
    face = np.random.default_rng(3).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    jpeg = bytes(cv2.imencode(".jpg", face)[1].tobytes())
    topic = evidence_topic(HUB_FLEET, "booth-a")
    [(_t, ack)] = hub.handle(topic, seal_frames(key, topic, sid, [jpeg] * 3))
    assert open_ack(key, evidence_ack_topic(HUB_FLEET, "booth-a"), ack,
                    signer.public_key()).result == "stored"
    [(_t, again)] = hub.handle(topic, seal_frames(key, topic, sid, [jpeg] * 3))
    assert open_ack(key, evidence_ack_topic(HUB_FLEET, "booth-a"), again,
                    signer.public_key()).result == "duplicate"
    engine.dispose()
    on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("hub.db*"))
    assert len(on_disk) > 3 * len(jpeg)
    assert jpeg[:20] not in on_disk and PLAIN_IMAGE[0] not in on_disk
    assert base64.b64encode(jpeg)[:40] not in on_disk
    engine = open_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    with engine.connect() as conn:
        frames = conn.execute(sa.select(hub_evidence)).all()
    assert len(frames) == 3 and all(
        hub.vault.open(f.fleet_id, f.device_id, sid, f.frame, f.sealed) == jpeg for f in frames)
    engine.dispose()
