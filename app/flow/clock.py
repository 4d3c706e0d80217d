"""The session's clock in the flow: moved by the times the caller pushes, never backwards."""

from __future__ import annotations

import time


class FlowClock:
    """The engine's clock, moved by the times the caller pushes (never backwards)."""

    def __init__(self, t0: float, wall0: float | None = None) -> None:
        self._t0 = self._now = t0
        self._wall0 = time.time() if wall0 is None else wall0

    def set(self, t: float) -> None:
        if t > self._now:
            self._now = t

    def monotonic(self) -> float:
        return self._now

    def wall(self) -> float:
        return self._wall0 + (self._now - self._t0)
