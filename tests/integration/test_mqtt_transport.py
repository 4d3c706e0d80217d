"""sync.transport over a real mosquitto: delivery, PUBACK failure codes, will, reconnect."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.certs import FLEET_ACL, TLS_CONF, TestCA, tls_broker_files
from support.mosquitto import Mosquitto, running_broker

from sync.transport import (
    BrokerSettings,
    Connected,
    LinkEvent,
    MqttLink,
    Published,
    Received,
    Subscribed,
    TlsFiles,
    Will,
)


@pytest.fixture()
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    with running_broker(tmp_path / "mosquitto") as broker:
        yield broker


def _wait_for(link: MqttLink, want: type, pred: object = None, timeout: float = 10.0
              ) -> list[LinkEvent]:
    """Events up to and including the first `want` that satisfies `pred`."""
    seen: list[LinkEvent] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ev = link.get(0.2)
        if ev is None:
            continue
        seen.append(ev)
        if isinstance(ev, want) and (pred is None or pred(ev)):  # type: ignore[operator]
            return seen
    raise AssertionError(f"no {want.__name__} within {timeout}s; saw {seen}")


def test_publish_subscribe_will_and_final_status(mosquitto: Mosquitto) -> None:
    sub = MqttLink(BrokerSettings.from_url(mosquitto.url, "watcher"))
    booth = MqttLink(BrokerSettings.from_url(mosquitto.url, "booth"),
                     will=Will("poh/v1/f/booth/status", b"offline-will"))
    sub.start()
    booth.start()
    _wait_for(sub, Connected)
    sub.subscribe([("poh/v1/#", 1)])
    _wait_for(sub, Subscribed)
    _wait_for(booth, Connected)
    mids = {booth.publish("poh/v1/f/booth/verdict", b"v%d" % i) for i in range(50)}
    got = [e for e in _wait_for(sub, Received, lambda e: e.payload == b"v49")
           if isinstance(e, Received)]
    assert [e.payload for e in got] == [b"v%d" % i for i in range(50)]
    acked = {e.mid for e in _wait_for(booth, Published, lambda e: e.mid == max(mids))
             if isinstance(e, Published) and e.ok}
    assert mids <= acked | {e.mid for e in booth.drain_events() if isinstance(e, Published)}
    booth.abort()  # no DISCONNECT: the broker publishes the will
    _wait_for(sub, Received, lambda e: e.payload == b"offline-will")

    again = MqttLink(BrokerSettings.from_url(mosquitto.url, "booth"))
    again.start()
    _wait_for(again, Connected)
    again.stop(final=("poh/v1/f/booth/status", b"offline-clean"))
    _wait_for(sub, Received, lambda e: e.payload == b"offline-clean" and e.retain is False)
    sub.stop()


def test_unauthorised_publish_is_a_failed_puback(tmp_path: Path) -> None:
    ca = TestCA()
    with Mosquitto(tmp_path / "broker", TLS_CONF, tls_broker_files(ca, FLEET_ACL)) as broker:
        tls = TlsFiles(*ca.write_client(tmp_path / "a", "boothA"))
        link = MqttLink(BrokerSettings.from_url(f"mqtts://127.0.0.1:{broker.port}", "boothA",
                                                tls))
        link.start()
        _wait_for(link, Connected)
        mine = link.publish("poh/v1/f/boothA/verdict", b"ok")
        theirs = link.publish("poh/v1/f/boothB/verdict", b"forged")
        results = {e.mid: e for e in _wait_for(link, Published, lambda e: e.mid == theirs)
                   if isinstance(e, Published)}
        if mine not in results:
            results |= {e.mid: e for e in _wait_for(link, Published, lambda e: e.mid == mine)
                        if isinstance(e, Published)}
        assert results[mine].ok
        assert not results[theirs].ok and results[theirs].reason == "Not authorized"
        link.stop()


def test_reconnects_after_broker_restart_with_session(mosquitto: Mosquitto) -> None:
    link = MqttLink(BrokerSettings.from_url(mosquitto.url, "booth"))
    link.start()
    first = _wait_for(link, Connected)[-1]
    assert isinstance(first, Connected) and not first.session_present
    link.subscribe([("poh/v1/f/booth/ack", 1)])
    _wait_for(link, Subscribed)
    mosquitto.restart()  # SIGTERM saves the session (clean_start=False + expiry)
    again = _wait_for(link, Connected, timeout=30)[-1]
    assert isinstance(again, Connected) and again.session_present
    link.stop()
