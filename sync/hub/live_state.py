"""What the running hub knows only in memory, shared by its worker processes with the HTTP API
that reports it (`/health`, `/metrics`): verdicts ingested since start, by result, and whether
each ingest worker's MQTT link is up.

`poh hub run --workers N` runs worker 0 in the API's process and the others as spawned
processes; the counters live in shared memory made before the processes start and handed to
each (multiprocessing synchronized arrays), so the API counts every worker's verdicts without
any message between them. `poh hub serve` (no ingest) has no live state: its broker check says
so instead of guessing.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import dataclass
from typing import Any

from sync.wire.messages import AckResult

RESULTS: tuple[AckResult, ...] = (AckResult.STORED, AckResult.DUPLICATE, AckResult.REFUSED)


@dataclass(frozen=True)
class LinkView:
    worker: int
    started: bool
    connected: bool
    since: float  # Unix time of the last change (0 when never started)


class LiveState:
    """Counters and link flags in shared memory (picklable into spawned workers)."""

    def __init__(self, workers: int) -> None:
        ctx = mp.get_context("spawn")
        self.workers = workers
        self._ingested: Any = ctx.Array("q", len(RESULTS))
        # per worker: 0 never started, 1 down, 2 up
        self._links: Any = ctx.Array("b", workers)
        self._since: Any = ctx.Array("d", workers)

    def count(self, result: AckResult, n: int = 1) -> None:
        with self._ingested.get_lock():
            self._ingested[RESULTS.index(result)] += n

    def ingested(self) -> dict[str, int]:
        with self._ingested.get_lock():
            return {r.value: int(self._ingested[i]) for i, r in enumerate(RESULTS)}

    def link(self, worker: int, up: bool) -> None:
        with self._links.get_lock():
            state = 2 if up else 1
            if self._links[worker] != state:
                self._links[worker] = state
                self._since[worker] = time.time()

    def links(self) -> list[LinkView]:
        with self._links.get_lock():
            return [LinkView(i, self._links[i] != 0, self._links[i] == 2, self._since[i])
                    for i in range(self.workers)]
