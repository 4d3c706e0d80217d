"""Fleet-wide uniqueness over a real mosquitto (shipped configuration, certificates from `poh
fleet init|add-device`), real face models and real SQLCipher booths: a person enrolled at booth
A is found at booth B; two booths that enrolled one person offline end with the later session In
Review; an erasure at a booth or at the hub reaches every booth (confirmed by their cursors); a
booth that was offline catches up from its cursor. Nothing readable on the wire."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from fleet_helpers import Fleet, add_and_join, eventually, fleet_with_broker, hub_link, wait_for

from app.checks.face_registry import face_template
from app.kiosk.config import load_config
from app.kiosk.fleet_sync import template_sync_running
from app.kiosk.storage import Storage
from inference.pipeline import FacePipeline
from sync.hub.db import open_engine
from sync.hub.fleet_cli import forget_and_publish
from sync.hub.service import load_signing_key
from sync.hub.template_worker import TemplateHubThread, read_template_key, template_link
from sync.hub.templates import FleetTemplates
from sync.transport import Connected, Received

# session ids as the kiosk makes them (uuid4): erasure deletes kept recordings by session id
SESS_A, SESS_B, SESS_G = ("5e55a000-0000-4000-8000-00000000000a",
                          "5e55b000-0000-4000-8000-00000000000b",
                          "5e55c000-0000-4000-8000-00000000000c")


@dataclass
class Hub:
    templates: FleetTemplates
    hub_dir: Path
    broker_url: str


@contextmanager
def running_hub(fleet: Fleet, tmp: Path) -> Iterator[Hub]:
    hub_dir = fleet.folder.path / "hub"
    t = FleetTemplates(open_engine(f"sqlite:///{tmp / 'hub.db'}"), "f1",
                       read_template_key(hub_dir), load_signing_key(hub_dir / "signing.key"))
    worker = TemplateHubThread(template_link(fleet.folder.broker_url, hub_dir), t)
    worker.start()
    try:
        yield Hub(t, hub_dir, fleet.folder.broker_url)
    finally:
        worker.stop()


@contextmanager
def booth_sync(home: Path) -> Iterator[Storage]:
    cfg = load_config(home / "config.json")
    with template_sync_running(home, cfg) as (_loop, storage):
        yield storage


@pytest.fixture()
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    with fleet_with_broker(tmp_path) as f:
        yield f


@pytest.fixture(scope="module")
def embeddings(face_pipeline: FacePipeline, portraits: dict[str, np.ndarray]
               ) -> dict[str, np.ndarray]:
    out = {}
    for name in ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "grace_hopper.jpg"):
        emb = face_template(face_pipeline, portraits[name]).embedding
        assert emb is not None, name
        out[name] = emb
    return out


def _session(storage: Storage, session_id: str, vendor: str) -> None:
    storage.verdicts().record_session_start(session_id, vendor, "default", 1, time.time())


def _status(storage: Storage, session_id: str) -> str:
    with storage.db.read() as conn:
        return str(conn.execute("SELECT status FROM sessions WHERE id = ?",
                                (session_id,)).fetchone()[0])


def test_enrolled_at_booth_a_found_at_booth_b_and_nothing_readable_on_the_wire(
        fleet: Fleet, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        embeddings: dict[str, np.ndarray]) -> None:
    for name in ("booth-a", "booth-b"):
        add_and_join(capsys, fleet, tmp_path / name, name, register_timeout=0)
    sniffer = hub_link(fleet, "sniffer")
    sniffer.start()
    wait_for(sniffer, Connected)
    sniffer.subscribe([("poh/v1/f1/#", 1)])
    with running_hub(fleet, tmp_path) as hub, booth_sync(tmp_path / "booth-a") as a, \
            booth_sync(tmp_path / "booth-b") as b:
        tid = a.faces.enroll("person-obama", embeddings["obama.jpg"], session_id=SESS_A)
        eventually("booth B holds booth A's enrolment", lambda: b.faces.gallery_size() == 1)
        hit = b.faces.search(embeddings["obama2.jpg"], 3).enrolled[0]
        assert hit.vendor_data == "person-obama" and hit.session_id == SESS_A
        assert hit.cosine >= 0.53
        assert b.faces.search(embeddings["biden.jpg"], 1).enrolled[0].cosine < 0.53
        assert hub.templates.counts()["templates"] == 1
        eventually("both booths report the last delta", lambda: hub.templates.counts()[
            "booth_cursors"] == {"booth-a": 1, "booth-b": 1})
        with a.db.read() as conn:
            stored = bytes(conn.execute("SELECT template FROM templates WHERE id = ?",
                                        (tid,)).fetchone()[0])
    payloads = [e.payload for e in sniffer.drain_events() if isinstance(e, Received)]
    sniffer.stop()
    assert len(payloads) >= 3  # A's report, the hub's delta, B's cursor report
    for p in payloads:
        assert stored not in p and b"person-obama" not in p and SESS_A.encode() not in p
        assert stored[:64] not in p


def test_offline_double_enrolment_review_erasure_and_resume(
        fleet: Fleet, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        embeddings: dict[str, np.ndarray]) -> None:
    for name in ("booth-a", "booth-b"):
        add_and_join(capsys, fleet, tmp_path / name, name, register_timeout=0)
    # both booths enrol the same person while the hub is down: A first, B later
    with booth_sync(tmp_path / "booth-a") as a:
        _session(a, SESS_A, "obama-at-a")
        a.faces.enroll("obama-at-a", embeddings["obama.jpg"], session_id=SESS_A)
    with booth_sync(tmp_path / "booth-b") as b:
        _session(b, SESS_B, "obama-at-b")
        b.faces.enroll("obama-at-b", embeddings["obama2.jpg"], session_id=SESS_B)
    with running_hub(fleet, tmp_path) as hub, ExitStack() as stack:
        a = stack.enter_context(booth_sync(tmp_path / "booth-a"))
        b_stack = ExitStack()
        b = b_stack.enter_context(booth_sync(tmp_path / "booth-b"))
        eventually("the hub reviewed the later enrolment", lambda: len(
            hub.templates.reviews()) == 1)
        (review,) = hub.templates.reviews()
        assert (review["device_id"], review["session_id"]) == ("booth-b", SESS_B)
        assert (review["matching_device"], review["matching_session"]) == ("booth-a", SESS_A)
        eventually("booth B put its session In Review", lambda: _status(b, SESS_B) ==
                   "In Review")
        assert _status(a, SESS_A) == "In Progress"  # the earlier one is left alone
        eventually("each booth holds both templates", lambda: a.faces.gallery_size() == 2
                   == b.faces.gallery_size())

        # erasure at booth A reaches the hub and booth B, and both confirm it
        a.faces.forget("obama-at-a")
        eventually("booth B erased booth A's person", lambda: b.faces.gallery_size() == 1)
        assert b.faces.search(embeddings["obama3.jpg"], 3).enrolled[0].vendor_data == \
            "obama-at-b"
        eventually("both booths confirmed the erasure", lambda: [
            (e["confirmed"], e["pending"]) for e in hub.templates.erasures()] == [
            (["booth-a", "booth-b"], [])])
        assert hub.templates.reviews() == []  # the review's match is gone with the person

        # booth B goes offline; the fleet moves on; B resumes from its cursor
        b_stack.close()
        a.faces.enroll("grace", embeddings["grace_hopper.jpg"], session_id=SESS_G)
        eventually("the hub has grace", lambda: hub.templates.counts()["templates"] == 2)
        seq = forget_and_publish(hub.templates, "obama-at-b", hub.broker_url, hub.hub_dir)
        assert seq is not None
        eventually("booth A merged the hub's erasure", lambda: a.faces.gallery_size() == 1)
        last = hub.templates.counts()["last_seq"]
        b = stack.enter_context(booth_sync(tmp_path / "booth-b"))
        eventually("booth B caught up from its cursor", lambda: hub.templates.counts()[
            "booth_cursors"].get("booth-b") == last)
        assert [h.vendor_data for h in b.faces.search(embeddings["grace_hopper.jpg"], 3)
                .enrolled] == ["grace"]
        with b.db.read() as conn:  # B's own person, erased at the hub, is gone with sessions
            assert conn.execute("SELECT count(*) FROM sessions WHERE id = ?",
                                (SESS_B,)).fetchone()[0] == 0
        erasures = hub.templates.erasures()
        assert [e["requested_by"] for e in erasures] == ["booth-a", "hub"]
        assert all(e["confirmed"] == ["booth-a", "booth-b"] for e in erasures)
