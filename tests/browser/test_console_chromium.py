"""The review console in headless Chromium (Playwright, Debian's chromium): logging in, CSRF
refusal (a POST without the token, and a form whose token was changed), the In Review queue
with a duplicate across two booths, and a reviewer's decision that produces the integrator's
webhook (verified as a Didit receiver does) and reaches the booth over a real mosquitto: its
own session changes in its encrypted database. And the review frames a booth sent for a
session In Review, shown on its page (served decrypted, one audited request each)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from integration.fleet_helpers import add_and_join, fleet_with_broker
from playwright.sync_api import Browser, Page
from support.console import (
    PASSWORD,
    SESSION_A,
    SESSION_B,
    ConsoleHub,
    console_hub,
    duplicate_across_booths,
)

from app.kiosk.config import load_config
from app.kiosk.fleet_commands import decisions_running
from app.kiosk.fleet_sync import member_storage
from sync.fleet.evidence_wire import evidence_topic, seal_frames
from sync.hub.console.ops_worker import start_ops
from sync.hub.console.tables import audit_log
from sync.hub.db import open_engine
from sync.hub.evidence import HubEvidence
from sync.hub.service import load_signing_key
from sync.hub.webhooks.tables import hub_sessions
from sync.transport import TlsFiles


@pytest.fixture()
def hub(tmp_path: Path) -> Iterator[ConsoleHub]:
    engine = open_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    with console_hub(engine) as h:
        duplicate_across_booths(engine)
        yield h
    engine.dispose()


@pytest.fixture()
def page(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context()
    p = context.new_page()
    p.set_default_timeout(30_000)
    yield p
    context.close()


def _login(page: Page, base: str, name: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/console/queue")
    assert page.url.endswith("/console/login")  # no session: sent to the login
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("#login button[type=submit]")


def _status(hub: ConsoleHub, session_id: str) -> str:
    with hub.engine.connect() as conn:
        return str(conn.execute(sa.select(hub_sessions.c.status).where(
            hub_sessions.c.session_id == session_id)).scalar_one())


def test_login_queue_and_csrf_refusal(hub: ConsoleHub, page: Page) -> None:
    _login(page, hub.base, "rita", "a wrong password")
    assert "Wrong name or password" in page.inner_text("#login-error")
    _login(page, hub.base, "rita")
    assert page.url.endswith("/console/queue")
    assert "rita (reviewer)" in page.inner_text("#who")
    rows = page.locator(f"tr.queue-row[data-session='{SESSION_B}']")
    assert rows.count() == 1
    assert "booth-b" in rows.locator(".device").inner_text()
    assert SESSION_A in rows.locator(".match").inner_text()
    assert "booth-a" in rows.locator(".match").inner_text()
    assert rows.locator(".score").inner_text() == "81.2 %"

    # a POST from the browser's own session but without the form's token is refused
    refused = page.request.post(f"{hub.base}/console/sessions/{SESSION_B}/decision",
                                form={"decision": "Approved", "reason": "no token"})
    assert refused.status == 403 and "security token" in refused.text()
    # a form whose token was changed in the page is refused too
    page.click(f"a[href='/console/sessions/{SESSION_B}']")
    page.check("input[value=Approved]")
    page.fill("textarea[name=reason]", "forged")
    page.eval_on_selector("#decide input[name=csrf]", "e => e.value = 'forged-token'")
    page.click("#decide button[type=submit]")
    assert "security token is missing or wrong" in page.inner_text("#refusal")
    assert _status(hub, SESSION_B) == "In Review"


def test_decision_reaches_the_integrator_and_the_booth(
        hub: ConsoleHub, page: Page, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    with fleet_with_broker(tmp_path, "f") as fleet:
        home = tmp_path / "booth-b"
        add_and_join(capsys, fleet, home, "booth-b", register_timeout=0)
        config = load_config(home / "config.json")
        storage, _m = member_storage(home, config)
        storage.verdicts().record_session_start(SESSION_B, "voter-17b", "default", 3,
                                                time.time())
        storage.close()
        h = fleet.folder.path / "hub"
        ops = start_ops(fleet.folder.broker_url, TlsFiles(h / "ca.crt", h / "hub.crt",
                                                          h / "hub.key"),
                        load_signing_key(h / "signing.key"), "f", hub.engine, "hub-browser")
        try:
            with decisions_running(home, config) as commands:
                assert commands is not None
                _login(page, hub.base, "rita")
                page.click(f"a[href='/console/sessions/{SESSION_B}']")
                assert "No review frames at the hub" in page.inner_text("#evidence")
                page.check("input[value=Declined]")
                page.fill("textarea[name=reason]", "the same voter as at booth A")
                page.click("#decide button[type=submit]")
                assert "is now Declined" in page.inner_text("#done")
                event_id = page.inner_text("#event-id")

                # the integrator: the decision's webhook, verified like a Didit receiver does
                got = hub.receiver.wait_for(3, 60)
                assert got[-1].check.ok and got[-1].body["event_id"] == event_id
                assert got[-1].body["status"] == "Declined"
                assert got[-1].body["session_id"] == SESSION_B
                # the booth: the decision, signed by the hub, applied to its own session
                deadline = time.monotonic() + 60
                while commands.review_cursor == 0 and time.monotonic() < deadline:
                    time.sleep(0.2)
            storage, _m = member_storage(home, config)
            try:
                with storage.db.read() as conn:
                    status = conn.execute("SELECT status FROM sessions WHERE id = ?",
                                          (SESSION_B,)).fetchone()[0]
            finally:
                storage.close()
            assert status == "Declined"
        finally:
            ops.stop()
    page.goto(f"{hub.base}/console/queue")
    assert page.locator(f"tr.queue-row[data-session='{SESSION_B}']").count() == 0
    page.goto(f"{hub.base}/console/audit")
    assert "the same voter as at booth A" in page.inner_text("#audit")


def test_review_frames_on_the_session_page(tmp_path: Path, page: Page) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    key = bytes(range(32))
    evidence = HubEvidence(engine, "f", key, Ed25519PrivateKey.generate())
    with console_hub(engine, evidence.vault) as hub:
        duplicate_across_booths(engine)  # booth-b's SESSION_B is In Review
        grid = np.indices((240, 320)).sum(axis=0) % 256
        jpeg = bytes(cv2.imencode(".jpg", np.dstack([grid] * 3).astype(np.uint8))[1].tobytes())
        topic = evidence_topic("f", "booth-b")
        evidence.handle(topic, seal_frames(key, topic, SESSION_B, [jpeg] * 12))
        _login(page, hub.base, "rita")
        page.goto(f"{hub.base}/console/sessions/{SESSION_B}")
        images = page.locator("#evidence img")
        assert images.count() == 12
        page.wait_for_function(
            "() => [...document.querySelectorAll('#evidence img')].every(i => i.complete)")
        widths = images.evaluate_all("imgs => imgs.map(i => i.naturalWidth)")
        assert widths == [320] * 12  # every frame served, decrypted, and decoded
        with engine.connect() as conn:
            views = conn.execute(sa.select(sa.func.count()).select_from(audit_log).where(
                audit_log.c.action == "view_evidence")).scalar()
        assert views == 12
    engine.dispose()
