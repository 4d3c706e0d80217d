"""Crash points for the kill -9 tests: a process pauses at a named point so a test can kill it.

Only active when POH_FAULT_PAUSE names the point; the pausing process writes its pid to the
file named by POH_FAULT_MARKER so the test knows when to send SIGKILL.
"""

from __future__ import annotations

import os
import time

ENV_POINT = "POH_FAULT_PAUSE"
ENV_MARKER = "POH_FAULT_MARKER"


def fault_point(name: str) -> None:
    if os.environ.get(ENV_POINT) != name:
        return
    marker = os.environ.get(ENV_MARKER)
    if marker:
        with open(marker, "w", encoding="ascii") as fh:
            fh.write(str(os.getpid()))
    while True:
        time.sleep(3600)
