"""Simulated active-liveness recordings: the 3D scan, lit by the room and the kiosk screen, and
the attacks (print, passive screen replay, re-tinting replay with lag, photo moved to fake a turn).

Everything passes through the same camera (auto exposure drift, white balance drift, noise,
sRGB, 8 bit). Light is linear RGB; the screen drive (plan colours) becomes light with gamma 2.2.
The frame-by-frame parts (the lit scan, the camera, the actors) live in flash/face_scene.py and
flash/actors.py, shared with the closed-loop camera; here they are driven by the plan's times.
The live person performs all five ACTIVE_3D actions: head turns and looking up by rotating the
scan, blink and smile as expressions (flash/expressions.py: upper lids painted over the eyes, the
mesh deformed around the mouth). The moved photo only turns: asked to blink or smile it stays
still, and fails that action.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from app.capture.plan import ACTIONS, ChallengePlan, make_plan
from app.capture.recording import Recording, plan_cues
from app.lab.simulation.flash.actors import (
    SPECIES_ACTIVE,
    SPECIES_FLASH,
    AttackActor,
    LiveActor,
    Performance,
    head_pose,
    photo_yaw,
)
from app.lab.simulation.flash.face_scene import FaceScene, SimCamera
from app.lab.simulation.flash.settings import SimSettings

__all__ = ["FPS", "SIM_ACTIONS", "SPECIES_ACTIVE", "SPECIES_FLASH", "FaceScene", "exposure_light",
           "sim_plan", "simulate"]

SIM_ACTIONS = ACTIONS  # every action is rendered for the live person
FPS = 30.0
SAMPLES = 5  # the screen's light is sampled this many times across an exposure


def sim_plan(method: str, rng: np.random.Generator, halves: bool = False) -> ChallengePlan:
    """A plan from a fresh nonce (every ACTIVE_3D action can be rendered)."""
    plan = make_plan(method, rng.bytes(16), halves=halves)
    if not all(a.action in SIM_ACTIONS for a in plan.actions):
        raise RuntimeError(f"the simulator cannot render the plan's actions {plan.actions}")
    return plan


def exposure_light(t: float, exposure: float,
                   drive_at: Callable[[float], tuple[float, float, float]]) -> np.ndarray:
    """The screen's linear light over the exposure centred on t (the mean of SAMPLES samples of
    drive_at, the screen's drive at a time)."""
    acc = np.zeros(3)
    for k in range(SAMPLES):
        ts = t - exposure / 2 + exposure * (k + 0.5) / SAMPLES
        acc += np.asarray(drive_at(ts)) ** 2.2
    return acc / SAMPLES


def _screen_light(times: np.ndarray, plan: ChallengePlan, t0: float, exposure: float
                  ) -> np.ndarray:
    """Per frame screen light (linear RGB), integrated over the exposure; neutral outside.
    (n, 3), or (n, 2, 3) for the left and right halves of a two-sided plan."""
    cols, _ = plan_cues(plan, t0)

    def drive(ts: float) -> tuple[float, float, float]:
        return next((c.rgb for c in cols if c.t_start <= ts < c.t_end), (0.5, 0.5, 0.5))

    def drive_right(ts: float) -> tuple[float, float, float]:
        return next((c.right for c in cols if c.t_start <= ts < c.t_end), (0.5, 0.5, 0.5))

    if plan.halves:
        both = np.empty((len(times), 2, 3), np.float32)
        for i, t in enumerate(times):
            both[i, 0] = exposure_light(t, exposure, drive)
            both[i, 1] = exposure_light(t, exposure, drive_right)
        return both
    out = np.empty((len(times), 3), np.float32)
    for i, t in enumerate(times):
        out[i] = exposure_light(t, exposure, drive)
    return out


def simulate(scene: FaceScene, species: str, method: str, s: SimSettings,
             rng: np.random.Generator, plan: ChallengePlan | None = None,
             halves: bool = False) -> Recording:
    """One recording: species 'live' or an attack; method FLASHING or ACTIVE_3D. plan: the
    challenge to answer (a kiosk session's), or None to draw one from rng (two-sided with
    halves)."""
    if plan is None:
        plan = sim_plan(method, rng, halves)
    elif plan.method != method or not all(a.action in SIM_ACTIONS for a in plan.actions):
        raise ValueError(f"cannot simulate a {plan.method} plan as {method}")
    t0 = 0.3
    times = np.arange(int((plan.duration + t0 + 0.2) * FPS)) / FPS + float(rng.uniform(0, 1))
    start = float(times[0]) + t0
    exposure = float(rng.uniform(0.5, 1.0)) / FPS
    light = _screen_light(times + s.latency, plan, start, exposure)
    cam = SimCamera(s, rng)
    _, acts = plan_cues(plan, start)
    frames: list[np.ndarray] = []
    if species == "live":
        perf = Performance.draw(acts, rng)
        live = LiveActor(scene, s, rng)
        for i, t in enumerate(times):
            yaw, pitch = head_pose(t, acts, s.turn)
            blink, smile = perf.at(float(t), exposure)
            frames.append(cam.shoot(live.linear(light[i], yaw, pitch, blink, smile)))
    else:
        attack = AttackActor(scene, species, s, rng)
        for i, t in enumerate(times):
            yaw = photo_yaw(t, acts, s.turn) if species == "moved_photo" else 0.0
            frames.append(cam.shoot(attack.linear(light[i], light[max(0, i - attack.lag)],
                                                  yaw)))
    cols, acts = plan_cues(plan, start)
    return Recording(method, plan.nonce, FPS, tuple(float(t) for t in times), tuple(frames),
                     cols, acts)
