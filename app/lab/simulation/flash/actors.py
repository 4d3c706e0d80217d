"""Who stands in front of the kiosk, one frame at a time: the live person (head pose from the
action prompts, blink and smile, sway) and the attacks (a flat or bent print, a passive screen
replay, a replay re-tinting itself with 0 or 2 frames of lag, a photo moved to fake a turn).

Each actor turns the screen's light of one frame into a linear image (face_scene.compose); the
camera (face_scene.SimCamera) shoots it. The evaluation (flash/scene.py) drives them from the
plan's cue times, the closed-loop camera from what the screen presented; the random stream is
drawn in the same order either way.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from app.capture.plan import ActionCue
from app.lab.simulation.flash.expressions import (
    SMILE_STRENGTH,
    Blink,
    blink_closure,
    draw_blinks,
    ramp,
)
from app.lab.simulation.flash.face_scene import (
    SCREEN_H,
    SCREEN_W,
    WALL_LIGHT,
    FaceScene,
    Lit,
    ambient_map,
    cam_px_per_mm,
    compose,
    half_irradiance,
)
from app.lab.simulation.flash.settings import SimSettings
from app.lab.simulation.render3d import GBuffer, render, rotation, screen_irradiance, sheet

SPECIES_FLASH = ("print", "replay", "retint0", "retint2")
SPECIES_ACTIVE = ("moved_photo",)
REPLAYS = ("replay", "retint0", "retint2")
PHOTO_STEP_DEG = 3.0  # the moved photo is rendered at these yaw steps


def head_pose(t: float, acts: tuple[ActionCue, ...], turn: float) -> tuple[float, float]:
    """(yaw, pitch) of the live head at t while performing the action windows."""
    yaw, pitch = 0.0, 0.0
    for a in acts:
        if a.t_start <= t < a.t_end:
            amp = ramp(t, a.t_start, a.t_end) * turn
            if a.action == "TURN_LEFT":
                yaw = amp
            elif a.action == "TURN_RIGHT":
                yaw = -amp
            elif a.action == "LOOK_UP":
                pitch = amp * 0.7
    return yaw, pitch


def photo_yaw(t: float, acts: tuple[ActionCue, ...], turn: float) -> float:
    """The photo is swung about its vertical axis for the turns (and for LOOK_UP, the other
    way); asked to blink or smile it is held still: a photo cannot."""
    yaw = 0.0
    for a in acts:
        if a.t_start <= t < a.t_end and a.action not in ("BLINK", "SMILE"):
            yaw = ramp(t, a.t_start, a.t_end) * turn * (1 if a.action == "TURN_LEFT" else -1)
    return yaw


@dataclass(frozen=True)
class Performance:
    """How the live person performs the expression actions (drawn when each is asked)."""

    blinks: tuple[Blink, ...]
    smiles: tuple[tuple[ActionCue, float], ...]  # window and strength

    @staticmethod
    def draw(acts: tuple[ActionCue, ...], rng: np.random.Generator) -> Performance:
        perf = Performance((), ())
        for a in acts:
            perf = perf.asked(a, rng)
        return perf

    def asked(self, a: ActionCue, rng: np.random.Generator) -> Performance:
        """This performance plus the answer to one more action window."""
        if a.action == "BLINK":
            return Performance(self.blinks + draw_blinks(rng, a.t_start, a.t_end), self.smiles)
        if a.action == "SMILE":
            return Performance(self.blinks,
                               self.smiles + ((a, float(rng.uniform(*SMILE_STRENGTH))),))
        return self

    def at(self, t: float, exposure: float) -> tuple[float, float]:
        """(blink closure, smile amount) of the frame at t."""
        blink = blink_closure(self.blinks, t, exposure) if self.blinks else 0.0
        smile = max((ramp(t, a.t_start, a.t_end) * k for a, k in self.smiles), default=0.0)
        return blink, smile


class LiveActor:
    """The scan as a person: head pose and expression per frame, swaying (random walk).
    wall: room light on the wall behind (face_scene.compose)."""

    def __init__(self, scene: FaceScene, s: SimSettings, rng: np.random.Generator,
                 wall: float = WALL_LIGHT) -> None:
        self.scene, self.s, self.rng = scene, s, rng
        self.wall = wall
        self.pos = np.zeros(2)

    def linear(self, light: np.ndarray, yaw: float, pitch: float, blink: float,
               smile: float) -> np.ndarray:
        self.pos += self.rng.normal(0.0, self.s.jitter, 2) * cam_px_per_mm(self.scene)
        lit = self.scene.lit(yaw, pitch, self.s.ambient_elev, blink, smile,
                             halves=light.ndim == 2)
        return compose(lit, self.s, light,
                       shift=(int(round(self.pos[0])), int(round(self.pos[1]))), wall_lit=self.wall)


class AttackActor:
    """A photo of the person held up to the camera: printed, or shown on a screen (passive, or
    re-tinting itself after the kiosk's light, `lag` frames late)."""

    def __init__(self, scene: FaceScene, species: str, s: SimSettings,
                 rng: np.random.Generator, wall: float = WALL_LIGHT) -> None:
        if species not in (*SPECIES_FLASH, *SPECIES_ACTIVE):
            raise ValueError(f"unknown attack species {species!r}")
        self.scene, self.species, self.s, self.rng = scene, species, s, rng
        self.wall = wall
        self.photo = _photo(scene, s, rng)
        self.flat = _sheet_lit(scene, self.photo, s, s.tilt, float(rng.uniform(-5, 5)),
                               s.bend if species in ("print", "moved_photo") else 0.0)
        mask = self.flat.g.mask
        self.mean_irr = float(self.flat.screen[mask].mean()) if mask.any() else 0.0
        self.glare_map = _glare_map(mask, rng)
        self.lag = 2 if species == "retint2" else 0
        self._turned: dict[int, Lit] = {}
        self.pos = np.zeros(2)

    def linear(self, light: np.ndarray, lagged: np.ndarray, yaw: float = 0.0) -> np.ndarray:
        """light: the screen's light this frame, (3,) or its halves' (2, 3); lagged: `self.lag`
        frames ago (what a re-tinting replay has caught up with); yaw: the moved photo's
        swing."""
        s = self.s
        key = 0
        if self.species == "moved_photo":
            key = int(round(yaw / PHOTO_STEP_DEG)) * int(PHOTO_STEP_DEG)
            if key != 0 and key not in self._turned:
                self._turned[key] = _sheet_lit(self.scene, self.photo, s, s.tilt + key, 0.0,
                                               s.bend)
        lit = self._turned[key] if key != 0 else self.flat
        if light.ndim == 2 and lit.halves is None:
            lit = replace(lit, halves=half_irradiance(lit.g, self.scene.cam))
            if key != 0:
                self._turned[key] = lit
            else:
                self.flat = lit
        emit = None
        if self.species in REPLAYS:
            # The screen's own light replaces reflection of the room; its glass reflects a
            # few percent of the flash, and mirrors the kiosk screen as a glare patch. Facing
            # two halves, this attacker tints by their mean (it has no 3D model of the face).
            mean_light = light.mean(0) if light.ndim == 2 else light
            base = s.ambient * 0.9
            tint: np.ndarray = np.ones(3, np.float32)
            if self.species != "replay":
                lag_light = lagged.mean(0) if lagged.ndim == 2 else lagged
                tint = (base + s.screen * self.mean_irr * lag_light) / base
            emit = lit.g.albedo * base * tint
            refl = s.reflect + self.glare_map * (s.glare * 0.3)
            emit = emit + (s.screen * refl)[..., None] * mean_light[None, None, :]
            lit = replace(lit, g=_dark(lit.g))
        self.pos += self.rng.normal(0.0, s.jitter, 2) * cam_px_per_mm(self.scene)
        return compose(lit, s, light, emit,
                       shift=(int(round(self.pos[0])), int(round(self.pos[1]))), wall_lit=self.wall)


def _photo(scene: FaceScene, s: SimSettings, rng: np.random.Generator) -> np.ndarray:
    """The attacker's photo of the person: the face under some other room light, on a wall."""
    lit = scene.lit(float(rng.uniform(-4, 4)), float(rng.uniform(-3, 3)), 50.0)
    img = compose(lit, s, np.full(3, 0.2, np.float32))
    return np.asarray(img / max(float(np.percentile(img, 99)), 1e-3), np.float32)


def _sheet_lit(scene: FaceScene, image: np.ndarray, s: SimSettings, yaw: float, pitch: float,
               bend: float) -> Lit:
    cam = scene.cam
    # the head and a little wall: a hand-held print (the crop scales with the frame size)
    k = cam.size / 256
    crop = image[int(8 * k):int(248 * k), int(44 * k):int(212 * k)]
    depth = 90.0  # the sheet where the face would be
    width = crop.shape[1] * (cam.distance - depth) / cam.focal  # life size
    mesh = sheet(crop, width, bend)
    g = render(mesh, rotation(yaw, pitch), (0.0, 0.0, depth), cam)
    return Lit(g, ambient_map(g, s.ambient_elev),
               screen_irradiance(g, cam, SCREEN_W, SCREEN_H, 2))


def _dark(g: GBuffer) -> GBuffer:
    """A screen's surface does not reflect the room diffusely: zero albedo, keep the mask."""
    return GBuffer(np.zeros_like(g.albedo), g.normal, g.position, g.mask)


def _glare_map(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    cy, cx = float(rng.choice(ys)), float(rng.choice(xs))
    r = float(rng.uniform(15, 40)) * h / 256
    yy, xx = np.mgrid[0:h, 0:w]
    blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r)).astype(np.float32)
    return blob * mask
