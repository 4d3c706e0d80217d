"""One hub worker: a link on the shared subscription, batches judged and stored, acks after
the commit. Several workers (processes, or machines) share the load: each verdict reaches one
worker of the `$share/hub/...` group; every worker reads the retained registrations."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import sqlalchemy as sa

from sync.hub.ingest import Inbound, Ingest
from sync.hub.live_state import LiveState
from sync.hub.registry import RegistryError, register_device
from sync.transport import (
    Backoff,
    Communicator,
    Connected,
    ConnectFailed,
    Disconnected,
    LinkEvent,
    Received,
    Subscribed,
)
from sync.wire.messages import AckResult, WireError, parse_registration
from sync.wire.topics import (
    TopicError,
    hub_register_filter,
    hub_verdict_filter,
    parse_device_topic,
)

log = logging.getLogger(__name__)


@dataclass
class HubStats:
    stored: int = 0
    duplicates: int = 0
    refused: int = 0
    registrations: int = 0
    batches: int = 0


class HubWorker:
    def __init__(self, link: Communicator, ingest: Ingest, *, fleet: str = "+",
                 batch: int = 500, retry: Backoff | None = None,
                 live: LiveState | None = None, index: int = 0) -> None:
        self.link = link
        self.ingest = ingest
        self.fleet = fleet
        self.batch = batch
        self.retry = retry or Backoff(first=0.5, maximum=10.0)
        self.stats = HubStats()
        # what /health and /metrics report (sync.hub.live_state); None: nobody reads it
        self.live = live
        self.index = index

    def run(self, stop: threading.Event) -> HubStats:
        pending: list[Inbound] = []
        if self.live is not None:
            self.live.link(self.index, False)  # started, not connected yet
        while not stop.is_set():
            first = self.link.get(0.2)
            events: list[LinkEvent] = [] if first is None else [
                first, *self.link.drain_events(self.batch)]
            for ev in events:
                if self.live is not None and isinstance(
                        ev, Connected | Disconnected | ConnectFailed):
                    self.live.link(self.index, isinstance(ev, Connected))
                if isinstance(ev, Connected):
                    self.link.subscribe([(hub_verdict_filter(self.fleet), 1),
                                         (hub_register_filter(self.fleet), 1)])
                elif isinstance(ev, Subscribed) and not ev.ok:
                    log.error("hub subscription refused by the broker: %s", ev.granted)
                elif isinstance(ev, Received):
                    if ev.topic.endswith("/register"):
                        self._register(ev)
                    else:
                        pending.append(Inbound(ev.topic, ev.payload, ev.mid))
            if pending and self._commit(pending, stop):
                pending = []
        return self.stats

    def _commit(self, batch: list[Inbound], stop: threading.Event) -> bool:
        """Store the batch, then ack; on a database failure wait and try again (nothing is
        acknowledged, to the booth or to the broker, before the commit)."""
        waits = self.retry.delays()
        while True:
            try:
                outcomes = self.ingest.process(batch)
                break
            except sa.exc.DBAPIError as exc:
                log.error("hub database write failed (%s); retrying", exc.orig)
                if stop.wait(waits.next()):
                    return False
        for o in outcomes:
            if o.ack_topic is not None and o.ack is not None:
                self.link.publish(o.ack_topic, o.ack, qos=1)
            self.link.ack(o.inbound.mid)
            if self.live is not None:
                self.live.count(o.result)
            if o.result is AckResult.STORED:
                self.stats.stored += 1
            elif o.result is AckResult.DUPLICATE:
                self.stats.duplicates += 1
            else:
                self.stats.refused += 1
        self.stats.batches += 1
        return True

    def _register(self, ev: Received) -> None:
        try:
            where = parse_device_topic(ev.topic)
            reg = parse_registration(ev.payload)
            if reg.device_id != where.device_id:
                raise RegistryError(f"registration names {reg.device_id} on "
                                    f"{where.device_id}'s topic")
            register_device(self.ingest.engine, where.fleet, where.device_id, reg.public_jwk)
            self.stats.registrations += 1
        except (TopicError, WireError, RegistryError) as exc:
            log.warning("registration refused: %s", exc)
        except sa.exc.DBAPIError as exc:
            log.error("registration not stored (%s); the broker re-delivers it", exc.orig)
            return
        self.link.ack(ev.mid)
