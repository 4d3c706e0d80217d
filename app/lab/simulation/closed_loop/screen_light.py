"""The light the kiosk's screen put on the scene over one exposure, from the ScreenTimeline.

Exact over the exposure: each state the screen presented is weighted by how long it overlapped
the exposure (a colour change inside an exposure mixes the two, as a real rolling or global
shutter integrates it). Drive becomes linear light with gamma 2.2, as in the evaluation.

A two-sided cue (a state with rgb_right) lights the face from either side: the light is then
the two halves' lights stacked, shape (2, 3) [left, right] (halves as the person facing the
screen sees them), which the family-A actors take as is. A whole-screen state inside such an
exposure lights both halves alike; an exposure with no two-sided state gives the (3,) light.
"""

from __future__ import annotations

import numpy as np

from app.capture.screen_timeline import ScreenState, ScreenTimeline

GAMMA = 2.2


def _drive(state: ScreenState, sides: bool) -> np.ndarray:
    """Linear light of one state: (3,), or (2, 3) [left, right] when sides."""
    rgb = (state.left, state.right) if sides else state.rgb
    return np.asarray(rgb, np.float64) ** GAMMA


def presented_light(timeline: ScreenTimeline, t0: float, t1: float) -> np.ndarray:
    """Mean linear RGB light of the screen over [t0, t1] (float32): 3 values, or (2, 3)
    [left, right] when a two-sided cue was up during the exposure."""
    first = timeline.at(t0)
    if t1 <= t0:
        return _drive(first, first.rgb_right is not None).astype(np.float32)
    later = [s for s in timeline.since(t0) if t0 < s.t < t1]
    edges = [t0, *(s.t for s in later), t1]
    states = [first, *later]
    sides = any(s.rgb_right is not None for s in states)
    acc = np.zeros((2, 3) if sides else 3)
    for state, a, b in zip(states, edges, edges[1:], strict=False):
        acc += (b - a) * _drive(state, sides)
    return (acc / (t1 - t0)).astype(np.float32)
