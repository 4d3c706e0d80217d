"""Fleet operations end to end over a real mosquitto (the shipped configuration, certificates
from `poh fleet init|add-device`), a real hub database and real SQLCipher booths joined with
their bundles: a workflow published at the hub is verified and applied by a running kiosk,
which reports the version in its retained status (a workflow it refuses is reported, the old
one kept); a reviewer's decision reaches the booth's own session; an erasure asked for at the
console is done by the fleet's template worker and confirmed by every booth. And the booth's
checks of the hub's commands: forged, misdirected, replayed or out-of-order ones are refused."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fleet_helpers import Fleet, add_and_join, eventually, fleet_with_broker
from support.console import SESSION_A, SESSION_B, duplicate_across_booths

from app.kiosk.config import load_config
from app.kiosk.fleet_services import kiosk_fleet_services
from app.kiosk.fleet_sync import member_storage, template_sync_running
from app.kiosk.root import open_kiosk
from app.workflows.loader import FLASHING_WORKFLOW
from inference.pipeline import FacePipeline
from storage.protection import DIM
from sync.fleet.command_sync import BoothCommands
from sync.fleet.commands import ReviewDecision, WorkflowPush, review_topic, sign_command
from sync.hub.console import fleet_ops
from sync.hub.console.accounts import Operator, Role
from sync.hub.console.erasure_runner import ErasureRunner
from sync.hub.console.ops_worker import start_ops
from sync.hub.console.review_queue import decide
from sync.hub.console.tables import device_status, erasure_requests
from sync.hub.db import open_engine
from sync.hub.service import load_signing_key
from sync.hub.template_worker import TemplateHubThread, read_template_key, template_link
from sync.hub.templates import FleetTemplates
from sync.transport import TlsFiles

FLEET = "f"  # the fleet id the hub's sessions of support.console are stored under


@pytest.fixture()
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    with fleet_with_broker(tmp_path, FLEET) as f:
        yield f


def _hub_tls(fleet: Fleet) -> TlsFiles:
    h = fleet.folder.path / "hub"
    return TlsFiles(h / "ca.crt", h / "hub.crt", h / "hub.key")


def _status_row(engine: sa.Engine, device: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.select(device_status).where(
            device_status.c.device_id == device)).first()


def _session(db: Any, session_id: str) -> tuple[str, dict[str, Any]]:
    with db.read() as conn:
        status, data = conn.execute("SELECT status, data FROM sessions WHERE id = ?",
                                    (session_id,)).fetchone()
    return str(status), json.loads(data or "{}")


def _workflow(version: int, **changes: Any) -> str:
    doc = json.loads(FLASHING_WORKFLOW.read_text())
    doc.update(version=version, **changes)
    return json.dumps(doc)


def test_workflow_and_decision_reach_a_running_kiosk(
        fleet: Fleet, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        face_pipeline: FacePipeline) -> None:
    home = tmp_path / "booth-b"
    add_and_join(capsys, fleet, home, "booth-b", register_timeout=0)
    engine = open_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    duplicate_across_booths(engine)
    hub_dir = fleet.folder.path / "hub"
    ops = start_ops(fleet.folder.broker_url, _hub_tls(fleet),
                    load_signing_key(hub_dir / "signing.key"), FLEET, engine, "hub-test")
    kiosk = open_kiosk(load_config(home / "config.json"), home, pipeline=face_pipeline)
    try:
        kiosk.storage.verdicts().record_session_start(SESSION_B, "voter-17b", "default", 3,
                                                      time.time())
        with kiosk_fleet_services(kiosk):
            eventually("booth B's status at the hub", lambda: _status_row(
                engine, "booth-b") is not None)
            assert _status_row(engine, "booth-b").workflow_id == kiosk.workflow.workflow_id
            fleet_ops.publish_workflow(engine, "ada", FLEET, _workflow(7))
            flashing = json.loads(_workflow(7))["workflow_id"]
            eventually("the kiosk runs the published workflow", lambda: (
                kiosk.workflow.workflow_id, kiosk.workflow.version) == (flashing, 7))
            eventually("booth B reports version 7", lambda: (
                _status_row(engine, "booth-b").workflow_version == 7))
            # the hub's light check passes, the booth's complete one does not: refused there,
            # reported, and the kiosk keeps running version 7
            fleet_ops.publish_workflow(engine, "ada", FLEET, _workflow(
                8, face_liveness_score_decline_threshold=150.0))
            eventually("booth B reports the refusal", lambda: bool(
                _status_row(engine, "booth-b").workflow_error))
            row = _status_row(engine, "booth-b")
            assert "publication 2" in row.workflow_error and row.workflow_version == 7
            assert kiosk.workflow.version == 7

            decide(engine, Operator("rita", Role.REVIEWER), SESSION_B, "Declined",
                   "same voter as booth A's session")
            eventually("the booth's session is Declined", lambda: _session(
                kiosk.storage.db, SESSION_B)[0] == "Declined")
            review = _session(kiosk.storage.db, SESSION_B)[1]["review"]
            assert review["reviewer"] == "rita" and review["status"] == "Declined"
            assert review["reason"] == "same voter as booth A's session"
            eventually("booth B reports the decision applied", lambda: (
                _status_row(engine, "booth-b").review_cursor == review["decision_id"]))
        assert ops.worker.stats.decisions_sent == 1 and ops.worker.stats.workflows_sent == 2
    finally:
        ops.stop()
        kiosk.close()
        engine.dispose()


def test_erasure_asked_at_the_console_is_confirmed_by_every_booth(
        fleet: Fleet, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("booth-a", "booth-b"):
        add_and_join(capsys, fleet, tmp_path / name, name, register_timeout=0)
    engine = open_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    hub_dir = fleet.folder.path / "hub"
    templates = FleetTemplates(engine, FLEET, read_template_key(hub_dir),
                               load_signing_key(hub_dir / "signing.key"))
    worker = TemplateHubThread(template_link(fleet.folder.broker_url, hub_dir), templates,
                               ErasureRunner(engine, templates).due)
    worker.start()
    rng = np.random.default_rng(7)
    person = rng.standard_normal(DIM).astype(np.float32)  # a template, not a face: no model
    person /= np.linalg.norm(person)
    try:
        with ExitStack() as stack:
            booths = [stack.enter_context(template_sync_running(
                tmp_path / n, load_config(tmp_path / n / "config.json")))[1]
                for n in ("booth-a", "booth-b")]
            booths[0].faces.enroll("voter-17", person, session_id=SESSION_A)
            eventually("booth B merged booth A's enrolment", lambda: (
                booths[1].faces.gallery_size() == 1))
            fleet_ops.request_erasure(engine, "ada", FLEET, "voter-17", "asked by the person")
            fleet_ops.request_erasure(engine, "ada", FLEET, "nobody-known", "typo check")
            eventually("every booth confirmed the erasure", lambda: [
                e["state"] for e in fleet_ops.erasures(engine)] == [
                "nothing of this person at the hub", "confirmed by every booth"])
            done = fleet_ops.erasures(engine)[1]
            assert done["confirmed"] == ["booth-a", "booth-b"] and done["pending"] == []
            assert done["templates"] == 1 and done["erasure_seq"] is not None
            assert [b.faces.gallery_size() for b in booths] == [0, 0]
        with engine.connect() as conn:  # the person's vendor_data is not kept at the hub
            assert conn.execute(sa.select(erasure_requests.c.vendor_data)).scalars().all() == [
                None, None]
    finally:
        worker.stop()
        engine.dispose()


def test_booth_refuses_forged_misdirected_replayed_and_out_of_order_commands(
        fleet: Fleet, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "booth-b"
    add_and_join(capsys, fleet, home, "booth-b", register_timeout=0)
    hub_key = load_signing_key(fleet.folder.path / "hub" / "signing.key")
    storage, membership = member_storage(home, load_config(home / "config.json"))
    try:
        storage.verdicts().record_session_start(SESSION_B, "voter", "default", 1, time.time())
        applied: list[dict[str, Any]] = []
        commands = BoothCommands(storage.db, membership, apply_workflow=lambda d: (
            applied.append(d) or (str(d["workflow_id"]), int(d["version"]))))
        topic = review_topic(FLEET, "booth-b")

        def decision(did: int, prev: int, status: str = "Declined", device: str = "booth-b",
                     key: Ed25519PrivateKey = hub_key) -> bytes:
            return sign_command(ReviewDecision(
                fleet_id=FLEET, device_id=device, decision_id=did, previous=prev,
                session_id=SESSION_B, status=status, reviewer="rita", reason="r",
                decided_at="2026-01-01T00:00:00.000Z"), key)  # type: ignore[arg-type]

        forged = commands.handle(topic, decision(5, 0, key=Ed25519PrivateKey.generate()))
        assert forged.startswith("refused") and "not the hub's" in forged
        assert commands.handle(topic, decision(5, 0, device="booth-a")).startswith("refused")
        tampered = decision(5, 0).replace(b"Declined", b"Approved")
        assert commands.handle(topic, tampered).startswith("refused")
        assert _session(storage.db, SESSION_B)[0] == "In Progress" and commands.review_cursor == 0
        assert commands.handle(topic, decision(5, 0)).startswith("applied")
        assert commands.handle(topic, decision(5, 0)).startswith("ignored")  # a replay
        assert commands.handle(topic, decision(9, 7, "Approved")).startswith("held")
        assert _session(storage.db, SESSION_B)[0] == "Declined" and commands.review_cursor == 5
        assert commands.handle(topic, decision(7, 5, "In Review")).startswith("applied")
        assert commands.handle(topic, decision(9, 7, "Approved")).startswith("applied")
        assert _session(storage.db, SESSION_B)[0] == "Approved" and commands.review_cursor == 9
        assert commands.status_fields()["review_cursor"] == 9

        def push(publication: int, fleet_id: str = FLEET) -> bytes:
            return sign_command(WorkflowPush(
                fleet_id=fleet_id, publication=publication, workflow_id="flashing",
                workflow_version=publication, workflow=json.loads(_workflow(publication)),
                published_by="ada", published_at="2026-01-01T00:00:00.000Z"), hub_key)

        config = commands.config_topic
        assert commands.handle(config, push(3, "other")).startswith("refused")
        assert commands.handle(config, push(3)).startswith("applied")
        assert commands.handle(config, push(2)).startswith("ignored")  # never back
        assert commands.handle(config, push(3)).startswith("applied")  # a retained repeat
        assert [d["version"] for d in applied] == [3, 3]
    finally:
        storage.close()
