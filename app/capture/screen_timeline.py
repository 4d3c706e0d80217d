"""What the kiosk screen shows over time, as light and prompt: the record a closed-loop camera
(the lab's simulated person) reads to be lit by the screen.

The screen (the Qt flash renderer, or a headless stand-in) calls `show(t, rgb, action,
rgb_right)` right after each buffer swap that changes what is visible, on time.monotonic() (the
camera's clock): `rgb` is the screen's drive (0..1 per channel) over its whole area, or over its
left half when `rgb_right` gives the right half's (a two-sided flash cue, halves as the person
facing the screen sees them), `action` the prompt on it (TURN_LEFT, ...), or None. `at(t)`
answers what was visible at time t. Thread-safe: the UI thread writes, the camera thread reads.
Kept apart from PresentationLog (which numbers the plan's cues for the recording) because the
light also exists outside a challenge: the UI's own background.
"""

from __future__ import annotations

import bisect
import math
import threading
from dataclasses import dataclass

Rgb = tuple[float, float, float]

MAX_ENTRIES = 4096  # a session shows far fewer; older entries are dropped, never the newest


@dataclass(frozen=True)
class ScreenState:
    t: float  # presented since (time.monotonic())
    rgb: Rgb  # the whole screen, or its left half when rgb_right is set
    action: str | None
    rgb_right: Rgb | None = None  # the right half's drive; None: the whole screen shows rgb

    @property
    def left(self) -> Rgb:
        return self.rgb

    @property
    def right(self) -> Rgb:
        return self.rgb if self.rgb_right is None else self.rgb_right


class ScreenTimeline:
    """Append-only (in time) record of what the screen presented; see the module docstring."""

    def __init__(self, initial: Rgb = (0.07, 0.07, 0.07)) -> None:
        self._lock = threading.Lock()
        self._times: list[float] = []
        self._states: list[ScreenState] = []
        self._initial = ScreenState(-math.inf, _checked(initial), None)

    def show(self, t: float, rgb: Rgb, action: str | None = None,
             rgb_right: Rgb | None = None) -> None:
        if not math.isfinite(t):
            raise ValueError(f"presentation time must be finite, not {t!r}")
        state = ScreenState(float(t), _checked(rgb), action,
                            None if rgb_right is None else _checked(rgb_right))
        with self._lock:
            if self._times and t < self._times[-1]:
                raise ValueError(f"presentation at {t:.6f} is before the last one "
                                 f"at {self._times[-1]:.6f}")
            self._times.append(state.t)
            self._states.append(state)
            if len(self._times) > MAX_ENTRIES:
                del self._times[: len(self._times) - MAX_ENTRIES]
                del self._states[: len(self._states) - MAX_ENTRIES]

    def at(self, t: float) -> ScreenState:
        """What was on the screen at time t (the initial state before the first show)."""
        with self._lock:
            i = bisect.bisect_right(self._times, t)
            return self._states[i - 1] if i else self._initial

    def since(self, t: float) -> tuple[ScreenState, ...]:
        """Every state presented at or after t, in order (for exposures spanning changes)."""
        with self._lock:
            i = bisect.bisect_left(self._times, t)
            return tuple(self._states[i:])


def _checked(rgb: Rgb) -> Rgb:
    if len(rgb) != 3 or not all(math.isfinite(c) and 0.0 <= c <= 1.0 for c in rgb):
        raise ValueError(f"screen drive must be three values in 0..1, not {rgb!r}")
    return (float(rgb[0]), float(rgb[1]), float(rgb[2]))
