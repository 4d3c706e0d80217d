"""Events a link puts on its queue: plain frozen records, no paho types leak out."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Connected:
    session_present: bool


@dataclass(frozen=True)
class ConnectFailed:
    reason: str  # a refused CONNACK (bad certificate, not authorised) or a socket error


@dataclass(frozen=True)
class Disconnected:
    reason: str


@dataclass(frozen=True)
class Published:
    """The broker's PUBACK (QoS 1): `ok` is False for a failure reason code (e.g. 0x87 not
    authorised), which paho reports through the same callback as a success."""

    mid: int
    ok: bool
    reason: str


@dataclass(frozen=True)
class Subscribed:
    mid: int
    granted: tuple[str, ...]  # one reason per filter: "Granted QoS 1", "Not authorized", ...
    ok: bool


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    dup: bool
    mid: int = 0  # with manual acks: pass to `ack()` once the message is safely handled


LinkEvent = Connected | ConnectFailed | Disconnected | Published | Subscribed | Received
