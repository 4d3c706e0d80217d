"""What the drain and the hub need from a message link, whatever carries it."""

from __future__ import annotations

import queue
from abc import ABC, abstractmethod

from sync.transport.events import LinkEvent


class Communicator(ABC):
    """A publish/subscribe link whose happenings arrive as events on `events`.

    Implementations never run caller logic on their network thread: they enqueue, and the owner
    reads `events` on its own thread (so a slow database commit never stalls keep-alives)."""

    def __init__(self) -> None:
        self.events: queue.Queue[LinkEvent] = queue.Queue()

    @abstractmethod
    def start(self) -> None:
        """Connect in the background (and keep reconnecting until stop)."""

    @abstractmethod
    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> int:
        """Queue a message; returns its id, echoed by the `Published` event."""

    @abstractmethod
    def subscribe(self, topics: list[tuple[str, int]]) -> None:
        """Subscribe to (topic filter, qos) pairs; a `Subscribed` event reports the result."""

    def ack(self, mid: int, qos: int = 1) -> None:  # noqa: B027 (optional: manual acks)
        """Acknowledge a received message after handling it (links with manual acks)."""

    @abstractmethod
    def stop(self, final: tuple[str, bytes] | None = None) -> None:
        """Disconnect cleanly (publishing `final`, retained, first) and end the network thread."""

    def get(self, timeout: float | None = None) -> LinkEvent | None:
        """The next event, or None after `timeout` seconds without one."""
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return None

    def drain_events(self, limit: int = 10_000) -> list[LinkEvent]:
        """Every event queued right now (up to `limit`), without waiting."""
        out: list[LinkEvent] = []
        while len(out) < limit:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                break
        return out
