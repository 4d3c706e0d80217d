"""Chaos over real processes (TLS mosquitto, `poh hub run`, `poh sync run` per booth): the
broker, the hub and booth drains killed at random moments while booths produce verdicts.
POH_CHAOS_SEED replays a run; the counts are printed (pytest -s)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.chaos import ChaosResult, run_chaos


def _check(result: ChaosResult, total: int, booths: int) -> None:
    print(result.summary())  # noqa: T201 (the counts are the test's report)
    assert sum(result.produced.values()) == total
    assert result.hub_verdicts == total, result.summary()
    assert result.hub_by_device == result.produced, result.summary()
    assert result.verified == total and not result.failed, result.summary()
    assert not result.gaps, result.summary()
    assert set(result.backlogs.values()) == {0}, result.summary()
    assert set(result.without_ack.values()) == {0}, result.summary()
    assert len(result.events) >= 3 and len(result.produced) == booths


def test_short_chaos(tmp_path: Path) -> None:
    _check(run_chaos(tmp_path, booths=3, total=300, rounds=1), 300, 3)


@pytest.mark.slow
def test_full_chaos_ten_thousand_verdicts(tmp_path: Path) -> None:
    _check(run_chaos(tmp_path, booths=3, total=10_000, rounds=3, settle=1800), 10_000, 3)
