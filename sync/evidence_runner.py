"""The loop that carries a booth's review frames to the hub over a link (sync.transport).

The source (app.kiosk.evidence_sync) says which sessions' frames are due and builds each sealed
message; the loop publishes them QoS 1, at most `window` sessions at a time, and sends a
session's frames again after `resend_after` seconds without the hub's acknowledgement (also
after a reconnect, or a restart: the booth's mark on disk is the only state). The source drops
its mark only on an acknowledgement that verifies with the hub key.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

from sync.fleet.evidence_wire import EvidenceAck
from sync.transport import Communicator, Connected, Disconnected, Published, Received

log = logging.getLogger(__name__)


class EvidenceSource(Protocol):
    topic: str  # poh/v1/{fleet}/{device}/evidence
    ack_topic: str  # poh/v1/{fleet}/{device}/cmd/evidence

    def due(self) -> list[str]:
        """Sessions whose frames are to be sent now (oldest first)."""

    def message(self, session_id: str) -> bytes | None:
        """The sealed frames, or None when there is nothing to send any more."""

    def acknowledged(self, payload: bytes) -> EvidenceAck | None:
        """Verify the hub's acknowledgement and drop the mark it settles (None: refused)."""


class EvidenceSyncLoop:
    def __init__(self, link: Communicator, source: EvidenceSource, *, poll: float = 0.5,
                 every: float = 2.0, resend_after: float = 30.0, window: int = 4) -> None:
        self.link = link
        self.source = source
        self.poll = poll
        self.every = every
        self.resend_after = resend_after
        self.window = window
        self.connected = threading.Event()
        self.acked: list[EvidenceAck] = []  # what the hub answered, for status and tests
        self._sent: dict[str, float] = {}  # session -> when last published
        self._mids: dict[int, str] = {}
        self._next = 0.0

    def _send_due(self) -> None:
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self.every
        due = self.source.due()
        waiting = set(due)
        self._sent = {s: t for s, t in self._sent.items() if s in waiting}
        for sid in due:
            fresh = [t for t in self._sent.values() if now - t < self.resend_after]
            if len(fresh) >= self.window:
                break
            if now - self._sent.get(sid, float("-inf")) < self.resend_after:
                continue
            payload = self.source.message(sid)
            if payload is None:
                continue
            self._mids[self.link.publish(self.source.topic, payload, qos=1)] = sid
            self._sent[sid] = now

    def step(self) -> None:
        event = self.link.get(timeout=self.poll)
        if isinstance(event, Connected):
            self.connected.set()
            self.link.subscribe([(self.source.ack_topic, 1)])
            self._sent.clear()  # what was in flight may be lost with the session: again
            self._next = 0.0
        elif isinstance(event, Disconnected):
            self.connected.clear()
        elif isinstance(event, Published) and event.mid in self._mids:
            sid = self._mids.pop(event.mid)
            if not event.ok:
                log.warning("the broker refused the evidence of session %s: %s", sid,
                            event.reason)
        elif isinstance(event, Received) and event.topic == self.source.ack_topic:
            ack = self.source.acknowledged(event.payload)
            if ack is not None:
                self._sent.pop(ack.session_id, None)
                self.acked.append(ack)
        if self.connected.is_set():
            self._send_due()

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.step()
