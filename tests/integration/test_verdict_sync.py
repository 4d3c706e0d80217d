"""Booth drain and hub over a real mosquitto (TLS, client certificates, the fleet ACL) and a
real hub database: delivery, refusals, broker restart, a re-send after a killed drain."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from support.fleet import HubThread, TestFleet

from app.lab.benchmarks.sync_booths import LabBooth, append_verdicts, open_booth
from sync.drain import DrainSettings, OutboxDrain
from sync.drain.booth import DrainThread, make_drain, run_drain
from sync.hub import registry
from sync.hub.report import audit
from sync.hub.schema import verdicts
from sync.transport import Backoff, Connected, Received, Subscribed
from sync.verdict import verify_verdict_bytes
from sync.wire.messages import Registration, parse_status, verify_ack
from sync.wire.topics import register_topic, status_topic

REPO = Path(__file__).resolve().parents[2]
FAST = DrainSettings(window=64, ack_timeout=5.0,
                     refusal_backoff=Backoff(first=0.2, maximum=1.0), status_every=0.2)


def wait_for(cond: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture()
def fleet(tmp_path: Path) -> Iterator[TestFleet]:
    f = TestFleet(tmp_path / "fleet")
    with f.broker:
        yield f


@pytest.fixture()
def booth(tmp_path: Path) -> Iterator[LabBooth]:
    b = open_booth(tmp_path / "booth", device_id="booth-a", fleet="f")
    yield b
    b.close()


def _drain(fleet: TestFleet, booth: LabBooth, device_id: str | None = None,
           settings: DrainSettings = FAST) -> OutboxDrain:
    device = device_id or booth.device_id
    return make_drain(booth.store, broker_url=fleet.url, fleet="f", device_id=device,
                      hub_key=fleet.hub_key.public_key(), tls=fleet.tls(booth.device_id),
                      settings=settings)


def _until_empty(drain: OutboxDrain, limit: float = 120.0) -> None:
    stop = threading.Event()
    timer = threading.Timer(limit, stop.set)
    timer.start()
    try:
        run_drain(drain, stop, until_empty=True)
    finally:
        timer.cancel()
    assert not stop.is_set(), "the drain did not empty the outbox in time"


def _hub_count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(verdicts)).scalar_one())


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_drain_to_hub_end_to_end(fleet: TestFleet, booth: LabBooth, tmp_path: Path, db: str,
                                 request: pytest.FixtureRequest) -> None:
    url = (f"sqlite:///{tmp_path / 'hub.db'}" if db == "sqlite"
           else request.getfixturevalue("postgres").new_database())
    append_verdicts(booth, 40)
    watcher = fleet.link("hub", "watcher")
    watcher.start()
    with HubThread(fleet, url) as hub:
        # registration as `poh fleet join` sends it: retained, on the device's own topic
        reg = Registration(device_id=booth.device_id, public_jwk=booth.key.public_jwk())
        link = fleet.link(booth.device_id, f"{booth.device_id}.register")
        link.start()
        link.publish(register_topic("f", booth.device_id), reg.to_bytes(), retain=True)
        wait_for(lambda: hub.stats.registrations == 1, "the registration")
        link.stop()
        drain = _drain(fleet, booth)
        _until_empty(drain)
        assert drain.stats.stored == 40 and booth.store.backlog().pending == 0
        assert _hub_count(hub.engine) == 40
        assert audit(hub.engine).verified == 40 and not audit(hub.engine).gaps
    for seq in range(1, 41):  # each verdict keeps the hub's signed ack for its exact bytes
        raw = booth.store.verdict_bytes(seq)
        ack_raw = booth.store.hub_ack(seq)
        assert raw is not None and ack_raw is not None
        ack = verify_ack(ack_raw, fleet.hub_key.public_key())
        assert ack.sequence == seq and ack.verdict_sha256 == hashlib.sha256(raw).hexdigest()
    # the retained status says offline, backlog 0, after the clean disconnect
    wait_for(lambda: isinstance(watcher.get(1), Connected), "the watcher")
    watcher.subscribe([(status_topic("f", booth.device_id), 1)])
    got: list[Received] = []
    wait_for(lambda: bool(got.extend(e for e in [watcher.get(0.2)] if isinstance(e, Received))
                          or got), "the retained status")
    status = parse_status(got[0].payload)
    assert got[0].retain and status.state == "offline" and status.backlog == 0
    assert status.last_sync is not None
    watcher.stop()


def test_refused_rows_stay_with_reason_then_go(fleet: TestFleet, booth: LabBooth,
                                               tmp_path: Path) -> None:
    append_verdicts(booth, 5)
    with HubThread(fleet, f"sqlite:///{tmp_path / 'hub.db'}") as hub:
        thread = DrainThread(_drain(fleet, booth))
        thread.start()
        wait_for(lambda: booth.store.backlog().refused == 5, "five refusals")
        backlog = booth.store.backlog()
        assert backlog.pending == 5 and "unknown device" in str(backlog.last_refusal)
        assert _hub_count(hub.engine) == 0
        registry.register_device(hub.engine, "f", booth.device_id, booth.key.public_jwk())
        wait_for(lambda: booth.store.backlog().pending == 0, "delivery after registration")
        thread.stop()
        assert _hub_count(hub.engine) == 5
    assert booth.store.backlog().refused == 0


def test_unauthorised_topic_keeps_the_verdict(fleet: TestFleet, booth: LabBooth,
                                              tmp_path: Path) -> None:
    append_verdicts(booth, 2)
    with HubThread(fleet, f"sqlite:///{tmp_path / 'hub.db'}") as hub:
        registry.register_device(hub.engine, "f", "booth-b", booth.key.public_jwk())
        thread = DrainThread(_drain(fleet, booth, device_id="booth-b"))  # A's cert, B's topic
        thread.start()
        wait_for(lambda: booth.store.backlog().refused == 2, "the broker's refusal")
        thread.stop()
        assert "Not authorized" in str(booth.store.backlog().last_refusal)
        assert booth.store.backlog().pending == 2 and _hub_count(hub.engine) == 0


def test_broker_restart_mid_drain_loses_nothing(fleet: TestFleet, booth: LabBooth,
                                                tmp_path: Path) -> None:
    append_verdicts(booth, 300)
    with HubThread(fleet, f"sqlite:///{tmp_path / 'hub.db'}") as hub:
        registry.register_device(hub.engine, "f", booth.device_id, booth.key.public_jwk())
        thread = DrainThread(_drain(fleet, booth))
        thread.start()
        wait_for(lambda: _hub_count(hub.engine) >= 30, "the first deliveries")
        fleet.broker.kill()  # no save: whatever the broker held in memory is gone
        fleet.broker.start()
        wait_for(lambda: booth.store.backlog().pending == 0, "the outbox to empty", 120)
        thread.stop()
        assert _hub_count(hub.engine) == 300
        result = audit(hub.engine)
        assert result.verified == 300 and not result.gaps


def _sync_process(fleet: TestFleet, booth: LabBooth, *extra: str) -> subprocess.Popen[bytes]:
    tls = fleet.tls(booth.device_id)
    cmd = [sys.executable, "-c", "from app.launcher import main; main()", "sync", "run",
           "--broker", fleet.url, "--fleet", "f", "--ca", str(tls.ca), "--cert", str(tls.cert),
           "--key", str(tls.key), "--hub-key", str(fleet.hub_jwk), "--ack-timeout", "5", *extra]
    env = os.environ | {"POH_HOME": str(booth.home)}
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def test_killed_drain_resends_and_the_hub_stores_once(fleet: TestFleet, booth: LabBooth,
                                                      tmp_path: Path) -> None:
    n = 20
    append_verdicts(booth, n)
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    with HubThread(fleet, url) as hub:  # the hub's session and shared subscription exist
        wait_for(lambda: hub.link.connected, "the hub")
        registry.register_device(hub.engine, "f", booth.device_id, booth.key.public_jwk())
    booth.close()  # the drain processes own the database now
    watcher = fleet.link("hub", "watcher")
    watcher.start()
    wait_for(lambda: watcher.connected, "the watcher")
    seen: list[bytes] = []
    watcher.subscribe([("poh/v1/f/+/verdict", 1)])
    wait_for(lambda: isinstance(watcher.get(0.2), Subscribed), "the subscription")

    def count() -> int:
        seen.extend(e.payload for e in watcher.drain_events() if isinstance(e, Received))
        return len(seen)

    first = _sync_process(fleet, booth)  # publishes all; the hub is down, no ack comes
    wait_for(lambda: count() >= n, "the first drain's publishes")
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    second = _sync_process(fleet, booth, "--once", "--timeout", "120")
    wait_for(lambda: count() >= 2 * n, "the restarted drain's re-sends")
    with HubThread(fleet, url) as hub:  # same client id: its queued session is delivered
        out, err = second.communicate(timeout=150)
        assert second.returncode == 0, err.decode()[-2000:]
        assert _hub_count(hub.engine) == n
        assert hub.stats.stored == n and hub.stats.duplicates >= n
    watcher.stop()
    again = open_booth(booth.home, fleet="f")
    try:
        assert again.store.backlog().pending == 0
        for seq in range(1, n + 1):
            raw = again.store.verdict_bytes(seq)
            assert raw is not None
            verify_verdict_bytes(raw, again.key.public)
    finally:
        again.close()


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_two_hub_workers_share_and_store_each_verdict_once(
        fleet: TestFleet, booth: LabBooth, tmp_path: Path, db: str,
        request: pytest.FixtureRequest) -> None:
    """Each verdict published twice at once: the shared subscription spreads the copies over
    two workers, which race on one database; every verdict is stored once."""
    url = (f"sqlite:///{tmp_path / 'hub.db'}" if db == "sqlite"
           else request.getfixturevalue("postgres").new_database())
    append_verdicts(booth, 100)
    items = booth.store.outbox(limit=1000)
    with HubThread(fleet, url, 0) as one, HubThread(fleet, url, 1) as two:
        link = fleet.link(booth.device_id, "raw-sender")
        link.start()
        wait_for(lambda: link.connected, "the sender")
        reg = Registration(device_id=booth.device_id, public_jwk=booth.key.public_jwk())
        link.publish(register_topic("f", booth.device_id), reg.to_bytes(), retain=True)
        # both workers read the retained registration: their subscriptions (the shared one
        # came in the same SUBSCRIBE) are in place
        wait_for(lambda: one.stats.registrations >= 1 and two.stats.registrations >= 1,
                 "both workers subscribed")
        for item in items:
            link.publish(f"poh/v1/f/{booth.device_id}/verdict", item.payload)
            link.publish(f"poh/v1/f/{booth.device_id}/verdict", item.payload)
        done = lambda: (one.stats.stored + two.stats.stored  # noqa: E731
                        + one.stats.duplicates + two.stats.duplicates) == 200
        wait_for(done, "both copies of every verdict judged")
        link.stop()
        assert one.stats.stored + two.stats.stored == 100
        assert one.stats.duplicates + two.stats.duplicates == 100
        # the load was shared (mosquitto alternates: often one worker stores, the other
        # answers the copies as duplicates, racing on the same database)
        assert one.stats.stored + one.stats.duplicates > 0
        assert two.stats.stored + two.stats.duplicates > 0
        assert _hub_count(one.engine) == 100
