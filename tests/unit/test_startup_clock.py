"""The start-up figures of `poh kiosk --report-startup`: time since this process started (from
the kernel's record of it) and the CPU time spent."""

from __future__ import annotations

import time

from app.kiosk.startup_clock import cpu_seconds, seconds_since_process_start


def test_process_age_grows_with_the_clock() -> None:
    first = seconds_since_process_start()
    time.sleep(0.05)
    second = seconds_since_process_start()
    assert 0.0 <= first <= second
    assert second - first < 5.0


def test_cpu_time_counts_work_done() -> None:
    before = cpu_seconds()
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:
        pass
    assert cpu_seconds() - before >= 0.04
