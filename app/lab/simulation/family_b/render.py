"""Family B's FLASHING recordings: a live face, a print, a passive replay screen and a replay
that re-tints itself in sync with the kiosk's colours, through the rolling-shutter camera.

Each camera row is exposed over its own window (the rolling shutter): when the kiosk screen
changes colour mid-frame, the top and the bottom of the face see different colours. The frame's
time stamp is the centre of its middle row's exposure.
"""

from __future__ import annotations

import math

import numpy as np

from app.capture.plan import ChallengePlan, ColourCue, make_plan
from app.capture.recording import Recording, plan_cues
from app.lab.simulation.family_b.camera import RollingCamera
from app.lab.simulation.family_b.faces import FRAME_H, FRAME_W, FaceSurface, Portrait
from app.lab.simulation.family_b.settings import SettingsB
from app.lab.simulation.family_b.surfaces import (
    Layer,
    live_layer,
    panel_layer,
    print_layer,
    wall,
)

SPECIES_B = ("print", "replay", "retint")
NEUTRAL = (0.5, 0.5, 0.5)
SAMPLES = 4  # samples of the screen's drive across one row's exposure
HALF_AZIM = (6.0, 14.0)  # degrees: a screen half's centre off the screen's, seen from the face


def drive_at(cues: tuple[ColourCue, ...], t: np.ndarray, right: bool = False) -> np.ndarray:
    """The kiosk screen's drive (0..1 RGB) at times t (any shape) -> t.shape + (3,): the whole
    screen's or its left half's, or with right=True its right half's."""
    out = np.broadcast_to(np.asarray(NEUTRAL, np.float64), (*t.shape, 3)).copy()
    for c in cues:
        sel = (t >= c.t_start) & (t < c.t_end)
        out[sel] = c.right if right else c.rgb
    return out


def row_light(cues: tuple[ColourCue, ...], rows_t: np.ndarray, exposure: float,
              gamma: float, right: bool = False) -> np.ndarray:
    """Linear screen light per row (H, 3), averaged over each row's exposure."""
    k = (np.arange(SAMPLES) + 0.5) / SAMPLES - 0.5
    ts = rows_t[:, None] + exposure * k[None, :]
    return np.asarray((drive_at(cues, ts, right) ** gamma).mean(1), np.float32)


def _sway(state: np.ndarray, s: SettingsB, rng: np.random.Generator) -> np.ndarray:
    """Random walk of (dx, dy, angle) pulled back towards rest."""
    step = rng.normal(0.0, [s.sway, s.sway, 0.002])
    return np.asarray(0.95 * state + step, np.float64)


def _matrix(state: np.ndarray) -> np.ndarray:
    dx, dy, a = state
    c, sn = math.cos(a), math.sin(a)
    cx, cy = 160.0, 120.0
    return np.array([[c, -sn, cx - c * cx + sn * cy + dx],
                     [sn, c, cy - sn * cx - c * cy + dy]], np.float32)


def simulate_b(portrait: Portrait, face: FaceSurface, species: str, s: SettingsB,
               rng: np.random.Generator, plan: ChallengePlan | None = None,
               halves: bool = False) -> Recording:
    """One FLASHING recording: species 'live' (face: the 2.5D surface) or an attack made from
    the portrait (print, replay, retint). halves: draw a two-sided plan (when plan is None)."""
    if plan is None:
        plan = make_plan("FLASHING", rng.bytes(16), halves=halves)
    # Drawn only for two-sided plans: whole-screen recordings of a seed stay as they were.
    azim = float(rng.uniform(*HALF_AZIM)) if plan.halves else None
    fps = s.fps
    t_origin = float(rng.uniform(0, 1))
    start = t_origin + 0.3
    cues, acts = plan_cues(plan, start)
    n = int((plan.duration + 0.5) * fps)
    cam = RollingCamera(s, rng, FRAME_H)
    wall_amb, wall_dif = wall(s, rng)
    retint = species == "retint"
    if species == "live":
        layer: Layer = live_layer(face, s, azim)
    elif species == "print":
        layer = print_layer(portrait, s, rng, azim)
    elif species in ("replay", "retint"):
        layer, _ = panel_layer(portrait, s, rng, azim is not None)
    else:
        raise ValueError(f"unknown family-b species {species!r}")
    # The re-tinting attacker multiplies the video by what a face would answer: its light
    # grows with the kiosk's colour (as it guesses it, through gamma 2.2) on its own display,
    # which updates at 60 Hz after a small residual delay. Facing two halves, it blends them
    # across its picture (the left half's colour on the image's right), as a face's cheeks
    # would see them, without a 3D model of the face.
    k_tint = s.screen / s.ambient * float(rng.uniform(0.6, 1.4))
    ramp = np.linspace(-0.5, 0.5, FRAME_W, dtype=np.float32)[None, :, None]
    state = np.zeros(3)
    times: list[float] = []
    frames: list[np.ndarray] = []
    period = 1.0 / fps
    for i in range(n):
        t_frame = t_origin + i * period
        rows_t = cam.row_times(t_frame)
        e = row_light(cues, rows_t, cam.exposure, s.screen_gamma)[:, None, :]  # (H, 1, 3)
        state = _sway(state, s, rng)
        m = layer.at(_matrix(state))
        surf = m["ambient"] + m["diffuse"] * e + m["specular"] * e
        if layer.halves:  # e is the left half's light; the wall sees the halves' mean
            e_r = row_light(cues, rows_t, cam.exposure, s.screen_gamma, right=True)[:, None, :]
            surf = surf + m["diffuse_right"] * e_r + m["specular_right"] * e_r
            e = (e + e_r) / 2
        if species in ("replay", "retint"):
            flick = 1.0 + s.flicker * np.sin(2 * math.pi * s.pwm_hz * rows_t)[:, None, None]
            emitted = m["emission"] * flick
            if retint:
                shown = np.floor((rows_t - s.retint_delay) * 60.0) / 60.0
                guess = (drive_at(cues, shown) ** 2.2)[:, None, :]
                if layer.halves:
                    g_r = (drive_at(cues, shown, right=True) ** 2.2)[:, None, :]
                    guess = (guess + g_r) / 2 + (guess - g_r) * ramp
                emitted = emitted * (1.0 + k_tint * guess) / (1.0 + k_tint * 0.3)
            surf = surf + emitted
        a = m["alpha"]
        scene = a * surf + (1.0 - a) * (wall_amb + wall_dif * e)
        frames.append(cam.shoot(scene.astype(np.float32)))
        times.append(t_frame + s.readout * period / 2)
    return Recording("FLASHING", plan.nonce, fps, tuple(times), tuple(frames), cues, acts)
