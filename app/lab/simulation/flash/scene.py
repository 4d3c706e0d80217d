"""Simulated active-liveness recordings: the 3D scan, lit by the room and the kiosk screen, and
the attacks (print, passive screen replay, re-tinting replay with lag, photo moved to fake a turn).

Everything passes through the same camera (auto exposure drift, white balance drift, noise,
sRGB, 8 bit). Light is linear RGB; the screen drive (plan colours) becomes light with gamma 2.2.
The live person performs all five ACTIVE_3D actions: head turns and looking up by rotating the
scan, blink and smile as expressions (flash/expressions.py: upper lids painted over the eyes, the
mesh deformed around the mouth). The moved photo only turns: asked to blink or smile it stays
still, and fails that action.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from app.capture.plan import ACTIONS, ActionCue, ChallengePlan, make_plan
from app.capture.recording import Recording, plan_cues
from app.lab.simulation.flash.expressions import (
    BLINK_STEPS,
    SMILE_STEPS,
    SMILE_STRENGTH,
    Blink,
    blink_closure,
    draw_blinks,
    face_rig,
    paint_blink,
    quantise,
    ramp,
    smile_vertices,
)
from app.lab.simulation.flash.settings import SimSettings
from app.lab.simulation.render3d import (
    Camera,
    GBuffer,
    Mesh,
    directional,
    linear_to_srgb,
    load_face,
    load_landmarks,
    render,
    rotation,
    screen_irradiance,
    sheet,
    with_vertices,
)

SPECIES_FLASH = ("print", "replay", "retint0", "retint2")
SPECIES_ACTIVE = ("moved_photo",)
SIM_ACTIONS = ACTIONS  # every action is rendered for the live person
CACHE_SIZE = 128  # renders kept: turn poses, the attack photo poses, expression levels
FPS = 30.0
SCREEN_W, SCREEN_H = 300.0, 200.0
WALL_ALBEDO = np.array([0.45, 0.42, 0.38], np.float32)
_LUT_IN = np.linspace(0.0, 1.0, 4096, dtype=np.float32)
_LUT = np.round(linear_to_srgb(_LUT_IN) * 255).astype(np.uint8)


@dataclass(frozen=True)
class Lit:
    """A still G-buffer with its light maps: ambient (per pixel) and screen irradiance."""

    g: GBuffer
    ambient: np.ndarray
    screen: np.ndarray


class FaceScene:
    """The james scan with a cache of renders and screen irradiance by pose (2 degree steps) and
    expression (blink closure in quarters, smile in tenths); the room light map, cheap, is made
    per call."""

    def __init__(self, face3d: Path, cam: Camera | None = None) -> None:
        self.mesh: Mesh = load_face(face3d)
        self.rig = face_rig(load_landmarks(face3d), self.mesh.verts)
        self.cam = cam or Camera()
        self._cache: OrderedDict[tuple[int, int, int, int], tuple[GBuffer, np.ndarray]] = (
            OrderedDict())
        self._smiles: dict[int, Mesh] = {}

    def lit(self, yaw: float, pitch: float, elev: float, blink: float = 0.0,
            smile: float = 0.0) -> Lit:
        """blink: eyelid closure 0..1; smile: 0..1 of a full smile."""
        key = (int(round(yaw / 2)) * 2, int(round(pitch / 2)) * 2,
               round(quantise(blink, BLINK_STEPS) * BLINK_STEPS),
               round(quantise(smile, SMILE_STEPS) * SMILE_STEPS))
        hit = self._cache.get(key)
        if hit is None:
            rot = rotation(key[0], key[1])
            g = render(self._smile_mesh(key[3]), rot, (0.0, 0.0, 0.0), self.cam)
            albedo = paint_blink(g, rot, self.cam, self.rig, key[2] / BLINK_STEPS)
            scr = screen_irradiance(g, self.cam, SCREEN_W, SCREEN_H, 3)
            hit = (GBuffer(albedo, g.normal, np.zeros((1, 1, 3), np.float32), g.mask), scr)
            self._cache[key] = hit
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        g, scr = hit
        return Lit(g, _ambient_map(g, elev), scr)

    def _smile_mesh(self, level: int) -> Mesh:
        if level == 0:
            return self.mesh
        mesh = self._smiles.get(level)
        if mesh is None:
            verts = smile_vertices(self.mesh.verts, self.rig, level / SMILE_STEPS)
            mesh = self._smiles[level] = with_vertices(self.mesh, verts)
        return mesh


def _ambient_map(g: GBuffer, elev: float) -> np.ndarray:
    e = math.radians(elev)
    return (0.35 + 0.65 * directional(g, (0.0, math.sin(e), math.cos(e)))).astype(np.float32)


def sim_plan(method: str, rng: np.random.Generator) -> ChallengePlan:
    """A plan from a fresh nonce (every ACTIVE_3D action can be rendered)."""
    plan = make_plan(method, rng.bytes(16))
    if not all(a.action in SIM_ACTIONS for a in plan.actions):
        raise RuntimeError(f"the simulator cannot render the plan's actions {plan.actions}")
    return plan


@dataclass(frozen=True)
class _Performance:
    """How the live person performs the expression actions of a plan (drawn once per trial)."""

    blinks: tuple[Blink, ...]
    smiles: tuple[tuple[ActionCue, float], ...]  # window and strength

    @staticmethod
    def draw(acts: tuple[ActionCue, ...], rng: np.random.Generator) -> _Performance:
        blinks: list[Blink] = []
        smiles: list[tuple[ActionCue, float]] = []
        for a in acts:
            if a.action == "BLINK":
                blinks.extend(draw_blinks(rng, a.t_start, a.t_end))
            elif a.action == "SMILE":
                smiles.append((a, float(rng.uniform(*SMILE_STRENGTH))))
        return _Performance(tuple(blinks), tuple(smiles))

    def at(self, t: float, exposure: float) -> tuple[float, float]:
        """(blink closure, smile amount) of the frame at t."""
        blink = blink_closure(self.blinks, t, exposure) if self.blinks else 0.0
        smile = max((ramp(t, a.t_start, a.t_end) * k for a, k in self.smiles), default=0.0)
        return blink, smile


def _screen_light(times: np.ndarray, plan: ChallengePlan, t0: float, exposure: float
                  ) -> np.ndarray:
    """Per frame screen light (linear RGB), integrated over the exposure; neutral outside."""
    cols, _ = plan_cues(plan, t0)
    out = np.empty((len(times), 3), np.float32)
    for i, t in enumerate(times):
        acc = np.zeros(3)
        for k in range(5):
            ts = t - exposure / 2 + exposure * (k + 0.5) / 5
            rgb = next((c.rgb for c in cols if c.t_start <= ts < c.t_end), (0.5, 0.5, 0.5))
            acc += np.asarray(rgb) ** 2.2
        out[i] = acc / 5
    return out


class _Camera:
    """Auto exposure (drifting and partly chasing the frame's brightness), noise, sRGB."""

    def __init__(self, s: SimSettings, rng: np.random.Generator) -> None:
        self.s = s
        self.rng = rng
        self.log_gain = 0.0
        self.wb = np.ones(3)
        self.history: list[float] = []

    def shoot(self, lin: np.ndarray) -> np.ndarray:
        s = self.s
        self.log_gain += float(self.rng.normal(0.0, s.ae_drift))
        self.wb = self.wb * np.exp(self.rng.normal(0.0, s.ae_drift / 2, 3))
        lum = float(lin.mean())
        self.history.append(lum)
        lagged = self.history[max(0, len(self.history) - 3)]
        react = (np.mean(self.history) / max(lagged, 1e-4)) ** s.ae_react
        img = lin * (math.exp(self.log_gain) * react) * self.wb.astype(np.float32)
        noise_sd = np.sqrt(np.clip(img, 0, 1) / 4000.0 + s.noise ** 2).astype(np.float32)
        img = img + self.rng.standard_normal(img.shape, dtype=np.float32) * noise_sd
        idx = np.clip(img * 4095.0, 0, 4095).astype(np.int32)
        return np.ascontiguousarray(_LUT[idx][:, :, ::-1])


def _compose(lit: Lit, s: SimSettings, light: np.ndarray, emit: np.ndarray | None = None,
             shift: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Linear frame: surface (albedo x (ambient + screen)) over the wall, plus any emission."""
    m = lit.g.mask
    amb = s.ambient * lit.ambient[..., None]
    wall_amb: float | np.ndarray = s.ambient * 0.8
    if s.room_rgb != (1.0, 1.0, 1.0):  # white keeps the arithmetic (and the figures) as they were
        amb = amb * np.asarray(s.room_rgb, np.float32)
        wall_amb = wall_amb * np.asarray(s.room_rgb, np.float32)
    surf = lit.g.albedo * (amb + s.screen * lit.screen[..., None] * light[None, None, :])
    if emit is not None:
        surf = surf + emit
    wall = WALL_ALBEDO * (wall_amb + s.screen * 0.04 * light)
    img: np.ndarray = np.where(m[..., None], surf, wall[None, None, :]).astype(np.float32)
    if shift != (0, 0):
        mat = np.array([[1, 0, shift[0]], [0, 1, shift[1]]], np.float32)
        img = cv2.warpAffine(img, mat, img.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)
    return cv2.GaussianBlur(img, (0, 0), 0.6)


def _photo(scene: FaceScene, s: SimSettings, rng: np.random.Generator) -> np.ndarray:
    """The attacker's photo of the person: the face under some other room light, on a wall."""
    lit = scene.lit(float(rng.uniform(-4, 4)), float(rng.uniform(-3, 3)), 50.0)
    img = _compose(lit, s, np.full(3, 0.2, np.float32))
    return np.asarray(img / max(float(np.percentile(img, 99)), 1e-3), np.float32)


def _sheet_lit(scene: FaceScene, image: np.ndarray, s: SimSettings, yaw: float, pitch: float,
               bend: float) -> Lit:
    cam = scene.cam
    crop = image[8:248, 44:212]  # the head and a little wall: a hand-held print
    depth = 90.0  # the sheet where the face would be
    width = crop.shape[1] * (cam.distance - depth) / cam.focal  # life size
    mesh = sheet(crop, width, bend)
    g = render(mesh, rotation(yaw, pitch), (0.0, 0.0, depth), cam)
    return Lit(g, _ambient_map(g, s.ambient_elev),
               screen_irradiance(g, cam, SCREEN_W, SCREEN_H, 2))


def simulate(scene: FaceScene, species: str, method: str, s: SimSettings,
             rng: np.random.Generator, plan: ChallengePlan | None = None) -> Recording:
    """One recording: species 'live' or an attack; method FLASHING or ACTIVE_3D. plan: the
    challenge to answer (a kiosk session's), or None to draw one from rng."""
    if plan is None:
        plan = sim_plan(method, rng)
    elif plan.method != method or not all(a.action in SIM_ACTIONS for a in plan.actions):
        raise ValueError(f"cannot simulate a {plan.method} plan as {method}")
    t0 = 0.3
    times = np.arange(int((plan.duration + t0 + 0.2) * FPS)) / FPS + float(rng.uniform(0, 1))
    start = float(times[0]) + t0
    exposure = float(rng.uniform(0.5, 1.0)) / FPS
    light = _screen_light(times + s.latency, plan, start, exposure)
    cam = _Camera(s, rng)
    _, acts = plan_cues(plan, start)
    frames: list[np.ndarray] = []
    pos = np.zeros(2)
    if species == "live":
        perf = _Performance.draw(acts, rng) if any(
            a.action in ("BLINK", "SMILE") for a in acts) else None
        for i, t in enumerate(times):
            yaw, pitch = 0.0, 0.0
            for a in acts:
                if a.t_start <= t < a.t_end:
                    amp = ramp(t, a.t_start, a.t_end) * s.turn
                    if a.action == "TURN_LEFT":
                        yaw = amp
                    elif a.action == "TURN_RIGHT":
                        yaw = -amp
                    elif a.action == "LOOK_UP":
                        pitch = amp * 0.7
            blink, smile = perf.at(float(t), exposure) if perf is not None else (0.0, 0.0)
            pos += rng.normal(0.0, s.jitter, 2) * cam_px_per_mm(scene)
            lit = scene.lit(yaw, pitch, s.ambient_elev, blink, smile)
            frames.append(cam.shoot(_compose(lit, s, light[i],
                                             shift=(int(round(pos[0])), int(round(pos[1]))))))
    else:
        photo = _photo(scene, s, rng)
        flat = _sheet_lit(scene, photo, s, s.tilt, float(rng.uniform(-5, 5)),
                          s.bend if species in ("print", "moved_photo") else 0.0)
        mean_irr = float(flat.screen[flat.g.mask].mean()) if flat.g.mask.any() else 0.0
        glare_map = _glare_map(flat.g.mask, rng)
        turned: dict[int, Lit] = {}
        lag = 2 if species == "retint2" else 0
        for i, t in enumerate(times):
            lit = flat
            if species == "moved_photo":
                # The photo is swung about its vertical axis for the turns (and for LOOK_UP,
                # the other way); asked to blink or smile it is held still: a photo cannot.
                yaw = 0.0
                for a in acts:
                    if a.t_start <= t < a.t_end and a.action not in ("BLINK", "SMILE"):
                        yaw = ramp(t, a.t_start, a.t_end) * s.turn * (
                            1 if a.action == "TURN_LEFT" else -1)
                key = int(round(yaw / 3.0)) * 3
                if key != 0:
                    if key not in turned:
                        turned[key] = _sheet_lit(scene, photo, s, s.tilt + key, 0.0, s.bend)
                    lit = turned[key]
            emit = None
            if species in ("replay", "retint0", "retint2"):
                # The screen's own light replaces reflection of the room; its glass reflects a
                # few percent of the flash, and mirrors the kiosk screen as a glare patch.
                base = s.ambient * 0.9
                tint = np.ones(3, np.float32)
                if species != "replay":
                    prev = light[max(0, i - lag)]
                    tint = (base + s.screen * mean_irr * prev) / base
                emit = lit.g.albedo * base * tint
                refl = s.reflect + glare_map * (s.glare * 0.3)
                emit = emit + (s.screen * refl)[..., None] * light[i][None, None, :]
                lit = Lit(_dark(lit.g), lit.ambient, lit.screen)
            pos += rng.normal(0.0, s.jitter, 2) * cam_px_per_mm(scene)
            frames.append(cam.shoot(_compose(lit, s, light[i], emit,
                                             shift=(int(round(pos[0])), int(round(pos[1]))))))
    cols, acts = plan_cues(plan, start)
    return Recording(method, plan.nonce, FPS, tuple(float(t) for t in times), tuple(frames),
                     cols, acts)


def cam_px_per_mm(scene: FaceScene) -> float:
    return scene.cam.focal / scene.cam.distance


def _dark(g: GBuffer) -> GBuffer:
    """A screen's surface does not reflect the room diffusely: zero albedo, keep the mask."""
    return GBuffer(np.zeros_like(g.albedo), g.normal, g.position, g.mask)


def _glare_map(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    cy, cx = float(rng.choice(ys)), float(rng.choice(xs))
    r = float(rng.uniform(15, 40))
    yy, xx = np.mgrid[0:h, 0:w]
    blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r)).astype(np.float32)
    return blob * mask
