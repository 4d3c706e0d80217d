"""Where the broker is, how to prove who we are, and how to wait between reconnects."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


class BrokerUrlError(ValueError):
    """A broker URL that cannot be used; str() is one line."""


@dataclass(frozen=True)
class TlsFiles:
    """PEM files: the fleet CA that signed the broker's certificate, and this client's pair."""

    ca: Path
    cert: Path | None = None
    key: Path | None = None


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


@dataclass(frozen=True)
class Backoff:
    """Exponential back-off with full jitter: a fleet that lost its broker does not come back
    in lock-step (each wait is uniform in [first/2, current])."""

    first: float = 0.5
    maximum: float = 30.0

    def delays(self, rng: random.Random | None = None) -> BackoffState:
        return BackoffState(self, rng or random.Random())


@dataclass
class BackoffState:
    policy: Backoff
    rng: random.Random
    current: float = field(init=False)

    def __post_init__(self) -> None:
        self.current = self.policy.first

    def next(self) -> float:
        wait = self.rng.uniform(self.policy.first / 2, self.current)
        self.current = min(self.current * 2, self.policy.maximum)
        return wait

    def reset(self) -> None:
        self.current = self.policy.first


@dataclass(frozen=True)
class BrokerSettings:
    host: str
    port: int
    client_id: str
    tls: TlsFiles | None = None
    keepalive: int = 30
    # with MQTT 5, clean_start=False keeps a session only if it has an expiry; one day covers a
    # night offline, and the durable outbox covers anything longer
    session_expiry: int = 86_400
    inflight: int = 100  # paho's window of unacknowledged QoS 1 publishes
    backoff: Backoff = Backoff()
    # PUBACK received QoS 1 messages only when the owner calls ack() (the hub: after its
    # commit), so the broker re-delivers what a crashed consumer had not stored
    manual_ack: bool = False

    @classmethod
    def from_url(cls, url: str, client_id: str, tls: TlsFiles | None = None) -> BrokerSettings:
        """mqtt://host[:1883] or mqtts://host[:8883]; mqtts needs `tls`. Other fields:
        dataclasses.replace."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise BrokerUrlError(f"broker URL {url!r}: expected mqtt://host:port or "
                                 "mqtts://host:port")
        if parts.scheme == "mqtts" and tls is None:
            raise BrokerUrlError(f"broker URL {url!r} is TLS but no CA/certificate was given")
        try:
            port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
        except ValueError as exc:
            raise BrokerUrlError(f"broker URL {url!r}: {exc}") from None
        return cls(host=parts.hostname, port=port, client_id=client_id,
                   tls=tls if parts.scheme == "mqtts" else None)
