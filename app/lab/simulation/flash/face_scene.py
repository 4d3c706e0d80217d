"""The lit 3D scan and the simulated camera, frame by frame: the parts every active-liveness
rendering shares (the evaluation's whole recordings in flash/scene.py and the closed-loop
camera in app/lab/simulation/closed_loop/).

Light is linear RGB; the screen drive becomes light with gamma 2.2. A frame is composed as the
surface (albedo x (room light + screen irradiance x screen light)) over the wall, plus any
emission (a replay screen), then shot by the camera: auto exposure drifting and partly chasing
the frame's brightness, white-balance drift, noise, sRGB, 8 bit.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from app.lab.simulation.flash.expressions import (
    BLINK_STEPS,
    SMILE_STEPS,
    face_rig,
    paint_blink,
    quantise,
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
    with_vertices,
)

CACHE_SIZE = 128  # renders kept: turn poses, the attack photo poses, expression levels
SCREEN_W, SCREEN_H = 300.0, 200.0
WALL_ALBEDO = np.array([0.45, 0.42, 0.38], np.float32)
_LUT_IN = np.linspace(0.0, 1.0, 4096, dtype=np.float32)
_LUT = np.round(linear_to_srgb(_LUT_IN) * 255).astype(np.uint8)


@dataclass(frozen=True)
class Lit:
    """A still G-buffer with its light maps: ambient (per pixel) and screen irradiance, and for
    a screen whose halves show different colours, each half's (left as the person sees it)."""

    g: GBuffer
    ambient: np.ndarray
    screen: np.ndarray
    halves: tuple[np.ndarray, np.ndarray] | None = None


# The screen's halves as shares of its width from its -x edge: the person's left is +x.
LEFT_HALF, RIGHT_HALF = (0.5, 1.0), (0.0, 0.5)


def half_irradiance(g: GBuffer, cam: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Screen irradiance from the left and the right half (2 x 2 emitters each)."""
    left = screen_irradiance(g, cam, SCREEN_W, SCREEN_H, 2, LEFT_HALF)
    return left, screen_irradiance(g, cam, SCREEN_W, SCREEN_H, 2, RIGHT_HALF)


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
        self._halves: dict[tuple[int, int, int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._smiles: dict[int, Mesh] = {}

    @staticmethod
    def key(yaw: float, pitch: float, blink: float = 0.0,
            smile: float = 0.0) -> tuple[int, int, int, int]:
        """The cache key a pose and expression are rendered at."""
        return (int(round(yaw / 2)) * 2, int(round(pitch / 2)) * 2,
                round(quantise(blink, BLINK_STEPS) * BLINK_STEPS),
                round(quantise(smile, SMILE_STEPS) * SMILE_STEPS))

    def cached(self, yaw: float, pitch: float, blink: float = 0.0, smile: float = 0.0) -> bool:
        return self.key(yaw, pitch, blink, smile) in self._cache

    def lit(self, yaw: float, pitch: float, elev: float, blink: float = 0.0,
            smile: float = 0.0, halves: bool = False) -> Lit:
        """blink: eyelid closure 0..1; smile: 0..1 of a full smile; halves: also each screen
        half's irradiance."""
        key = self.key(yaw, pitch, blink, smile)
        hit = self._cache.get(key)
        if hit is None:
            rot = rotation(key[0], key[1])
            g = render(self._smile_mesh(key[3]), rot, (0.0, 0.0, 0.0), self.cam)
            albedo = paint_blink(g, rot, self.cam, self.rig, key[2] / BLINK_STEPS)
            scr = screen_irradiance(g, self.cam, SCREEN_W, SCREEN_H, 3)
            hit = (GBuffer(albedo, g.normal, np.zeros((1, 1, 3), np.float32), g.mask), scr)
            self._cache[key] = hit
            if len(self._cache) > CACHE_SIZE:
                old, _ = self._cache.popitem(last=False)
                self._halves.pop(old, None)
        else:
            self._cache.move_to_end(key)
        g, scr = hit
        pair = None
        if halves:
            pair = self._halves.get(key)
            if pair is None:
                pair = self._halves[key] = half_irradiance(g, self.cam)
        return Lit(g, ambient_map(g, elev), scr, pair)

    def _smile_mesh(self, level: int) -> Mesh:
        if level == 0:
            return self.mesh
        mesh = self._smiles.get(level)
        if mesh is None:
            verts = smile_vertices(self.mesh.verts, self.rig, level / SMILE_STEPS)
            mesh = self._smiles[level] = with_vertices(self.mesh, verts)
        return mesh


def ambient_map(g: GBuffer, elev: float) -> np.ndarray:
    e = math.radians(elev)
    return (0.35 + 0.65 * directional(g, (0.0, math.sin(e), math.cos(e)))).astype(np.float32)


def cam_px_per_mm(scene: FaceScene) -> float:
    return scene.cam.focal / scene.cam.distance


class SimCamera:
    """Auto exposure (drifting and partly chasing the frame's brightness), noise, sRGB.

    history_limit: how many past frame brightnesses the auto exposure averages (None: all, as
    for the evaluation's few-second recordings; a camera that runs for minutes needs a window).
    """

    def __init__(self, s: SimSettings, rng: np.random.Generator,
                 history_limit: int | None = None) -> None:
        self.s = s
        self.rng = rng
        self.log_gain = 0.0
        self.wb = np.ones(3)
        self.history: list[float] = []
        self.history_limit = history_limit

    def shoot(self, lin: np.ndarray) -> np.ndarray:
        s = self.s
        self.log_gain += float(self.rng.normal(0.0, s.ae_drift))
        self.wb = self.wb * np.exp(self.rng.normal(0.0, s.ae_drift / 2, 3))
        lum = float(lin.mean())
        self.history.append(lum)
        if self.history_limit is not None and len(self.history) > self.history_limit:
            del self.history[0]
        lagged = self.history[max(0, len(self.history) - 3)]
        react = (np.mean(self.history) / max(lagged, 1e-4)) ** s.ae_react
        img = lin * (math.exp(self.log_gain) * react) * self.wb.astype(np.float32)
        noise_sd = np.sqrt(np.clip(img, 0, 1) / 4000.0 + s.noise ** 2).astype(np.float32)
        img = img + self.rng.standard_normal(img.shape, dtype=np.float32) * noise_sd
        idx = np.clip(img * 4095.0, 0, 4095).astype(np.int32)
        return np.ascontiguousarray(_LUT[idx][:, :, ::-1])


WALL_LIGHT = 0.8  # the evaluation's wall: room light on it, relative to the settings' ambient


def wall_light(elev: float) -> float:
    """Room light on a wall facing the camera under the ambient map's model (fill plus the
    directional light at `elev` degrees): dimmer than WALL_LIGHT when the light is high."""
    return 0.35 + 0.65 * max(math.cos(math.radians(elev)), 0.0)


def compose(lit: Lit, s: SimSettings, light: np.ndarray, emit: np.ndarray | None = None,
            shift: tuple[int, int] = (0, 0), wall_lit: float = WALL_LIGHT) -> np.ndarray:
    """Linear frame: surface (albedo x (ambient + screen)) over the wall, plus any emission.
    light: the screen's (3,), or its halves' (2, 3), left then right, with lit.halves set.
    wall_lit: room light on the wall (relative to s.ambient)."""
    m = lit.g.mask
    amb = s.ambient * lit.ambient[..., None]
    wall_amb: float | np.ndarray = s.ambient * wall_lit
    if s.room_rgb != (1.0, 1.0, 1.0):  # white keeps the arithmetic (and the figures) as they were
        amb = amb * np.asarray(s.room_rgb, np.float32)
        wall_amb = wall_amb * np.asarray(s.room_rgb, np.float32)
    if light.ndim == 2:
        if lit.halves is None:
            raise ValueError("a two-sided light needs each half's irradiance (lit.halves)")
        left, right = lit.halves
        scr = left[..., None] * light[0][None, None, :] + right[..., None] * light[1][None, None, :]
        surf = lit.g.albedo * (amb + s.screen * scr)
        light = light.mean(0)  # what the far wall sees
    else:
        surf = lit.g.albedo * (amb + s.screen * lit.screen[..., None] * light[None, None, :])
    if emit is not None:
        surf = surf + emit
    wall = WALL_ALBEDO * (wall_amb + s.screen * 0.04 * light)
    img: np.ndarray = np.where(m[..., None], surf, wall[None, None, :]).astype(np.float32)
    if shift != (0, 0):
        mat = np.array([[1, 0, shift[0]], [0, 1, shift[1]]], np.float32)
        img = cv2.warpAffine(img, mat, img.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)
    return cv2.GaussianBlur(img, (0, 0), 0.6)
