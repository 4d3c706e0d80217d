"""Family B's drawn settings: rooms, cameras, prints and screens (one family, one set of ranges)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

_RANGES: dict[str, tuple[float, float]] = {
    "ambient": (0.25, 0.60),  # room light on the face, linear
    "room_elev": (15.0, 70.0),  # room light elevation, degrees
    "room_azim": (-60.0, 60.0),  # room light azimuth, degrees
    "room_tint": (-0.12, 0.12),  # red/blue imbalance of the room light (log)
    "screen": (0.22, 0.50),  # kiosk screen irradiance at full white
    "screen_gamma": (2.0, 2.5),  # the kiosk panel's real transfer curve
    "screen_below": (5.0, 25.0),  # screen centre below the camera axis, degrees
    "readout": (0.35, 0.95),  # rolling-shutter readout, fraction of the frame period
    "exposure": (0.3, 1.0),  # exposure, fraction of the frame period
    "read_noise": (0.002, 0.010),
    "shot_noise": (0.0004, 0.002),
    "ae_react": (0.05, 0.35),  # auto exposure: fraction of the error corrected per frame
    "ae_drift": (0.003, 0.015),
    "awb_react": (0.02, 0.15),  # auto white balance chasing the frame's grey
    "saturation": (1.0, 1.4),  # colour correction matrix strength
    "tone_gamma": (2.0, 2.4),  # the camera's tone curve (the analyzer assumes sRGB)
    "sharpen": (0.2, 1.0),
    "jpeg": (55.0, 90.0),
    "sway": (0.1, 0.6),  # head or hand motion, pixels per frame (random walk)
    "depth_scale": (0.7, 1.3),  # face depth relative to the mesh's
    "skin_spec": (0.0, 0.08),  # oily skin's specular answer
    "curl": (0.0, 0.6),  # print curl, radians across the half width
    "tilt": (-15.0, 15.0),  # print/screen yaw, degrees
    "pitch": (-10.0, 10.0),
    "gloss": (0.0, 0.35),  # print gloss (specular answer)
    "halftone": (2.5, 6.0),  # halftone period, fine pixels (3x the frame's)
    "paper": (0.01, 0.05),  # paper texture amplitude
    "backlight": (0.35, 0.9),  # replay panel brightness vs the room-lit face
    "panel_gamma": (2.0, 2.6),
    "reflect": (0.02, 0.06),  # replay glass reflectance
    "glare": (0.0, 1.0),  # mirrored kiosk screen on the replay glass
    "flicker": (0.0, 0.25),  # replay panel PWM depth
    "pwm_hz": (60.0, 300.0),
    "retint_delay": (0.0, 0.012),  # in-sync re-tint's residual delay, s
}


@dataclass(frozen=True)
class SettingsB:
    values: dict[str, float]
    fps: float

    def __getattr__(self, name: str) -> float:
        try:
            return self.values[name]
        except KeyError as exc:
            raise AttributeError(name) from exc


def draw_settings_b(rng: np.random.Generator) -> SettingsB:
    vals: dict[str, Any] = {k: float(rng.uniform(*r)) for k, r in _RANGES.items()}
    return SettingsB(vals, float(rng.choice([25.0, 30.0])))
