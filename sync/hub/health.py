"""The hub's health checks (`GET /health`), in the shape of the booth's `poh doctor`: one
{check, status, detail} per check, status ok / warn / FAIL / skip; any FAIL makes the hub
unhealthy (503). Each check reads and repairs nothing, and an unexpected error is that check's
FAIL, not the endpoint's (the other checks still run).

Checks: the database answers; every ingest worker's MQTT link is up; the webhook queue's
backlog; free disk space where the hub keeps its state.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import sqlalchemy as sa

from sync.hub.live_state import LiveState
from sync.hub.webhooks.tables import webhook_deliveries

log = logging.getLogger(__name__)

Status = Literal["ok", "warn", "FAIL", "skip"]

# The same limits as the booth's doctor: below 256 MB SQLite (or a log) soon fails to write.
DISK_WARN_BYTES = 2 * 1024**3
DISK_FAIL_BYTES = 256 * 1024**2
# Webhook deliveries waiting: a few hundred is an outage of a receiver for minutes at a busy
# fleet; tens of thousands means every receiver has been down for long and the queue grows
# by the fleet's rate (the rows are kept, nothing is lost, but someone must look).
WEBHOOK_WARN_PENDING = 1_000
WEBHOOK_FAIL_PENDING = 10_000


@dataclass(frozen=True)
class HubCheck:
    check: str
    status: Status
    detail: str


def guarded(name: str, fn: Callable[[], HubCheck]) -> HubCheck:
    try:
        return fn()
    except Exception as exc:  # a health report answers for every check, whatever one hits
        log.debug("health check %s raised", name, exc_info=True)
        first = (str(exc).strip().splitlines() or [""])[0]
        return HubCheck(name, "FAIL", f"{type(exc).__name__}: {first}")


def check_database(engine: sa.Engine) -> HubCheck:
    start = time.perf_counter()
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    ms = (time.perf_counter() - start) * 1000
    return HubCheck("database", "ok", f"{engine.url.get_backend_name()} answers "
                                      f"({ms:.1f} ms)")


def check_broker(live: LiveState | None) -> HubCheck:
    if live is None:
        return HubCheck("broker", "skip", "no ingest in this process (poh hub serve)")
    links = live.links()
    down = [v for v in links if not v.connected]
    if not down:
        return HubCheck("broker", "ok", f"{len(links)} ingest worker(s) connected")
    first = down[0]
    since = (f" for {time.time() - first.since:.0f} s" if first.since else "")
    state = "not connected" if first.started else "not started"
    return HubCheck("broker", "FAIL", f"{len(down)} of {len(links)} ingest worker(s) not "
                                      f"connected (worker {first.worker} {state}{since})")


def check_webhooks(engine: sa.Engine, now: float | None = None) -> HubCheck:
    now = time.time() if now is None else now
    d = webhook_deliveries.c
    with engine.connect() as conn:
        by_state = sa.select(d.state, sa.func.count()).group_by(d.state)
        counts: dict[str, int] = {st: n for st, n in conn.execute(by_state)}
        oldest = conn.execute(sa.select(sa.func.min(d.next_attempt_at))
                              .where(d.state == "pending")).scalar_one()
    pending, failed = int(counts.get("pending", 0)), int(counts.get("failed", 0))
    late = f", the most overdue {max(0.0, now - float(oldest)):.0f} s" if oldest else ""
    detail = f"{pending} pending{late}, {failed} failed"
    if pending >= WEBHOOK_FAIL_PENDING:
        return HubCheck("webhooks", "FAIL", detail + f" (fail at {WEBHOOK_FAIL_PENDING} "
                                                     f"pending: are the receivers down?)")
    if pending >= WEBHOOK_WARN_PENDING or failed:
        return HubCheck("webhooks", "warn", detail + (
            "; `poh hub webhooks list --state failed`" if failed else ""))
    return HubCheck("webhooks", "ok", detail)


def state_folder(engine: sa.Engine) -> Path:
    """Where the hub's own state is on this machine: a SQLite file's folder, else the
    unit's StateDirectory, else the working folder (a PostgreSQL hub keeps little here)."""
    if engine.url.get_backend_name() == "sqlite" and engine.url.database not in (
            None, "", ":memory:"):
        return Path(str(engine.url.database)).resolve().parent
    state = os.environ.get("STATE_DIRECTORY", "").split(":", 1)[0]
    return Path(state) if state and os.path.isabs(state) else Path.cwd()


def _size(n: int) -> str:
    return f"{n / 1024**3:.1f} GB" if n >= 1024**3 else f"{n / 1024**2:.0f} MB"


def check_disk(folder: Path) -> HubCheck:
    usage = shutil.disk_usage(folder)
    detail = (f"{_size(usage.free)} free of {_size(usage.total)} in {folder} (warn below "
              f"{_size(DISK_WARN_BYTES)}, fail below {_size(DISK_FAIL_BYTES)})")
    if usage.free < DISK_FAIL_BYTES:
        return HubCheck("disk", "FAIL", detail)
    if usage.free < DISK_WARN_BYTES:
        return HubCheck("disk", "warn", detail)
    return HubCheck("disk", "ok", detail)


def hub_checks(engine: sa.Engine, live: LiveState | None) -> list[HubCheck]:
    return [guarded("database", lambda: check_database(engine)),
            guarded("broker", lambda: check_broker(live)),
            guarded("webhooks", lambda: check_webhooks(engine)),
            guarded("disk", lambda: check_disk(state_folder(engine)))]


Overall = Literal["ok", "warn", "FAIL"]


def overall(checks: list[HubCheck]) -> Overall:
    if any(c.status == "FAIL" for c in checks):
        return "FAIL"
    return "warn" if any(c.status == "warn" for c in checks) else "ok"
