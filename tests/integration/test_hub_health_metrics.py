"""The hub's GET /health and GET /metrics on a real running hub: `poh hub run --http` as its
own process, mosquitto on the shipped TLS configuration, a booth's `poh sync run --once`
delivering signed verdicts, a webhook receiver that is down; then the broker stopped (503) and
started again (200). In-process under uvicorn: the standalone passive-liveness API on the real
models timed in the histogram (sharing the test session's compiled pipeline), and the health
of a hub without ingest and with a database that cannot be opened."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from support.hub_api import Booth, call, free_port, post_image, until, wait_http

from app.lab.benchmarks.sync_booths import append_verdicts, open_booth
from app.lab.fleet_rig import FLEET, POH, FleetRig
from inference.pipeline import FacePipeline
from sync.hub.api.context import HubContext
from sync.hub.api.keys import Scope, create_key
from sync.hub.api.serve import BackgroundServer, HttpAddress
from sync.hub.api.standalone_engine import StandaloneEngine
from sync.hub.db import open_engine
from sync.hub.webhooks import admin
from sync.transport import BrokerSettings, MqttLink
from sync.vocabulary import CaptureKind
from sync.wire.messages import BoothStatus
from sync.wire.topics import status_topic

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(base: str) -> Samples:
    with urllib.request.urlopen(base + "/metrics", timeout=30) as resp:
        assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = resp.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def health(base: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(base + "/health", timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def check(body: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [c for c in body["checks"] if c["check"] == name]
    return found


@pytest.fixture()
def rig(tmp_path: Path) -> Iterator[FleetRig]:
    r = FleetRig(tmp_path / "rig")
    r.broker.start()
    yield r
    r.close()


def start_hub(rig: FleetRig, port: int) -> subprocess.Popen[bytes]:
    log = (rig.folder / "hub.log").open("ab")
    proc = subprocess.Popen(
        [*POH, "hub", "run", "--broker", rig.url, "--hub-dir", str(rig.hub_dir), "--db",
         rig.db_url, "--http", f"127.0.0.1:{port}", "--webhook-retry-max", "1",
         # two ingest workers: the second a spawned process counting into shared memory
         "--workers", "2"],
        stdout=log, stderr=log, env=dict(os.environ), start_new_session=True)
    log.close()
    rig.hub = proc  # rig.close() kills it and its workers
    return proc


def publish_status(rig: FleetRig, device: str, backlog: int) -> None:
    """What the booth's drain publishes (retained), sent with the booth's own certificate."""
    tls = rig.folder / "booths" / f"{device}.tls"
    from sync.transport import TlsFiles

    files = TlsFiles(tls / "ca.crt", tls / f"{device}.crt", tls / f"{device}.key")
    link = MqttLink(BrokerSettings.from_url(rig.url, f"{device}-status", files))
    link.start()
    try:
        assert link.wait_connected(15)
        link.publish(status_topic(FLEET, device),
                     BoothStatus(state="online", backlog=backlog).to_bytes(), qos=1, retain=True)
        time.sleep(0.5)  # the PUBACK
    finally:
        link.stop()


def test_health_and_metrics_of_a_running_hub(rig: FleetRig) -> None:
    dead = free_port()  # a webhook receiver that never answers: every attempt is a retry
    rig.hub_cli("webhooks", "add", "down", f"http://127.0.0.1:{dead}/hook")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    start_hub(rig, port)
    wait_http(base + "/metrics", 60)
    assert until(lambda: health(base)[0] == 200, 30), health(base)
    code, body = health(base)
    assert body["status"] in ("ok", "warn")
    assert [c["check"] for c in body["checks"]] == ["database", "broker", "webhooks", "disk"]
    assert check(body, "broker") == {"check": "broker", "status": "ok",
                                     "detail": "2 ingest worker(s) connected"}, body
    before = scrape(base)
    assert value(before, "poh_hub_verdicts_ingested_total", result="stored") == 0
    assert value(before, "poh_hub_broker_connected", worker="0") == 1
    assert value(before, "poh_hub_broker_connected", worker="1") == 1
    assert value(before, "poh_hub_database_up") == 1

    # a booth delivers 12 signed verdicts through the broker, shared by the two workers
    booth = rig.add_booth("booth-1")
    lab = open_booth(booth.home, fleet=FLEET)
    try:
        append_verdicts(lab, 12, prefix="m", kind=CaptureKind.SIMULATION)
    finally:
        lab.close()
    done = subprocess.run(rig.drain_command(booth, "--once"), env=rig._env(booth.home),
                          capture_output=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr.decode()[-800:]
    after = scrape(base)
    assert value(after, "poh_hub_verdicts_ingested_total", result="stored") == 12
    assert value(after, "poh_hub_verdicts_ingested_total", result="refused") == 0
    assert value(after, "poh_hub_verdicts_stored") == 12
    sessions = {dict(k[1])["status"]: v for k, v in after.items()
                if k[0] == "poh_hub_sessions"}
    assert sum(sessions.values()) == 12, sessions

    # the booth's last reported backlog
    publish_status(rig, "booth-1", 7)
    assert until(lambda: value(scrape(base), "poh_hub_booth_outbox_backlog", fleet=FLEET,
                               device="booth-1") == 7, 30)
    assert value(scrape(base), "poh_hub_booth_online", fleet=FLEET, device="booth-1") == 1

    # one webhook event per session, none deliverable: attempts counted as retries
    assert until(lambda: (value(scrape(base), "poh_hub_webhook_attempts_total",
                                outcome="retry") or 0) >= 12, 60)
    queue = scrape(base)
    assert value(queue, "poh_hub_webhook_deliveries", state="pending") == 12
    assert value(queue, "poh_hub_webhook_attempts_total", outcome="delivered") == 0

    # the broker goes down: the ingest's link drops, /health answers 503
    rig.broker.stop()
    assert until(lambda: health(base)[0] == 503, 60), health(base)
    code, body = health(base)
    assert body["status"] == "FAIL" and check(body, "broker")["status"] == "FAIL"
    assert "not connected" in check(body, "broker")["detail"]
    assert check(body, "database")["status"] == "ok"
    down = scrape(base)
    assert value(down, "poh_hub_broker_connected", worker="0") == 0
    assert value(down, "poh_hub_broker_connected", worker="1") == 0
    # and back: the link reconnects (its back-off is at most 10 s)
    rig.broker.start()
    assert until(lambda: health(base)[0] == 200, 60), health(base)

    assert rig.hub is not None
    rig.hub.send_signal(signal.SIGTERM)
    assert rig.hub.wait(30) == 0


def test_inference_time_in_the_histogram(tmp_path: Path, face_pipeline: FacePipeline,
                                         data_dir: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    key = create_key(engine, "monitor", frozenset({Scope.STANDALONE}))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    ctx = HubContext(engine, analysis_factory=lambda: StandaloneEngine(face_pipeline))
    server = BackgroundServer(ctx, HttpAddress("127.0.0.1", port))
    server.start()
    try:
        wait_http(base + "/metrics")
        assert value(scrape(base), "poh_hub_inference_seconds_count",
                     endpoint="passive_liveness") is None  # no request, no series
        image = (data_dir / "colour" / "obama.jpg").read_bytes()
        for _ in range(2):
            code, answer = post_image(base + "/v3/passive-liveness/", key, image, "obama.jpg")
            assert code == 200, answer
        code, _ = post_image(base + "/v3/passive-liveness/", key, b"not an image")
        assert code == 400  # refused before the pipeline: not timed
        timed = scrape(base)
        count = value(timed, "poh_hub_inference_seconds_count", endpoint="passive_liveness")
        total = value(timed, "poh_hub_inference_seconds_sum", endpoint="passive_liveness")
        assert count == 2 and total is not None and 0 < total < 60
        buckets = sorted((float(dict(k[1])["le"]), v) for k, v in timed.items()
                         if k[0] == "poh_hub_inference_seconds_bucket")
        assert buckets[-1] == (float("inf"), 2.0)
        assert [v for _, v in buckets] == sorted(v for _, v in buckets)  # cumulative
    finally:
        server.stop()
        engine.dispose()


def test_health_without_ingest_and_with_a_broken_database(tmp_path: Path) -> None:
    """`poh hub serve`'s shape (no ingest): the broker is skipped; a failed webhook is a
    warning; a database that cannot be read makes it 503, and /metrics says so too."""
    engine = open_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    booth = Booth(engine)
    admin.add_endpoint(engine, "gone", "http://127.0.0.1:9/hook")
    booth.store(booth.verdict("s-1"))
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE webhook_deliveries SET state = 'failed'"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = BackgroundServer(HubContext(engine), HttpAddress("127.0.0.1", port))
    server.start()
    try:
        wait_http(base + "/metrics")
        code, body = health(base)
        assert code == 200 and body["status"] == "warn", body
        assert check(body, "broker") == {
            "check": "broker", "status": "skip",
            "detail": "no ingest in this process (poh hub serve)"}
        assert check(body, "webhooks")["status"] == "warn"
        assert "1 failed" in check(body, "webhooks")["detail"]
        samples = scrape(base)
        assert value(samples, "poh_hub_sessions", status="Approved") == 1
        assert value(samples, "poh_hub_webhook_deliveries", state="failed") == 1
        # no ingest, no dispatcher in this process: no counters that would always read 0
        assert not any(k[0].startswith(("poh_hub_verdicts_ingested", "poh_hub_webhook_attempts"))
                       for k in samples)
        (tmp_path / "hub.db").unlink()
        (tmp_path / "hub.db").mkdir()  # the file is gone and cannot be made again
        engine.dispose()
        code, body = health(base)
        assert code == 503 and check(body, "database")["status"] == "FAIL", body
        assert value(scrape(base), "poh_hub_database_up") == 0
        code, _ = call("GET", base + "/health")
        assert code == 503
    finally:
        server.stop()
        engine.dispose()
