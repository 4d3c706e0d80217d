"""At-least-once delivery across a hub restart, with the real CLI: a receiver that is down
(nothing listens on its port) while `poh hub serve` keeps trying; the hub is SIGKILLed and more
sessions arrive meanwhile; hub and receiver come back and every event arrives, with the event
ids that were queued, each verified as a Didit integrator verifies it. Then `poh hub webhooks
list|resend` on the CLI: a delivery refused with 400 is failed at once and listed, and a resend
brings an event again with the same event_id."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from support.hub_api import Booth, free_port, until, wait_http

from app.lab.didit_receiver import DiditReceiver
from sync.hub.db import open_engine
from sync.hub.webhooks import admin
from sync.hub.webhooks.tables import webhook_deliveries

POH = [sys.executable, "-c", "from app.launcher import main; main()"]


def _poh(*args: str) -> Any:
    res = subprocess.run([*POH, *args, "--json"], capture_output=True, text=True, timeout=120,
                         check=False)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def _serve(db: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        proc = subprocess.Popen([*POH, "hub", "serve", "--db", db, "--http",
                                 f"127.0.0.1:{port}", "--webhook-retry-max", "1"],
                                stdout=out, stderr=subprocess.STDOUT)
    wait_http(f"http://127.0.0.1:{port}/health", 60)
    return proc


def _attempted(engine: sa.Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.min(webhook_deliveries.c.attempts))
                            ).scalar_one() >= 1


def test_receiver_down_then_up_after_hub_restart(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'hub.db'}"
    engine = open_engine(db)
    receiver = DiditReceiver(port=free_port())  # not started: connections are refused
    receiver.secret = _poh("hub", "webhooks", "add", "integrator", receiver.url,
                           "--db", db)["secret"]
    booth = Booth(engine)
    for i in range(3):
        booth.store(booth.verdict(f"before-{i}"))
    port = free_port()
    hub = _serve(db, port, tmp_path / "hub.log")
    try:
        assert until(lambda: _attempted(engine), 60), "the hub never tried the deliveries"
        pending = _poh("hub", "webhooks", "list", "--state", "pending", "--db", db)
        assert len(pending) == 3 and all(p["last_error"].startswith("no connection")
                                         for p in pending)
    finally:
        hub.send_signal(signal.SIGKILL)
        hub.wait(30)
    for i in range(2):  # sessions arriving while the hub's HTTP side is down
        booth.store(booth.verdict(f"during-{i}"))
    queued = {r["event_id"] for r in admin.deliveries(engine)}
    assert len(queued) == 5
    receiver.start()
    hub = _serve(db, port, tmp_path / "hub.log")
    try:
        got = receiver.wait_for(5, 120)
        assert {g.body["event_id"] for g in got} == queued
        assert all(g.check.ok for g in got) and receiver.refused == 0
        assert {g.body["session_id"] for g in got} == {
            "before-0", "before-1", "before-2", "during-0", "during-1"}
        assert until(lambda: {r["state"] for r in admin.deliveries(engine)} == {"delivered"})
        # sent again by hand: the same event_id once more
        receiver.down()
        first = sorted(queued)[0]
        assert _poh("hub", "webhooks", "resend", first, "--endpoint", "integrator",
                    "--db", db) == {"queued": 1}
        receiver.down(False)
        again = receiver.wait_for(6, 120)
        assert again[5].body["event_id"] == first
    finally:
        hub.send_signal(signal.SIGTERM)
        assert hub.wait(60) == 0
        receiver.stop()
        engine.dispose()


def test_a_refusing_receiver_fails_at_once_and_is_listed(tmp_path: Path) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Refuse(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(400)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    db = f"sqlite:///{tmp_path / 'hub.db'}"
    engine = open_engine(db)
    _poh("hub", "webhooks", "add", "strict", f"http://127.0.0.1:{server.server_address[1]}/",
         "--db", db)
    booth = Booth(engine)
    booth.store(booth.verdict("s-1"))
    hub = _serve(db, free_port(), tmp_path / "hub.log")
    try:
        assert until(lambda: len(_poh("hub", "webhooks", "list", "--state", "failed",
                                      "--db", db)) == 1, 60)
        [failed] = _poh("hub", "webhooks", "list", "--state", "failed", "--db", db)
        assert (failed["attempts"], failed["last_status_code"]) == (1, 400)
        assert _poh("hub", "webhooks", "resend", "--all-failed", "--db", db) == {"queued": 1}
        assert until(lambda: _poh("hub", "webhooks", "list", "--state", "failed", "--db", db)
                     and _poh("hub", "webhooks", "list", "--db", db)[0]["attempts"] == 2, 60)
    finally:
        hub.send_signal(signal.SIGTERM)
        hub.wait(60)
        server.shutdown()
        server.server_close()
        engine.dispose()
