"""Simulator settings for the active liveness evaluation, in two disjoint families.

Tuning draws every setting from one set of ranges, held-out from another that does not overlap,
so thresholds set on tuning runs are reported on rooms, cameras and attacks they never saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Split = Literal["tuning", "heldout"]

# (tuning range, held-out range) for every drawn setting
_RANGES: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "ambient": ((0.30, 0.45), (0.45, 0.60)),  # room light on the face, linear
    "ambient_elev": ((35.0, 60.0), (60.0, 80.0)),  # degrees above the horizon, from the front
    "screen": ((0.35, 0.50), (0.25, 0.35)),  # kiosk screen irradiance scale at full white
    "noise": ((0.004, 0.008), (0.008, 0.012)),  # read noise, linear
    "ae_drift": ((0.0, 0.01), (0.01, 0.02)),  # per-frame log-gain random walk
    "ae_react": ((0.0, 0.2), (0.2, 0.4)),  # auto exposure chasing the flash
    "latency": ((-0.006, 0.006), (-0.012, -0.006)),  # residual screen/camera clock error, s
    "jitter": ((0.0, 0.4), (0.4, 0.8)),  # head sway, mm per frame (random walk)
    "tilt": ((-12.0, 12.0), (-20.0, -12.0)),  # print / screen yaw, degrees (mirrored at random)
    "bend": ((0.0, 0.08), (0.08, 0.16)),  # print bend, sagitta / half width
    "reflect": ((0.01, 0.03), (0.03, 0.06)),  # screen glass reflectance of the flash
    "glare": ((0.0, 0.5), (0.5, 1.0)),  # mirrored kiosk screen on the glass, vs skin's answer
    "turn": ((22.0, 30.0), (30.0, 40.0)),  # head turn amplitude, degrees
}


@dataclass(frozen=True)
class SimSettings:
    ambient: float
    ambient_elev: float
    screen: float
    noise: float
    ae_drift: float
    ae_react: float
    latency: float
    jitter: float
    tilt: float
    bend: float
    reflect: float
    glare: float
    turn: float
    # Colour of the room light per channel (mean 1). Not drawn: white in both families; the
    # evaluation's --room-light stress option sets it for every trial of a run.
    room_rgb: tuple[float, float, float] = (1.0, 1.0, 1.0)


def draw_settings(split: Split, rng: np.random.Generator) -> SimSettings:
    k = 0 if split == "tuning" else 1
    vals: dict[str, Any] = {name: float(rng.uniform(*r[k])) for name, r in _RANGES.items()}
    if rng.random() < 0.5:
        vals["tilt"] = -vals["tilt"]
    return SimSettings(**vals)


def setting_range(name: str, split: Split) -> tuple[float, float]:
    """The (low, high) a setting is drawn from in a family (e.g. the largest head turn)."""
    return _RANGES[name][0 if split == "tuning" else 1]
