"""The booth's evidence loop (sync.evidence_runner) over an in-memory link: frames of a due
session are published once, again only after `resend_after` without the hub's
acknowledgement or after a reconnect, never again once acknowledged, and at most `window`
sessions are in flight. The source here is a plain list (the real one is exercised end to end
in tests/integration/test_hub_evidence.py)."""

from __future__ import annotations

import time
from typing import Any

from sync.evidence_runner import EvidenceSyncLoop
from sync.fleet.evidence_wire import EvidenceAck
from sync.transport import Communicator, Connected, Disconnected, Received

TOPIC, ACK = "poh/v1/f/b/evidence", "poh/v1/f/b/cmd/evidence"


class Link(Communicator):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, bytes]] = []
        self.subscribed: list[list[tuple[str, int]]] = []

    def start(self) -> None:
        pass

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> int:
        self.sent.append((topic, payload))
        return len(self.sent)

    def subscribe(self, topics: list[tuple[str, int]]) -> None:
        self.subscribed.append(topics)

    def stop(self, final: tuple[str, bytes] | None = None) -> None:
        pass


class Source:
    topic, ack_topic = TOPIC, ACK

    def __init__(self, marked: list[str]) -> None:
        self.marked = marked

    def due(self) -> list[str]:
        return list(self.marked)

    def message(self, session_id: str) -> bytes:
        return session_id.encode()

    def acknowledged(self, payload: bytes) -> EvidenceAck | None:
        sid = payload.decode()
        if sid.startswith("forged"):
            return None
        self.marked.remove(sid)
        return EvidenceAck(sid, "00" * 32, "stored")


def _loop(marked: list[str], **kw: Any) -> tuple[EvidenceSyncLoop, Link]:
    link = Link()
    loop = EvidenceSyncLoop(link, Source(marked), poll=0.0, every=0.0, **kw)
    return loop, link


def _sessions(link: Link) -> list[str]:
    return [p.decode() for _t, p in link.sent]


def test_nothing_is_sent_before_the_connection() -> None:
    loop, link = _loop(["s1"])
    loop.step()
    assert link.sent == []


def test_sent_once_then_again_after_the_timeout_until_acknowledged() -> None:
    loop, link = _loop(["s1"], resend_after=0.2)
    link.events.put(Connected(session_present=False))
    loop.step()
    assert link.subscribed == [[(ACK, 1)]] and _sessions(link) == ["s1"]
    loop.step()
    assert _sessions(link) == ["s1"]  # within resend_after: not again
    time.sleep(0.25)
    loop.step()
    assert _sessions(link) == ["s1", "s1"]  # no acknowledgement: sent again
    link.events.put(Received(ACK, b"forged-s1", 1, False, False))
    loop.step()
    assert loop.acked == []
    link.events.put(Received(ACK, b"s1", 1, False, False))
    loop.step()
    time.sleep(0.25)
    loop.step()
    assert _sessions(link) == ["s1", "s1"] and [a.session_id for a in loop.acked] == ["s1"]


def test_a_reconnect_sends_what_was_in_flight_again() -> None:
    loop, link = _loop(["s1"], resend_after=60)
    link.events.put(Connected(session_present=False))
    loop.step()
    link.events.put(Disconnected("broker gone"))
    loop.step()
    link.events.put(Connected(session_present=False))
    loop.step()
    assert _sessions(link) == ["s1", "s1"]


def test_at_most_window_sessions_in_flight() -> None:
    loop, link = _loop([f"s{i}" for i in range(6)], resend_after=60, window=4)
    link.events.put(Connected(session_present=False))
    loop.step()
    assert _sessions(link) == ["s0", "s1", "s2", "s3"]
    link.events.put(Received(ACK, b"s0", 1, False, False))
    loop.step()
    assert _sessions(link)[4:] == ["s4"]
