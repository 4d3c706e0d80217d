"""The hub's ops worker: the MQTT side of the console, on a thread of `poh hub run`.

- reads every booth's retained status (poh/v1/{fleet}/+/status) into device_status: online or
  offline, outbox backlog, the workflow it runs (or why it refused the last one), and the
  highest reviewer decision it applied;
- publishes reviewers' decisions (sync.hub.webhooks status changes made by a reviewer) to the
  session's booth on its cmd/review topic, signed by the hub key, in decision order; a booth
  whose status reports a lower review cursor than its newest decision gets the rest again
  (at most every `resend_after` seconds), so a decision reaches a booth that was offline for
  longer than the broker keeps its session;
- publishes the newest workflow publication of each fleet, signed, retained on its config
  topic.

It reads only the database for what to send, so the console (maybe on another machine, with
no key) just writes rows; nothing is lost when the broker or this worker is down.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.fleet.commands import (
    ReviewDecision,
    WorkflowPush,
    config_topic,
    review_topic,
    sign_command,
)
from sync.hub.console.tables import device_status, hub_cursors, workflow_publications
from sync.hub.db import insert, now_iso
from sync.hub.webhooks.tables import hub_sessions, status_changes
from sync.transport import (
    BrokerSettings,
    Communicator,
    Connected,
    ConnectFailed,
    Disconnected,
    MqttLink,
    Published,
    Received,
    TlsFiles,
)
from sync.wire.messages import WireError, parse_status
from sync.wire.topics import TopicError, parse_device_topic

log = logging.getLogger(__name__)
REVIEWS_CURSOR = "reviews_published"


@dataclass
class OpsStats:
    statuses: int = 0
    decisions_sent: int = 0
    decisions_resent: int = 0
    workflows_sent: int = 0


@dataclass
class _Flight:
    kind: str  # review | workflow
    ident: int  # decision id | publication
    fleet: str = ""


@dataclass
class _State:
    connected: bool = False
    flights: dict[int, _Flight] = field(default_factory=dict)
    sent_reviews: set[int] = field(default_factory=set)  # published, PUBACK pending
    resent_at: dict[tuple[str, str], float] = field(default_factory=dict)
    workflows_in_flight: set[int] = field(default_factory=set)


class OpsWorker:
    def __init__(self, link: Communicator, engine: sa.Engine, signer: Ed25519PrivateKey, *,
                 fleet: str = "+", poll: float = 0.5, resend_after: float = 30.0) -> None:
        self.link = link
        self.engine = engine
        self.signer = signer
        self.fleet = fleet
        self.poll = poll
        self.resend_after = resend_after
        self.stats = OpsStats()
        self._s = _State()

    # ---- the loop ------------------------------------------------------------------------
    def step(self) -> None:
        ev = self.link.get(self.poll)
        if isinstance(ev, Connected):
            self._s.connected = True
            self.link.subscribe([(f"poh/v1/{self.fleet}/+/status", 1)])
        elif isinstance(ev, Disconnected | ConnectFailed):
            self._s.connected = False
            self._s.flights.clear()
            self._s.sent_reviews.clear()
            self._s.workflows_in_flight.clear()
        elif isinstance(ev, Received):
            self._on_status(ev.topic, ev.payload)
        elif isinstance(ev, Published):
            self._on_puback(ev)
        if self._s.connected:
            try:
                self._send_workflows()
                self._send_new_decisions()
                self._resend_missing()
            except sa.exc.DBAPIError as exc:  # the next turn tries again
                log.error("ops worker: database read failed (%s)", exc.orig)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.step()

    # ---- statuses ------------------------------------------------------------------------
    def _on_status(self, topic: str, payload: bytes) -> None:
        try:
            where = parse_device_topic(topic)
            if where.kind != "status" or not payload:
                return
            st = parse_status(payload)
        except (TopicError, WireError) as exc:
            log.warning("booth status on %s not read: %s", topic, exc)
            return
        values = dict(state=st.state, backlog=st.backlog, last_sync=st.last_sync,
                      workflow_id=st.workflow_id, workflow_version=st.workflow_version,
                      workflow_error=st.workflow_error, review_cursor=st.review_cursor,
                      received_at=now_iso())
        stmt = insert(self.engine, device_status).values(
            fleet_id=where.fleet, device_id=where.device_id, **values)
        try:
            with self.engine.begin() as conn:
                conn.execute(stmt.on_conflict_do_update(
                    index_elements=["fleet_id", "device_id"], set_=values))
        except sa.exc.DBAPIError as exc:
            log.error("booth status of %s not stored (%s)", where.device_id, exc.orig)
            return
        self.stats.statuses += 1

    def _on_puback(self, ev: Published) -> None:
        f = self._s.flights.pop(ev.mid, None)
        if f is None:
            return
        if not ev.ok:
            log.warning("broker refused the hub's %s %d: %s", f.kind, f.ident, ev.reason)
            self._s.sent_reviews.discard(f.ident)
            self._s.workflows_in_flight.discard(f.ident)
            return
        with self.engine.begin() as conn:
            if f.kind == "workflow":
                self._s.workflows_in_flight.discard(f.ident)
                conn.execute(workflow_publications.update().where(
                    workflow_publications.c.fleet_id == f.fleet,
                    workflow_publications.c.publication <= f.ident,
                    workflow_publications.c.sent_at.is_(None)).values(sent_at=now_iso()))
                self.stats.workflows_sent += 1
            else:
                self._s.sent_reviews.discard(f.ident)
                # the cursor moves past every decision up to the lowest one still in flight
                lowest = min(self._s.sent_reviews, default=None)
                upto = f.ident if lowest is None else min(f.ident, lowest - 1)
                self._advance(conn, upto)

    def _advance(self, conn: sa.Connection, value: int) -> None:
        stmt = insert(self.engine, hub_cursors).values(name=REVIEWS_CURSOR, value=value)
        conn.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={
            "value": sa.func.max(hub_cursors.c.value, stmt.excluded.value)
            if self.engine.dialect.name == "sqlite"
            else sa.func.greatest(hub_cursors.c.value, stmt.excluded.value)}))

    # ---- workflows -------------------------------------------------------------------------
    def _send_workflows(self) -> None:
        w = workflow_publications
        newest = sa.select(w.c.fleet_id, sa.func.max(w.c.publication).label("p")).group_by(
            w.c.fleet_id).subquery()
        q = sa.select(w).join(newest, sa.and_(newest.c.fleet_id == w.c.fleet_id,
                                              newest.c.p == w.c.publication)).where(
            w.c.sent_at.is_(None))
        if self.fleet != "+":
            q = q.where(w.c.fleet_id == self.fleet)
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        for r in rows:
            if r.publication in self._s.workflows_in_flight:
                continue
            push = WorkflowPush(fleet_id=r.fleet_id, publication=r.publication,
                                workflow_id=r.workflow_id, workflow_version=r.workflow_version,
                                workflow=json.loads(r.document), published_by=r.published_by,
                                published_at=r.created_at)
            mid = self.link.publish(config_topic(r.fleet_id), sign_command(push, self.signer),
                                    qos=1, retain=True)
            self._s.flights[mid] = _Flight("workflow", r.publication, r.fleet_id)
            self._s.workflows_in_flight.add(r.publication)
            log.info("workflow %s v%d published to fleet %s (publication %d)", r.workflow_id,
                     r.workflow_version, r.fleet_id, r.publication)

    # ---- decisions -------------------------------------------------------------------------
    def _decisions(self, conn: sa.Connection, after: int, fleet: str | None = None,
                   device: str | None = None, limit: int = 200) -> list[Any]:
        c, h = status_changes, hub_sessions
        q = (sa.select(c.c.id, c.c.session_id, c.c.to_status, c.c.actor, c.c.reason, c.c.at,
                       h.c.fleet_id, h.c.device_id)
             .join(h, h.c.session_id == c.c.session_id)
             .where(c.c.source == "reviewer", c.c.id > after).order_by(c.c.id).limit(limit))
        if self.fleet != "+":
            q = q.where(h.c.fleet_id == self.fleet)
        if fleet is not None and device is not None:
            q = q.where(h.c.fleet_id == fleet, h.c.device_id == device)
        return list(conn.execute(q))

    def _previous(self, conn: sa.Connection, row: Any) -> int:
        c, h = status_changes, hub_sessions
        prev = conn.execute(sa.select(sa.func.max(c.c.id)).join(
            h, h.c.session_id == c.c.session_id).where(
            c.c.source == "reviewer", c.c.id < row.id, h.c.fleet_id == row.fleet_id,
            h.c.device_id == row.device_id)).scalar()
        return int(prev or 0)

    def _publish_decision(self, conn: sa.Connection, row: Any) -> None:
        msg = ReviewDecision(fleet_id=row.fleet_id, device_id=row.device_id, decision_id=row.id,
                             previous=self._previous(conn, row), session_id=row.session_id,
                             status=row.to_status, reviewer=row.actor or "hub",
                             reason=row.reason, decided_at=row.at)
        mid = self.link.publish(review_topic(row.fleet_id, row.device_id),
                                sign_command(msg, self.signer), qos=1)
        self._s.flights[mid] = _Flight("review", row.id, row.fleet_id)
        self._s.sent_reviews.add(row.id)

    def _send_new_decisions(self) -> None:
        with self.engine.connect() as conn:
            cursor = conn.execute(sa.select(hub_cursors.c.value).where(
                hub_cursors.c.name == REVIEWS_CURSOR)).scalar() or 0
            after = max([int(cursor), *self._s.sent_reviews])
            for row in self._decisions(conn, after):
                self._publish_decision(conn, row)
                self.stats.decisions_sent += 1
                # the booth's status may not say so yet: no re-send before resend_after
                self._s.resent_at[(row.fleet_id, row.device_id)] = time.monotonic()
                log.info("decision %d (%s) sent to %s", row.id, row.to_status, row.device_id)

    def _resend_missing(self) -> None:
        """Booths whose status says they lack decisions get them again, from their cursor."""
        now = time.monotonic()
        c, h, s = status_changes, hub_sessions, device_status
        newest = (sa.select(h.c.fleet_id, h.c.device_id, sa.func.max(c.c.id).label("last"))
                  .join(h, h.c.session_id == c.c.session_id).where(c.c.source == "reviewer")
                  .group_by(h.c.fleet_id, h.c.device_id).subquery())
        q = sa.select(s.c.fleet_id, s.c.device_id, s.c.review_cursor).join(
            newest, sa.and_(newest.c.fleet_id == s.c.fleet_id,
                            newest.c.device_id == s.c.device_id)).where(
            s.c.state == "online", s.c.review_cursor.is_not(None),
            s.c.review_cursor < newest.c.last)
        with self.engine.connect() as conn:
            for booth in conn.execute(q).all():
                key = (booth.fleet_id, booth.device_id)
                if now - self._s.resent_at.get(key, float("-inf")) < self.resend_after:
                    continue
                self._s.resent_at[key] = now
                for row in self._decisions(conn, int(booth.review_cursor), booth.fleet_id,
                                           booth.device_id):
                    if row.id in self._s.sent_reviews:
                        continue
                    self._publish_decision(conn, row)
                    self.stats.decisions_resent += 1
                log.info("decisions after %d sent again to %s", booth.review_cursor,
                         booth.device_id)


class OpsThread:
    """The ops worker on a thread of `poh hub run`'s first worker process."""

    def __init__(self, worker: OpsWorker) -> None:
        self.worker = worker
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hub-ops", daemon=True)

    def _run(self) -> None:
        self.worker.link.start()
        try:
            self.worker.run(self._stop)
        except Exception:  # the ingest keeps running; what is unsent stays in the database
            log.exception("hub ops worker stopped")
        finally:
            self.worker.link.stop()

    def start(self) -> OpsThread:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)


def start_ops(broker_url: str, tls: TlsFiles | None, signer: Ed25519PrivateKey, fleet: str,
              engine: sa.Engine, client_id: str = "hub") -> OpsThread:
    """`poh hub run`'s hook: the ops worker (client id PREFIX-ops)."""
    link = MqttLink(BrokerSettings.from_url(broker_url, f"{client_id}-ops", tls))
    log.info("hub ops worker for fleet %s started", fleet)
    return OpsThread(OpsWorker(link, engine, signer, fleet=fleet)).start()
