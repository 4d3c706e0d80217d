"""Drain the durable outbox to the hub, in sequence order, with a bounded in-flight window.

Why the hub's ack and not the broker's PUBACK: a PUBACK only says the broker took the message;
mosquitto may still lose it (autosave interval, `max_queued_messages`), and paho's session is in
memory only. So a verdict stays in the SQLCipher outbox until a hub ack, signed with the hub's
key, says "stored" or "duplicate" for its idempotency key and its exact bytes; the ack is kept
with the verdict. Anything published and not acknowledged within `ack_timeout` is published
again (the hub answers a re-send with "duplicate"), so a broker restart, a hub crash or a drain
restart costs re-sends, never verdicts. A "refused" ack keeps the row, records the reason for the
operator, holds that verdict back and pauses the drain (both with growing back-off).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from storage.errors import DatabaseCorruptError, StorageError
from sync.transport import (
    Backoff,
    Communicator,
    Connected,
    ConnectFailed,
    Disconnected,
    LinkEvent,
    Published,
    Received,
    Subscribed,
)
from sync.verdict_store import Delivery, OutboxItem, VerdictStore
from sync.wire.messages import BoothStatus, WireError, verify_ack
from sync.wire.topics import ack_topic, status_topic, verdict_topic

log = logging.getLogger(__name__)
MAX_LATENCIES = 1_000_000


@dataclass(frozen=True)
class DrainSettings:
    window: int = 256  # verdicts published and not yet acknowledged by the hub
    ack_timeout: float = 30.0  # publish again when no hub ack came within this
    refusal_backoff: Backoff = Backoff(first=5.0, maximum=600.0)
    status_every: float = 10.0  # retained status refresh while the backlog changes
    poll_every: float = 1.0  # look for new outbox rows at least this often when idle


@dataclass
class DrainStats:
    published: int = 0
    resent: int = 0
    stored: int = 0
    duplicates: int = 0
    refused: int = 0
    bad_acks: int = 0
    # for `poh-lab bench sync`: publish-to-ack seconds of delivered verdicts (the last send),
    # and wall-clock times of the first publish and the last delivery
    latencies: list[float] = field(default_factory=list)
    first_publish: float | None = None
    last_delivery: float | None = None

    def latency_ms(self, q: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return 1000.0 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class _Flight:
    item: OutboxItem
    sent_at: float
    mid: int
    pubacked: bool = False


@dataclass
class _Held:
    item: OutboxItem
    until: float


@dataclass
class _State:
    connected: bool = False
    cursor: int = 0  # highest outbox id published since start
    flights: OrderedDict[str, _Flight] = field(default_factory=OrderedDict)
    by_mid: dict[int, str] = field(default_factory=dict)
    held: dict[str, _Held] = field(default_factory=dict)  # refused: waiting to try again
    backoffs: dict[str, float] = field(default_factory=dict)  # per refused verdict
    pause_until: float = 0.0
    next_poll: float = 0.0
    last_status: float = float("-inf")
    status_dirty: bool = True


# what else the booth's status says (workflow_id, workflow_version, workflow_error,
# review_cursor: sync.fleet.command_sync.BoothCommands.status_fields)
StatusFields = Callable[[], dict[str, Any]]


def booth_status(store: VerdictStore, state: Literal["online", "offline"],
                 fields: StatusFields | None = None) -> bytes:
    b = store.backlog()
    extra = fields() if fields is not None else {}
    return BoothStatus(state=state, backlog=b.pending, last_sync=b.last_sync,
                       **extra).to_bytes()


class OutboxDrain:
    def __init__(self, store: VerdictStore, link: Communicator, *, fleet: str, device_id: str,
                 hub_key: Ed25519PublicKey, settings: DrainSettings | None = None,
                 rng: random.Random | None = None,
                 status_fields: StatusFields | None = None) -> None:
        self.store = store
        self.link = link
        self.fleet = fleet
        self.device_id = device_id
        self.hub_key = hub_key
        self.settings = settings or DrainSettings()
        self.stats = DrainStats()
        self.status_fields = status_fields
        self._rng = rng or random.Random()
        self._refusals = self.settings.refusal_backoff.delays(self._rng)
        self._ack_topic = ack_topic(fleet, device_id)
        self._topic = verdict_topic(fleet, device_id)
        self._wake = threading.Event()
        self._s = _State()

    def wake(self) -> None:
        """A new verdict was committed (the kiosk's on_verdict hook): look at the outbox now."""
        self._wake.set()

    def status_message(self, state: Literal["online", "offline"]) -> bytes:
        return booth_status(self.store, state, self.status_fields)

    def refresh_status(self) -> None:
        """What the status says changed (a workflow applied, a decision applied): publish it
        again at the next turn."""
        self._s.status_dirty = True
        self._s.last_status = float("-inf")
        self._wake.set()

    def run(self, stop: threading.Event, *, until_empty: bool = False) -> DrainStats:
        """Drain until `stop` is set (or, with until_empty, until nothing is left to send but
        verdicts the hub refused); the caller starts and stops the link."""
        while not stop.is_set():
            timeout = 0.05 if self._s.flights else 0.2
            first = self.link.get(timeout)
            events = [] if first is None else [first, *self.link.drain_events()]
            try:
                self._handle(events)
                now = time.monotonic()
                self._resend_overdue(now)
                self._fill(now)
                self._maybe_status(now)
                if until_empty and self._idle():
                    break
            except DatabaseCorruptError:
                raise  # fail closed: nothing more is read from or written to this database
            except StorageError as exc:
                # e.g. a full disk or a lock held too long: the acks of this turn are lost,
                # which costs re-sends (duplicates at the hub), never verdicts
                log.error("outbox not updated (%s); retrying", exc)
                stop.wait(1.0)
        return self.stats

    # ---- events ------------------------------------------------------------------------------
    def _handle(self, events: list[LinkEvent]) -> None:
        deliveries: list[Delivery] = []
        for ev in events:
            if isinstance(ev, Received):
                if ev.topic == self._ack_topic:
                    self._on_ack(ev.payload, deliveries)
            elif isinstance(ev, Published):
                self._on_puback(ev)
            elif isinstance(ev, Connected):
                self._on_connected(ev)
            elif isinstance(ev, Disconnected | ConnectFailed):
                if self._s.connected:
                    log.info("broker connection lost (%s); %d verdicts in flight", ev.reason,
                             len(self._s.flights))
                self._s.connected = False
            elif isinstance(ev, Subscribed) and not ev.ok:
                log.warning("ack subscription refused by the broker: %s", ev.granted)
        if deliveries:
            self.store.mark_delivered(deliveries)
            now = time.monotonic()
            self.stats.last_delivery = time.time()
            for d in deliveries:
                f = self._s.flights.get(d.idempotency_key)
                if f is not None and len(self.stats.latencies) < MAX_LATENCIES:
                    self.stats.latencies.append(now - f.sent_at)
                self._forget(d.idempotency_key)
                self._s.backoffs.pop(d.idempotency_key, None)
            self._s.status_dirty = True

    def _on_connected(self, ev: Connected) -> None:
        s = self._s
        s.connected = True
        self.link.subscribe([(self._ack_topic, 1)])
        self.link.publish(status_topic(self.fleet, self.device_id),
                          self.status_message("online"), qos=1, retain=True)
        s.last_status = time.monotonic()
        # paho re-sends what the broker never PUBACKed; what it did PUBACK may be gone with a
        # broker that lost its session, so those go again now (a duplicate costs the hub little)
        now = time.monotonic()
        for key, f in list(s.flights.items()):
            if f.pubacked and not ev.session_present:
                self._publish(f.item, now, resend=True)
                s.flights.move_to_end(key)
        log.info("connected to the broker (session %s); %d in flight",
                 "kept" if ev.session_present else "new", len(s.flights))

    def _on_puback(self, ev: Published) -> None:
        key = self._s.by_mid.pop(ev.mid, None)
        if key is None:
            return
        f = self._s.flights.get(key)
        if ev.ok:
            if f is not None:
                f.pubacked = True
            return
        # e.g. 0x87: the broker's ACL does not let this certificate write the topic
        log.warning("broker refused verdict %s: %s", key, ev.reason)
        if f is not None:
            self._refuse(f.item, f"broker: {ev.reason}")

    def _on_ack(self, raw: bytes, deliveries: list[Delivery]) -> None:
        try:
            ack = verify_ack(raw, self.hub_key)
        except WireError as exc:
            self.stats.bad_acks += 1
            log.warning("ignored an ack that does not verify: %s", exc)
            return
        if ack.device_id != self.device_id:
            self.stats.bad_acks += 1
            log.warning("ignored an ack for device %s", ack.device_id)
            return
        if ack.delivered:
            if ack.result == "stored":
                self.stats.stored += 1
            else:
                self.stats.duplicates += 1
            self._refusals.reset()
            deliveries.append(Delivery(ack.idempotency_key, ack.verdict_sha256, ack.hub_time,
                                       raw))
            return
        self.stats.refused += 1
        f = self._s.flights.get(ack.idempotency_key)
        h = self._s.held.get(ack.idempotency_key)
        item = f.item if f is not None else h.item if h is not None else None
        reason = ack.reason or "refused"
        log.warning("hub refused verdict %d: %s", ack.sequence, reason)
        if item is not None:
            self._refuse(item, f"hub: {reason}")
        else:  # from before a restart: record it, the row is fetched again in order
            self.store.mark_refused(ack.idempotency_key, f"hub: {reason}")

    def _refuse(self, item: OutboxItem, reason: str) -> None:
        s = self._s
        self.store.mark_refused(item.idempotency_key, reason)
        prev = s.backoffs.get(item.idempotency_key)
        wait = (self.settings.refusal_backoff.first if prev is None
                else min(prev * 2, self.settings.refusal_backoff.maximum))
        s.backoffs[item.idempotency_key] = wait
        self._forget(item.idempotency_key)
        now = time.monotonic()
        s.held[item.idempotency_key] = _Held(item, now + wait * self._rng.uniform(0.5, 1.0))
        s.pause_until = max(s.pause_until, now + self._refusals.next())
        s.status_dirty = True

    def _forget(self, key: str) -> None:
        f = self._s.flights.pop(key, None)
        if f is not None:
            self._s.by_mid.pop(f.mid, None)
        self._s.held.pop(key, None)

    # ---- sending -----------------------------------------------------------------------------
    def _publish(self, item: OutboxItem, now: float, resend: bool = False) -> None:
        s = self._s
        old = s.flights.get(item.idempotency_key)
        if old is not None:
            s.by_mid.pop(old.mid, None)
        mid = self.link.publish(self._topic, item.payload, qos=1)
        s.flights[item.idempotency_key] = _Flight(item, now, mid)
        s.by_mid[mid] = item.idempotency_key
        if resend:
            self.stats.resent += 1
        else:
            self.stats.published += 1
        if self.stats.first_publish is None:
            self.stats.first_publish = time.time()

    def _resend_overdue(self, now: float) -> None:
        s = self._s
        if not s.connected:
            return
        limit = now - self.settings.ack_timeout
        while s.flights:
            key, f = next(iter(s.flights.items()))
            if f.sent_at > limit:
                break
            self._publish(f.item, now, resend=True)
            s.flights.move_to_end(key)
        for key, h in list(s.held.items()):
            if h.until <= now and now >= s.pause_until and len(s.flights) < self.settings.window:
                del s.held[key]  # in flight again; its back-off stays until an ack clears it
                self._publish(h.item, now, resend=True)

    def _fill(self, now: float) -> None:
        s = self._s
        room = self.settings.window - len(s.flights)
        if not s.connected or room <= 0 or now < s.pause_until:
            return
        if not self._wake.is_set() and now < s.next_poll and len(s.flights) > 0:
            return
        self._wake.clear()
        s.next_poll = now + self.settings.poll_every
        items = self.store.outbox(limit=room, after_id=s.cursor)
        for item in items:
            s.cursor = max(s.cursor, item.id)
            if item.idempotency_key in s.held or item.idempotency_key in s.flights:
                continue
            self._publish(item, now)
        if items:
            s.next_poll = now  # more may be waiting behind this batch

    def _maybe_status(self, now: float) -> None:
        s = self._s
        if s.connected and s.status_dirty and now - s.last_status >= self.settings.status_every:
            self.link.publish(status_topic(self.fleet, self.device_id),
                              self.status_message("online"), qos=1, retain=True)
            s.last_status = now
            s.status_dirty = False

    def _idle(self) -> bool:
        s = self._s
        if s.flights or not s.connected:
            return False
        return not [i for i in self.store.outbox(limit=len(s.held) + 1)
                    if i.idempotency_key not in s.held]
