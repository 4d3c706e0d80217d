"""The fleet index's duplicate finding as an integrator sees it (SQLite and PostgreSQL): when
the hub puts the later of two offline enrolments In Review, the session's status changes at the
hub with one status.updated webhook, and its decision carries the match (the earlier session,
its device) inside liveness_checks; a finding made before the session's verdict arrives is
applied when the verdict is stored (one webhook, already In Review)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from support.hub_api import Booth

from sync.fleet.envelope import seal, template_b64
from sync.hub.api.decisions import load_decision
from sync.hub.db import open_engine
from sync.hub.templates import FleetTemplates
from sync.hub.webhooks import admin
from sync.hub.webhooks.tables import webhook_events

KEY = bytes(range(32))


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    url = (f"sqlite:///{tmp_path / 'hub.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres").new_database())
    eng = open_engine(url)
    admin.add_endpoint(eng, "integrator", "http://127.0.0.1:9/hook")
    yield eng
    eng.dispose()


def _person() -> np.ndarray:
    v = np.random.default_rng(5).standard_normal(192).astype(np.float32)
    return v / np.linalg.norm(v)


def _report(device: str, tid: int, enrolled: str) -> tuple[str, bytes]:
    topic = f"poh/v1/f/{device}/templates"
    return topic, seal(KEY, topic, {"type": "sync", "cursor": 0, "erasures": [], "adds": [
        {"entry_id": f"{device}:b00th:{tid}", "vendor_data": f"p-{device}",
         "session_id": f"sess-{device}", "enrolled_at": enrolled,
         "template": template_b64(_person().astype("<f4").tobytes())}]})


def _events(engine: sa.Engine, session_id: str) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return sorted((r.webhook_type, r.status) for r in conn.execute(
            sa.select(webhook_events).where(webhook_events.c.session_id == session_id)))


def test_fleet_duplicate_changes_status_with_one_webhook(engine: sa.Engine) -> None:
    a, b = Booth(engine, "booth-a"), Booth(engine, "booth-b")
    a.store(a.verdict("sess-booth-a", vendor_data="p-booth-a"))
    b.store(b.verdict("sess-booth-b", vendor_data="p-booth-b"))
    hub = FleetTemplates(engine, "f", KEY, Ed25519PrivateKey.generate())
    hub.handle(*_report("booth-a", 1, "2026-01-01"))
    hub.handle(*_report("booth-b", 1, "2026-01-02"))  # the later enrolment: In Review
    assert _events(engine, "sess-booth-b") == [("status.updated", "Approved"),
                                               ("status.updated", "In Review")]
    assert _events(engine, "sess-booth-a") == [("status.updated", "Approved")]
    with engine.connect() as conn:
        decision = load_decision(conn, "sess-booth-b")
    assert decision is not None and decision.status == "In Review"
    check = decision.liveness_checks[0]
    assert check.status == "In Review"
    [match] = check.matches
    assert (match.session_id, match.vendor_data, match.status) == (
        "sess-booth-a", "p-booth-a", "Approved")
    [warning] = check.warnings
    assert warning.risk == "POSSIBLE_DUPLICATED_FACE" and warning.log_type == "warning"
    assert warning.additional_data == {"duplicated_session_id": "sess-booth-a",
                                       "duplicated_device_id": "booth-a", "found_by": "hub"}


def test_finding_before_the_verdict_applies_on_arrival(engine: sa.Engine) -> None:
    hub = FleetTemplates(engine, "f", KEY, Ed25519PrivateKey.generate())
    hub.handle(*_report("booth-a", 1, "2026-01-01"))
    hub.handle(*_report("booth-b", 1, "2026-01-02"))
    b = Booth(engine, "booth-b")
    b.store(b.verdict("sess-booth-b", vendor_data="p-booth-b"))
    assert _events(engine, "sess-booth-b") == [("status.updated", "In Review")]
    with engine.connect() as conn:
        decision = load_decision(conn, "sess-booth-b")
    assert decision is not None and decision.status == "In Review"
    assert decision.poh.booth_status == "Approved"
    [match] = decision.liveness_checks[0].matches
    assert match.session_id == "sess-booth-a" and match.vendor_data is None  # not at the hub
