"""The hub's HTTP API and webhooks on a real database (SQLite file and a real PostgreSQL):
uvicorn on a free port, keys made by the CLI's code, verdicts stored by the real ingest, every
webhook checked by a Didit-style receiver (all three signatures and the timestamp)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from support.hub_api import Booth, call, free_port, until, wait_http

from app.lab.didit_receiver import DiditReceiver
from sync.hub.api.context import HubContext
from sync.hub.api.keys import Scope, create_key, revoke_key
from sync.hub.api.serve import BackgroundServer, HttpAddress
from sync.hub.db import open_engine
from sync.hub.webhooks import admin
from sync.hub.webhooks.dispatcher import Dispatcher, DispatcherThread, RetryPolicy
from sync.hub.webhooks.events import StatusChangeError, record_status_change
from sync.reports import FaceMatch
from sync.vocabulary import SessionStatus, WarningCode


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    url = (f"sqlite:///{tmp_path / 'hub.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres").new_database())
    eng = open_engine(url)
    yield eng
    eng.dispose()


class Hub:
    def __init__(self, engine: sa.Engine, receiver: DiditReceiver) -> None:
        self.engine = engine
        admin_secret = admin.add_endpoint(engine, "integrator", receiver.url)
        receiver.secret = admin_secret
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.server = BackgroundServer(HubContext(engine), HttpAddress("127.0.0.1", port))
        self.dispatcher = DispatcherThread(Dispatcher(engine, RetryPolicy(first_s=0.2,
                                                                          max_s=1.0)))
        self.reader = create_key(engine, "reader", frozenset({Scope.DECISIONS}))
        self.admin = create_key(engine, "ops", frozenset({Scope.ADMIN}))

    def get(self, path: str, key: str | None = None) -> tuple[int, Any]:
        return call("GET", self.base + path, self.reader if key is None else key)


@pytest.fixture()
def hub(engine: sa.Engine) -> Iterator[tuple[Hub, DiditReceiver]]:
    receiver = DiditReceiver().start()
    h = Hub(engine, receiver)
    h.server.start()
    h.dispatcher.start()
    wait_http(h.base + "/health")
    yield h, receiver
    h.dispatcher.stop()
    h.server.stop()
    receiver.stop()


def test_verdict_webhook_and_decision_in_didit_shape(hub: tuple[Hub, DiditReceiver]) -> None:
    h, receiver = hub
    booth = Booth(h.engine)
    booth.store(booth.verdict("s-1", vendor_data="José Müller 日本"))
    [got] = receiver.wait_for(1, 30)
    env = got.body
    assert got.check.ok  # X-Signature, X-Signature-V2, X-Signature-Simple, X-Timestamp
    assert b"Jos\\u00e9" in got.raw  # the raw body escapes non-ASCII: X-Signature != V2
    assert got.headers["X-Signature"] != got.headers["X-Signature-V2"]
    assert set(env) == {"event_id", "webhook_type", "timestamp", "created_at", "session_id",
                        "status", "workflow_id", "workflow_version", "vendor_data",
                        "metadata", "decision"}
    assert (env["webhook_type"], env["status"], env["session_id"]) == (
        "status.updated", "Approved", "s-1")
    assert env["vendor_data"] == "José Müller 日本"
    code, decision = h.get("/v3/session/s-1/decision/")
    assert code == 200
    assert decision == env["decision"]
    assert decision["status"] == "Approved" and decision["session_number"] >= 1
    [check] = decision["liveness_checks"]
    assert check["node_id"] and check["method"] == "PASSIVE" and check["score"] == 97.0
    assert check["age_estimation"] == 34.0 and check["warnings"] == []
    assert check["reference_image"] is None and check["video_url"] is None
    assert decision["id_verifications"] == [] and decision["reviews"] == []
    assert decision["poh"]["device_id"] == "booth-a"


def test_duplicate_review_and_reviewer_decision(hub: tuple[Hub, DiditReceiver]) -> None:
    h, receiver = hub
    booth = Booth(h.engine)
    booth.store(booth.verdict("first", vendor_data="p-1"))
    booth.store(booth.verdict(
        "second", SessionStatus.IN_REVIEW, vendor_data="p-2",
        matches=(FaceMatch(vendor_data="p-1", similarity_score=0.84, session_id="first"),),
        warnings=(WarningCode.POSSIBLE_DUPLICATED_FACE,)))
    receiver.wait_for(2, 30)
    _, decision = h.get("/v3/session/second/decision/")
    [check] = decision["liveness_checks"]
    assert check["status"] == "In Review"
    [match] = check["matches"]
    assert match["session_id"] == "first" and match["similarity_percentage"] == 84.0
    assert match["vendor_data"] == "p-1" and match["status"] == "Approved"
    [warning] = check["warnings"]
    assert warning["risk"] == "POSSIBLE_DUPLICATED_FACE" and warning["log_type"] == "warning"
    assert set(warning) == {"feature", "risk", "additional_data", "log_type",
                            "short_description", "long_description", "node_id"}
    event = record_status_change(h.engine, "second", SessionStatus.DECLINED,
                                 actor="rita", reason="same person as p-1")
    got = receiver.wait_for(3, 30)
    assert got[2].body["event_id"] == event and got[2].body["status"] == "Declined"
    _, decision = h.get("/v3/session/second/decision/")
    assert decision["status"] == "Declined"
    assert decision["reviews"] == [{"user": "rita", "new_status": "Declined",
                                    "comment": "same person as p-1",
                                    "created_at": decision["reviews"][0]["created_at"]}]
    assert decision["liveness_checks"][0]["warnings"][0]["log_type"] == "error"
    with pytest.raises(StatusChangeError):
        record_status_change(h.engine, "second", SessionStatus.DECLINED, actor="rita")
    with pytest.raises(StatusChangeError):
        record_status_change(h.engine, "nope", SessionStatus.APPROVED, actor="rita")


def test_a_decision_on_a_session_decided_meanwhile_is_refused_and_audit_is_atomic(
        hub: tuple[Hub, DiditReceiver]) -> None:
    h, _ = hub
    booth = Booth(h.engine)
    booth.store(booth.verdict(
        "contested", SessionStatus.IN_REVIEW, vendor_data="p-9",
        warnings=(WarningCode.POSSIBLE_DUPLICATED_FACE,)))

    def failing_audit(_conn: Any, _event: str | None) -> None:
        raise RuntimeError("audit write failed")

    # the audit row belongs to the change: when it cannot be written, nothing changes
    with pytest.raises(RuntimeError):
        record_status_change(h.engine, "contested", SessionStatus.APPROVED, actor="rita",
                             reason="ok", expect=SessionStatus.IN_REVIEW, also=failing_audit)
    _, decision = h.get("/v3/session/contested/decision/")
    assert decision["status"] == "In Review" and decision["reviews"] == []
    seen: list[str | None] = []
    record_status_change(h.engine, "contested", SessionStatus.APPROVED, actor="rita",
                         reason="ok", expect=SessionStatus.IN_REVIEW,
                         also=lambda _c, ev: seen.append(ev))
    assert len(seen) == 1
    # a second reviewer who still saw it In Review is refused, not the silent winner
    with pytest.raises(StatusChangeError, match="not In Review"):
        record_status_change(h.engine, "contested", SessionStatus.DECLINED, actor="sam",
                             reason="no", expect=SessionStatus.IN_REVIEW)
    _, decision = h.get("/v3/session/contested/decision/")
    assert decision["status"] == "Approved" and len(decision["reviews"]) == 1


def test_list_sessions_by_status_and_time_with_pages(hub: tuple[Hub, DiditReceiver]) -> None:
    h, _ = hub
    booth = Booth(h.engine)
    for i in range(5):
        booth.store(booth.verdict(f"a-{i}"))
    booth.store(booth.verdict("d-0", SessionStatus.DECLINED, score=3.0,
                              warnings=(WarningCode.LIVENESS_FACE_ATTACK,)))
    code, page = h.get("/v3/sessions/?limit=2")
    assert code == 200 and page["count"] == 6 and len(page["results"]) == 2
    assert page["previous"] is None and "offset=2" in page["next"]
    seen = [r["session_id"] for r in page["results"]]
    while page["next"]:
        code, page = h.get(page["next"])
        seen += [r["session_id"] for r in page["results"]]
    assert sorted(seen) == ["a-0", "a-1", "a-2", "a-3", "a-4", "d-0"]
    _, declined = h.get("/v3/sessions/?status=Declined")
    assert [r["session_id"] for r in declined["results"]] == ["d-0"]
    _, none = h.get("/v3/sessions/?created_after=2999-01-01T00:00:00Z")
    assert none["count"] == 0 and none["results"] == []
    _, dec = h.get("/v3/session/d-0/decision/")
    [w] = dec["liveness_checks"][0]["warnings"]
    assert (w["risk"], w["log_type"], dec["liveness_checks"][0]["status"]) == (
        "LIVENESS_FACE_ATTACK", "error", "Declined")


def test_errors_have_didit_bodies_and_codes(hub: tuple[Hub, DiditReceiver]) -> None:
    h, _ = hub
    assert h.get("/v3/session/x/decision/", key="") == (
        403, {"detail": "Authentication credentials were not provided.",
              "code": "not_authenticated"})
    code, body = h.get("/v3/session/x/decision/", key="poh_000000000000_" + "A" * 43)
    assert (code, body["code"]) == (401, "authentication_failed")
    code, body = h.get("/v3/session/nope/decision/")
    assert (code, body) == (404, {"detail": "Not found.", "code": "not_found"})
    code, body = h.get("/v3/sessions/?status=Maybe")
    assert code == 400 and body["code"] == "invalid_request" and "status" in body["errors"]
    code, body = h.get("/v3/sessions/?created_after=2026-01-01T00:00:00")
    assert code == 400 and "time zone" in body["detail"]
    code, body = h.get("/hub/v1/webhook-deliveries/")  # a reader key is not an admin key
    assert (code, body["code"]) == (403, "permission_denied")
    code, body = call("POST", h.base + "/v3/passive-liveness/", h.reader)
    assert (code, body["code"]) == (403, "permission_denied")
    revoke_key(h.engine, "reader")
    code, body = h.get("/v3/sessions/")
    assert code == 401
    code, body = h.get("/hub/v1/webhook-deliveries/?state=delivered", key=h.admin)
    assert code == 200


def test_receiver_down_gets_everything_after_with_same_event_ids(
        hub: tuple[Hub, DiditReceiver]) -> None:
    h, receiver = hub
    receiver.down()
    booth = Booth(h.engine)
    for i in range(3):
        booth.store(booth.verdict(f"r-{i}"))
    done = threading.Event()
    while not done.wait(0.2):  # the dispatcher keeps trying: 503 is retried
        if receiver.answered_down >= 6:
            done.set()
    queued = {r["event_id"] for r in admin.deliveries(h.engine, "pending")}
    assert len(queued) == 3
    receiver.down(False)
    got = receiver.wait_for(3, 60)
    assert {g.body["event_id"] for g in got} == queued
    assert all(g.check.ok for g in got)
    # the dispatcher records each 200 just after the receiver kept it
    assert until(lambda: {r["state"] for r in admin.deliveries(h.engine)} == {"delivered"})
