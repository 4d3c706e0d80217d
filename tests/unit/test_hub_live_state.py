"""The hub's live state is shared memory: what a spawned worker process counts and reports,
the API's process reads (as `poh hub run --workers N` runs workers 1..N-1)."""

from __future__ import annotations

import functools
import multiprocessing as mp

from sync.hub.live_state import LiveState
from sync.wire.messages import AckResult


def test_a_spawned_worker_counts_into_the_parents_state() -> None:
    live = LiveState(2)
    assert live.ingested() == {"stored": 0, "duplicate": 0, "refused": 0}
    assert [(v.started, v.connected) for v in live.links()] == [(False, False)] * 2
    live.count(AckResult.STORED, 3)
    live.link(0, True)
    ctx = mp.get_context("spawn")
    for target in (functools.partial(LiveState.count, live, AckResult.STORED, 5),
                   functools.partial(LiveState.count, live, AckResult.REFUSED, 1),
                   functools.partial(LiveState.link, live, 1, True)):
        child = ctx.Process(target=target)
        child.start()
        child.join(60)
        assert child.exitcode == 0
    assert live.ingested() == {"stored": 8, "duplicate": 0, "refused": 1}
    views = live.links()
    assert [(v.worker, v.started, v.connected) for v in views] == [(0, True, True),
                                                                   (1, True, True)]
    assert all(v.since > 0 for v in views)
    live.link(1, False)
    assert [v.connected for v in live.links()] == [True, False]
