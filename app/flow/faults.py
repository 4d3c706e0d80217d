"""Fault injection for crash tests: POH_FAULT=<point> kills the process there with SIGKILL.

Only the crash tests set it; a kiosk never does. SIGKILL, not an exception: nothing may run
after it (no finally, no atexit), as when the power goes.
"""

from __future__ import annotations

import logging
import os
import signal

log = logging.getLogger(__name__)

ENV = "POH_FAULT"
POINTS = ("verdict-before-commit", "verdict-after-commit")


def maybe_crash(point: str) -> None:
    if point not in POINTS:
        raise ValueError(f"unknown fault point {point}")
    if os.environ.get(ENV) == point:
        log.warning("fault injection: killing the process at %s", point)
        os.kill(os.getpid(), signal.SIGKILL)
