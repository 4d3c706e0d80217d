"""Deliver the queued webhooks at least once: every due delivery row is claimed (a lease, so
two hub processes never post one attempt twice at once and a crashed one's rows come due
again), posted with the Didit headers, and recorded. 2xx: delivered. 5xx, 404, 408, 429, a
time-out or no connection: retried with exponential back-off (with jitter) until the row's
give_up_at (a day and more after the event), then "failed" (listed by `poh hub webhooks list`,
sent again by `poh hub webhooks resend`). Any other answer: failed at once, as Didit does.
The body's event_id, envelope and decision are those fixed at the status change; only the
per-attempt `timestamp` (and X-Timestamp) is new, so a receiver's freshness check passes
after an outage."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import sqlalchemy as sa

from sync.hub.db import now_iso
from sync.hub.webhooks.signing import body_bytes, signed_headers
from sync.hub.webhooks.tables import webhook_deliveries, webhook_endpoints, webhook_events

log = logging.getLogger(__name__)

RETRY_CODES = frozenset({404, 408, 429})
USER_AGENT = "poh-hub-webhooks/1 (Didit-compatible)"


@dataclass(frozen=True)
class RetryPolicy:
    first_s: float = 5.0
    max_s: float = 3600.0
    lease_s: float = 120.0  # a claimed attempt comes due again after this if never recorded

    def delay(self, attempts: int) -> float:
        """Wait after the attempts-th failure: 5 s, 10 s, 20 s ... up to max_s, +-20 %."""
        base = min(self.first_s * 2 ** max(attempts - 1, 0), self.max_s)
        return base * random.uniform(0.8, 1.2)  # spreads retries (not a secret)


@dataclass(frozen=True)
class Attempt:
    ok: bool
    retry: bool
    status_code: int | None
    error: str | None


class Dispatcher:
    def __init__(self, engine: sa.Engine, policy: RetryPolicy | None = None, *,
                 timeout_s: float = 10.0, batch: int = 50, poll_s: float = 0.5,
                 clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.policy = policy or RetryPolicy()
        self.batch = batch
        self.poll_s = poll_s
        self.clock = clock
        self.client = httpx.Client(timeout=timeout_s, follow_redirects=False,
                                   headers={"User-Agent": USER_AGENT})
        self.delivered = 0
        # attempts since start by outcome, for /metrics: delivered, retry (a failure that will
        # be tried again), failed (given up: `poh hub webhooks resend` sends it again)
        self.outcomes: dict[str, int] = {"delivered": 0, "retry": 0, "failed": 0}

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    busy = self.step()
                except sa.exc.DBAPIError as exc:
                    log.error("webhook queue unreadable (%s); trying again", exc.orig)
                    busy = 0
                if not busy:
                    stop.wait(self.poll_s)
        finally:
            self.client.close()

    def step(self) -> int:
        """Claim and attempt the due deliveries; returns how many were attempted."""
        now = self.clock()
        with self.engine.connect() as conn:
            due = conn.execute(
                sa.select(webhook_deliveries.c.event_id, webhook_deliveries.c.endpoint_id,
                          webhook_deliveries.c.next_attempt_at)
                .where(webhook_deliveries.c.state == "pending",
                       webhook_deliveries.c.next_attempt_at <= now)
                .order_by(webhook_deliveries.c.next_attempt_at).limit(self.batch)).all()
        done = 0
        for event_id, endpoint_id, due_at in due:
            if self._claim(event_id, endpoint_id, due_at, now):
                self._attempt(event_id, endpoint_id)
                done += 1
        return done

    def _claim(self, event_id: str, endpoint_id: int, due_at: float, now: float) -> bool:
        with self.engine.begin() as conn:
            res = conn.execute(webhook_deliveries.update().where(
                webhook_deliveries.c.event_id == event_id,
                webhook_deliveries.c.endpoint_id == endpoint_id,
                webhook_deliveries.c.state == "pending",
                webhook_deliveries.c.next_attempt_at == due_at,
            ).values(next_attempt_at=now + self.policy.lease_s))
            return res.rowcount == 1

    def _attempt(self, event_id: str, endpoint_id: int) -> None:
        with self.engine.connect() as conn:
            ev = conn.execute(sa.select(webhook_events.c.envelope).where(
                webhook_events.c.event_id == event_id)).one()
            ep = conn.execute(sa.select(webhook_endpoints.c.url, webhook_endpoints.c.secret,
                                        webhook_endpoints.c.name).where(
                webhook_endpoints.c.id == endpoint_id)).one()
        envelope = json.loads(ev.envelope)
        timestamp = int(self.clock())
        envelope["timestamp"] = timestamp
        body = body_bytes(envelope)
        result = self.post(ep.url, body, signed_headers(ep.secret, body, timestamp))
        self._record(event_id, endpoint_id, result)
        level = logging.INFO if result.ok else logging.WARNING
        log.log(level, "webhook %s to %s: %s", event_id, ep.name,
                "delivered" if result.ok else result.error)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Attempt:
        try:
            resp = self.client.post(url, content=body, headers=headers)
        except httpx.TimeoutException:
            return Attempt(False, True, None, "timed out")
        except httpx.TransportError as exc:
            return Attempt(False, True, None, f"no connection: {type(exc).__name__}")
        code = resp.status_code
        if 200 <= code < 300:
            return Attempt(True, False, code, None)
        retry = code >= 500 or code in RETRY_CODES
        return Attempt(False, retry, code, f"HTTP {code}")

    def _record(self, event_id: str, endpoint_id: int, result: Attempt) -> None:
        now = self.clock()
        where = (webhook_deliveries.c.event_id == event_id,
                 webhook_deliveries.c.endpoint_id == endpoint_id)
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(webhook_deliveries.c.attempts,
                                         webhook_deliveries.c.give_up_at).where(*where)).one()
            attempts = row.attempts + 1
            values: dict[str, object] = dict(attempts=attempts, last_attempt_at=now_iso(),
                                             last_status_code=result.status_code,
                                             last_error=result.error)
            if result.ok:
                values |= dict(state="delivered", delivered_at=now_iso())
                self.delivered += 1
                outcome = "delivered"
            elif result.retry and now < row.give_up_at:
                values |= dict(next_attempt_at=now + self.policy.delay(attempts))
                outcome = "retry"
            else:
                values |= dict(state="failed")
                outcome = "failed"
            conn.execute(webhook_deliveries.update().where(*where).values(**values))
        self.outcomes[outcome] += 1


class DispatcherThread:
    """The dispatcher on its own thread, beside the HTTP API."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=dispatcher.run, args=(self.stop_event,),
                                       name="hub-webhooks", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)
