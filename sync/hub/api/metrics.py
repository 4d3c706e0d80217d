"""The hub's Prometheus metrics (`GET /metrics`, text exposition format 0.0.4).

Read at each scrape, from the database (so every hub process and machine on it agrees):
  poh_hub_sessions{status}                     sessions by their current status
  poh_hub_verdicts_stored                      verdicts stored at the hub
  poh_hub_booth_outbox_backlog{fleet,device}   each booth's outbox backlog as it last reported
  poh_hub_booth_online{fleet,device}           1 when the booth's last status said online
  poh_hub_webhook_deliveries{state}            the queue: pending, delivered, failed
  poh_hub_database_up                          0 when the scrape could not read the database
Counted by this process since it started (a restart starts them at 0; Prometheus' rate()
handles that):
  poh_hub_verdicts_ingested_total{result}      stored / duplicate / refused, every ingest worker
  poh_hub_webhook_attempts_total{outcome}      delivered / retry / failed (given up)
  poh_hub_broker_connected{worker}             1 while the ingest worker's MQTT link is up
  poh_hub_inference_seconds{endpoint}          histogram: the face pipeline's time in the
                                               standalone passive-liveness and face-search APIs
The ingest counters exist only where the ingest runs (`poh hub run`); the webhook counters only
where webhooks are delivered. One registry per app (not the library's global one), so two apps
in one process (tests) never share a series.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from sync.hub.console.tables import device_status
from sync.hub.live_state import LiveState
from sync.hub.schema import verdicts
from sync.hub.webhooks.tables import hub_sessions, webhook_deliveries

if TYPE_CHECKING:
    from sync.hub.webhooks.dispatcher import Dispatcher

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# The face pipeline takes 0.05-0.5 s an image on a CPU; four rotations (rotate_image) up to ~2 s.
INFERENCE_BUCKETS = (0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0)


class DatabaseCollector(Collector):
    """The gauges read from the database at each scrape."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("poh_hub_database_up",
                               "1 when this scrape read the hub database")
        try:
            families = self._read()
        except sa.exc.SQLAlchemyError as exc:
            log.warning("metrics: hub database unreadable (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _read(self) -> list[Metric]:
        sessions = GaugeMetricFamily("poh_hub_sessions", "Sessions by current status",
                                     labels=["status"])
        stored = GaugeMetricFamily("poh_hub_verdicts_stored", "Verdicts stored at the hub")
        backlog = GaugeMetricFamily("poh_hub_booth_outbox_backlog",
                                    "Verdicts waiting in a booth's outbox, as last reported",
                                    labels=["fleet", "device"])
        online = GaugeMetricFamily("poh_hub_booth_online",
                                   "1 when the booth's last retained status said online",
                                   labels=["fleet", "device"])
        queue = GaugeMetricFamily("poh_hub_webhook_deliveries",
                                  "Webhook deliveries by state", labels=["state"])
        s, b, d = hub_sessions.c, device_status.c, webhook_deliveries.c
        with self.engine.connect() as conn:
            for status, n in conn.execute(sa.select(s.status, sa.func.count())
                                          .group_by(s.status)):
                sessions.add_metric([status], n)
            stored.add_metric([], conn.execute(
                sa.select(sa.func.count()).select_from(verdicts)).scalar_one())
            for fleet, device, state, n in conn.execute(
                    sa.select(b.fleet_id, b.device_id, b.state, b.backlog)):
                backlog.add_metric([fleet, device], n)
                online.add_metric([fleet, device], 1 if state == "online" else 0)
            by_state: dict[str, int] = {st: n for st, n in conn.execute(
                sa.select(d.state, sa.func.count()).group_by(d.state))}
        for state in ("pending", "delivered", "failed"):
            queue.add_metric([state], by_state.get(state, 0))
        return [sessions, stored, backlog, online, queue]


class ProcessCollector(Collector):
    """The counters this hub process keeps: ingest results and links (shared with its worker
    processes), webhook attempt outcomes."""

    def __init__(self, live: LiveState | None, dispatcher: Dispatcher | None) -> None:
        self.live = live
        self.dispatcher = dispatcher

    def collect(self) -> Iterator[Metric]:
        if self.live is not None:
            ingested = CounterMetricFamily(
                "poh_hub_verdicts_ingested", "Verdicts the ingest judged since start",
                labels=["result"])
            for result, n in self.live.ingested().items():
                ingested.add_metric([result], n)
            yield ingested
            links = GaugeMetricFamily("poh_hub_broker_connected",
                                      "1 while the ingest worker's MQTT link is up",
                                      labels=["worker"])
            for view in self.live.links():
                links.add_metric([str(view.worker)], 1 if view.connected else 0)
            yield links
        if self.dispatcher is not None:
            attempts = CounterMetricFamily(
                "poh_hub_webhook_attempts", "Webhook delivery attempts since start, by outcome",
                labels=["outcome"])
            for outcome, n in dict(self.dispatcher.outcomes).items():
                attempts.add_metric([outcome], n)
            yield attempts


class HubMetrics:
    def __init__(self, engine: sa.Engine, live: LiveState | None = None,
                 dispatcher: Dispatcher | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.inference = Histogram(
            "poh_hub_inference_seconds", "Face pipeline time of a standalone API request",
            labelnames=["endpoint"], buckets=INFERENCE_BUCKETS, registry=self.registry)
        self.registry.register(DatabaseCollector(engine))
        self.registry.register(ProcessCollector(live, dispatcher))

    @contextmanager
    def inference_time(self, endpoint: str) -> Iterator[None]:
        with self.inference.labels(endpoint=endpoint).time():
            yield

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
