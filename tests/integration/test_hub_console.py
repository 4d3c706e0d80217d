"""The review console, server side, over HTTP against the real app (uvicorn on a free port) on a
real database: login and logout, CSRF refusals, roles, the lock-out, the In Review queue with a
duplicate across two booths, a decision that changes the session, queues the integrator's
webhook (checked by a Didit-style receiver) and is in the audit log; admin fleet operations;
`poh hub operator|devices|workflow|erasure`. The decision flow runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from support.console import (
    PASSWORD,
    SESSION_A,
    SESSION_B,
    Browserless,
    console_hub,
    duplicate_across_booths,
    write_password,
)

from app.workflows.loader import FLASHING_WORKFLOW
from sync.hub.cli import run_cli
from sync.hub.console import audit, fleet_ops
from sync.hub.console.tables import workflow_publications
from sync.hub.db import open_engine
from sync.hub.schema import devices
from sync.hub.webhooks.tables import hub_sessions, webhook_events


@pytest.fixture()
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    eng = open_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    yield eng
    eng.dispose()


def _status(engine: sa.Engine, session_id: str) -> str:
    with engine.connect() as conn:
        return str(conn.execute(sa.select(hub_sessions.c.status).where(
            hub_sessions.c.session_id == session_id)).scalar_one())


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_login_queue_csrf_roles_decision_webhook_and_audit(
        backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = (f"sqlite:///{tmp_path / 'hub.db'}" if backend == "sqlite"
           else request.getfixturevalue("postgres").new_database())
    engine = open_engine(url)
    with console_hub(engine) as hub:
        duplicate_across_booths(engine)
        web = Browserless(hub.base)
        assert web.get("/console/queue")[:3:2] == (303, "/console/login")
        # the login form itself carries a token: a POST without it is refused
        assert web.post("/console/login", {"name": "rita", "password": PASSWORD})[0] == 403
        assert web.login("rita", "not the password") == 401
        assert web.login("rita") == 303
        cookie = next(c for c in web.jar if c.name == "poh_console")
        assert cookie.has_nonstandard_attr("HttpOnly") and cookie.path == "/console"

        status, page, _ = web.get("/console/queue")
        assert status == 200 and SESSION_B in page and "booth-b" in page
        assert SESSION_A in page and "booth-a" in page and "81.2 %" in page
        _, detail, _ = web.get(f"/console/sessions/{SESSION_B}")
        assert "No review frames at the hub" in detail

        token = web.csrf(f"/console/sessions/{SESSION_B}")
        decision = {"decision": "Declined", "reason": "same voter as booth A's session"}
        for bad in ({}, {"csrf": "forged"}, {"csrf": token[:-2]}):
            code, text, _ = web.post(f"/console/sessions/{SESSION_B}/decision",
                                     {**decision, **bad})
            assert code == 403 and "security token" in text
        assert _status(engine, SESSION_B) == "In Review"
        # a reviewer may not change the fleet
        assert web.post("/console/devices/f/booth-a/revoke",
                        {"reason": "stolen", "csrf": token})[0] == 403
        assert web.post("/console/workflows", {"fleet": "f", "document": "{}",
                                               "csrf": token})[0] == 403
        with engine.connect() as conn:
            assert conn.execute(sa.select(devices.c.revoked_at).where(
                devices.c.device_id == "booth-a")).scalar() is None
        # a decision without a reason is refused too
        assert web.post(f"/console/sessions/{SESSION_B}/decision",
                        {"decision": "Declined", "reason": " ", "csrf": token})[0] == 400

        code, text, _ = web.post(f"/console/sessions/{SESSION_B}/decision",
                                 {**decision, "csrf": token})
        assert code == 200 and "is now Declined" in text
        assert _status(engine, SESSION_B) == "Declined"
        assert SESSION_B not in web.get("/console/queue")[1]
        # the integrator's webhook: two verdicts stored, then the reviewer's decision
        got = hub.receiver.wait_for(3, 60)
        assert len(got) == 3
        last = got[-1].body
        assert last["webhook_type"] == "status.updated" and last["status"] == "Declined"
        assert last["session_id"] == SESSION_B
        assert last["decision"]["reviews"][0]["user"] == "rita"
        assert last["decision"]["reviews"][0]["comment"] == decision["reason"]
        assert all(r.check.ok for r in got)
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(webhook_events).where(
                webhook_events.c.session_id == SESSION_B,
                webhook_events.c.status == "Declined")).scalar_one() == 1

        entries = audit.entries(engine)
        decided = [e for e in entries if e["action"] == "decide"]
        assert [(e["actor"], e["target"], e["reason"]) for e in decided] == [
            ("rita", SESSION_B, decision["reason"])]
        assert {"login", "login_refused"} <= {e["action"] for e in entries}

        assert web.post("/console/logout", {"csrf": token})[0] == 303
        assert web.get("/console/queue")[0] == 303  # the session is gone at the hub
    engine.dispose()


def test_lock_out_after_wrong_passwords_and_operator_cli(
        engine: sa.Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(engine.url)
    pw = write_password(tmp_path)
    assert run_cli(["operator", "add", "olga", "--role", "reviewer", "--password-file",
                    str(pw), "--db", db, "--by", "setup"]) == 0
    assert run_cli(["operator", "add", "olga", "--role", "admin", "--password-file", str(pw),
                    "--db", db]) == 2  # exists already
    (tmp_path / "short").mkdir()
    short = write_password(tmp_path / "short", "short")
    assert run_cli(["operator", "add", "bob", "--role", "reviewer", "--password-file",
                    str(short), "--db", db]) == 2
    assert run_cli(["operator", "add", "bob", "--role", "boss", "--password-file", str(pw),
                    "--db", db]) == 2
    assert "at least 10 characters" in capsys.readouterr().err
    with console_hub(engine) as hub:
        web = Browserless(hub.base)
        for _ in range(4):
            assert web.login("olga", "wrong password!") == 401
        assert web.login("olga", "wrong password!") == 401  # the fifth locks the account
        assert web.login("olga") == 401  # the right password, but locked
        assert Browserless(hub.base).login("olga") == 401  # from another browser as well
        # an admin sets a new password, which lifts the lock
        assert run_cli(["operator", "password", "olga", "--password-file", str(pw),
                        "--db", db, "--by", "ada"]) == 0
        assert Browserless(hub.base).login("olga") == 303
    capsys.readouterr()
    assert run_cli(["operator", "log", "--db", db, "--json"]) == 0
    log = json.loads(capsys.readouterr().out)
    actions = [e["action"] for e in log]
    assert actions.count("login_refused") == 7 and "operator_add" in actions
    assert any(e["action"] == "login_refused" and e["detail"] == "locked" for e in log)
    assert run_cli(["operator", "list", "--db", db, "--json"]) == 0
    assert [o["name"] for o in json.loads(capsys.readouterr().out)] == ["ada", "olga", "rita"]


def test_admin_fleet_operations_pages_and_cli(engine: sa.Engine, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    db = str(engine.url)
    with console_hub(engine) as hub:
        duplicate_across_booths(engine)
        web = Browserless(hub.base)
        assert web.login("ada") == 303
        token = web.csrf("/console/devices")
        doc = json.loads(FLASHING_WORKFLOW.read_text())
        doc["version"] = 9
        code, text, _ = web.post("/console/workflows", {"fleet": "f", "csrf": token,
                                                        "document": json.dumps(doc)})
        assert code == 200 and "publication 1 queued" in text
        # other content under the same version is refused; so is a document that is no
        # Proof-of-Human workflow
        doc["workflow_label"] = "changed"
        assert web.post("/console/workflows", {"fleet": "f", "csrf": token,
                                               "document": json.dumps(doc)})[0] == 400
        assert web.post("/console/workflows", {"fleet": "f", "csrf": token,
                                               "document": '{"workflow_id": "x"}'})[0] == 400
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(
                workflow_publications)).scalar_one() == 1
        code, text, _ = web.post("/console/devices/f/booth-a/revoke",
                                 {"reason": "reported stolen", "csrf": token})
        assert code == 200 and "revoked" in text
        devices_page = web.get("/console/devices")[1]
        assert "revoked" in devices_page and "reported stolen" in devices_page
        code, text, _ = web.post("/console/erasures", {"fleet": "f", "vendor_data": "voter-17",
                                                       "reason": "asked by the person",
                                                       "csrf": token})
        assert code == 200 and "Erasure request 1 queued" in text
        page = web.get("/console/erasures")[1]
        assert "waiting for the hub&#39;s template worker" in page and "voter-17" not in page
        # a webhook delivery can be sent again (failed ones are listed first), same event id
        assert len(hub.receiver.wait_for(2, 60)) == 2
        event = fleet_ops_event(engine)
        code, text, _ = web.post(f"/console/webhooks/{event}/resend", {"csrf": token})
        assert code == 200 and event in text
    actions = [(e["actor"], e["action"]) for e in audit.entries(engine)]
    for act in ("publish_workflow", "revoke", "erase", "webhook_resend"):
        assert ("ada", act) in actions
    # the same operations from the command line
    wf = tmp_path / "wf.json"
    doc["version"], doc["workflow_label"] = 10, "v10"
    wf.write_text(json.dumps(doc))
    assert run_cli(["workflow", "publish", str(wf), "--fleet", "f", "--db", db]) == 0
    assert run_cli(["workflow", "publish", str(tmp_path / "missing.json"), "--fleet", "f",
                    "--db", db]) == 2
    assert run_cli(["erasure", "request", "--vendor-data", "voter-17b", "--fleet", "f",
                    "--reason", "court order", "--db", db]) == 0
    capsys.readouterr()
    assert run_cli(["devices", "--db", db, "--json"]) == 0
    listed = {d["device_id"]: d for d in json.loads(capsys.readouterr().out)}
    assert listed["booth-a"]["state"] == "revoked" and listed["booth-b"]["state"] == "unknown"
    assert listed["booth-b"]["verdicts"] == 1 and listed["booth-b"]["last_seen"] is not None
    assert run_cli(["erasure", "list", "--db", db, "--json"]) == 0
    assert [e["id"] for e in json.loads(capsys.readouterr().out)] == [2, 1]
    assert [w["workflow_version"] for w in fleet_ops.workflows(engine)] == [10, 9]


def fleet_ops_event(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(sa.select(webhook_events.c.event_id).limit(1)).scalar_one())
