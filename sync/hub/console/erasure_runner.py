"""Fleet-wide erasures asked for at the console or `poh hub erasure request`, done by the
fleet's template worker (the delta log has one writer: sync.hub.template_worker), with the
fleet templates' own erasure (FleetTemplates.forget: the hub's templates, the delta the booths
merge and confirm by their cursors). The person's vendor_data is dropped from the request once
it is done; the request keeps a digest and the erasure's delta number."""

from __future__ import annotations

import logging
import time

import sqlalchemy as sa

from sync.hub.console.tables import erasure_requests
from sync.hub.db import now_iso
from sync.hub.templates import FleetTemplates, Outgoing

log = logging.getLogger(__name__)


class ErasureRunner:
    def __init__(self, engine: sa.Engine, templates: FleetTemplates, every: float = 1.0,
                 batch: int = 20) -> None:
        self.engine = engine
        self.templates = templates
        self.every = every
        self.batch = batch
        self._next = 0.0

    def due(self) -> list[Outgoing]:
        """Do the pending requests of this fleet (at most every `every` seconds); what to
        publish."""
        now = time.monotonic()
        if now < self._next:
            return []
        self._next = now + self.every
        e = erasure_requests
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(e.c.id, e.c.vendor_data).where(
                e.c.fleet_id == self.templates.fleet_id, e.c.done_at.is_(None)).order_by(
                e.c.id).limit(self.batch)).all()
        out: list[Outgoing] = []
        for r in rows:
            seq, publish = (None, []) if not r.vendor_data else self.templates.forget(
                r.vendor_data)
            with self.engine.begin() as conn:
                conn.execute(e.update().where(e.c.id == r.id).values(
                    done_at=now_iso(), erasure_seq=seq, vendor_data=None,
                    outcome="erased" if seq is not None else "nothing"))
            out += publish
            log.info("erasure request %d done (delta %s)", r.id, seq)
        return out
