"""The light the kiosk's screen put on the scene over one exposure, from the ScreenTimeline.

Exact over the exposure: each state the screen presented is weighted by how long it overlapped
the exposure (a colour change inside an exposure mixes the two, as a real rolling or global
shutter integrates it). Drive becomes linear light with gamma 2.2, as in the evaluation.
"""

from __future__ import annotations

import numpy as np

from app.capture.screen_timeline import ScreenTimeline

GAMMA = 2.2


def presented_light(timeline: ScreenTimeline, t0: float, t1: float) -> np.ndarray:
    """Mean linear RGB light of the screen over [t0, t1] (float32, 3 values)."""
    first = timeline.at(t0)
    if t1 <= t0:
        return (np.asarray(first.rgb, np.float64) ** GAMMA).astype(np.float32)
    later = [s for s in timeline.since(t0) if t0 < s.t < t1]
    edges = [t0, *(s.t for s in later), t1]
    states = [first, *later]
    acc = np.zeros(3)
    for state, a, b in zip(states, edges, edges[1:], strict=False):
        acc += (b - a) * np.asarray(state.rgb, np.float64) ** GAMMA
    return (acc / (t1 - t0)).astype(np.float32)
