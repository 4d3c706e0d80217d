"""Broker URLs and the reconnect back-off (full jitter, capped, reset)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from sync.transport import Backoff, BrokerSettings, TlsFiles
from sync.transport.settings import BrokerUrlError


def test_broker_urls() -> None:
    tls = TlsFiles(Path("ca.crt"), Path("c.crt"), Path("c.key"))
    s = BrokerSettings.from_url("mqtts://broker.example:8884", "booth-a.verdicts", tls)
    assert (s.host, s.port, s.tls, s.client_id) == ("broker.example", 8884, tls,
                                                    "booth-a.verdicts")
    assert BrokerSettings.from_url("mqtt://h", "x").port == 1883
    assert BrokerSettings.from_url("mqtts://h", "x", tls).port == 8883
    assert BrokerSettings.from_url("mqtt://h:1", "x", tls).tls is None  # plain: no TLS
    for bad in ("http://h", "mqtt://", "h:1883", "mqtt://h:99999"):
        with pytest.raises(BrokerUrlError):
            BrokerSettings.from_url(bad, "x")
    with pytest.raises(BrokerUrlError, match="no CA"):
        BrokerSettings.from_url("mqtts://h", "x")


def test_backoff_grows_with_jitter_and_resets() -> None:
    state = Backoff(first=0.5, maximum=8.0).delays(random.Random(7))
    caps = [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    waits = [state.next() for _ in caps]
    assert all(0.25 <= w <= cap for w, cap in zip(waits, caps, strict=True))
    assert len(set(waits)) == len(waits)  # jittered, not lock-step
    state.reset()
    assert 0.25 <= state.next() <= 0.5
