"""Family B's lit surfaces: what a live face, a print and a replay screen send to the camera
for a given screen light per row (the rolling shutter gives every row its own light).

Each surface is a set of maps computed once per recording (ambient image, diffuse answer per
unit of screen light, specular answer, emission) and moved every frame by the head's or the
hand's sway. Directions: x right, y down, z away from the camera.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from app.lab.simulation.family_b.faces import FRAME_H, FRAME_W, FaceSurface, Portrait
from app.lab.simulation.family_b.settings import SettingsB

WALL = np.array([0.50, 0.46, 0.40], np.float32)


def _unit(v: np.ndarray) -> np.ndarray:
    return np.asarray(v / np.linalg.norm(v), np.float32)


def room_direction(s: SettingsB) -> np.ndarray:
    el, az = math.radians(s.room_elev), math.radians(s.room_azim)
    return _unit(np.array([math.sin(az) * math.cos(el), -math.sin(el),
                           -math.cos(az) * math.cos(el)]))


def screen_direction(s: SettingsB) -> np.ndarray:
    b = math.radians(s.screen_below)
    return _unit(np.array([0.0, math.sin(b), -math.cos(b)]))


def half_directions(s: SettingsB, azim: float) -> tuple[np.ndarray, np.ndarray]:
    """Directions to the screen's left and right halves (as the person facing it sees them),
    each azim degrees off the screen's centre: the person's left is the image's right (+x)."""
    b, a = math.radians(s.screen_below), math.radians(azim)
    def towards(sign: float) -> np.ndarray:
        return _unit(np.array([sign * math.sin(a) * math.cos(b), math.sin(b),
                               -math.cos(a) * math.cos(b)]))
    return towards(1.0), towards(-1.0)


def room_colour(s: SettingsB) -> np.ndarray:
    c = np.exp(np.array([s.room_tint, 0.0, -s.room_tint]))
    return np.asarray(c / c.mean(), np.float32)


class Layer:
    """Maps over the frame: alpha, ambient (3), diffuse answer per screen light (3), specular
    answer (1, mirrors the screen's colour), emission (3); with two-sided light, diffuse and
    specular are the left half's and diffuse_right, specular_right the right half's. Moved by a
    similarity each frame."""

    def __init__(self, alpha: np.ndarray, ambient: np.ndarray, diffuse: np.ndarray,
                 specular: np.ndarray, emission: np.ndarray | None = None,
                 right: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        maps = [alpha, ambient, diffuse, specular,
                emission if emission is not None else np.zeros_like(ambient)]
        if right is not None:
            maps += [right[0], right[1]]
        self.halves = right is not None
        self.stack = np.dstack(maps)

    def at(self, m: np.ndarray) -> dict[str, np.ndarray]:
        depth = self.stack.shape[2]
        chans = [cv2.warpAffine(np.ascontiguousarray(self.stack[..., k:min(k + 4, depth)]), m,
                                (FRAME_W, FRAME_H), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT)
                 for k in range(0, depth, 4)]
        st = np.dstack(chans)
        out = {"alpha": st[..., 0:1], "ambient": st[..., 1:4], "diffuse": st[..., 4:7],
               "specular": st[..., 7:8], "emission": st[..., 8:11]}
        if self.halves:
            out.update(diffuse_right=st[..., 11:14], specular_right=st[..., 14:15])
        return out


def wall(s: SettingsB, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Ambient image and diffuse answer of the wall (far from the screen: a weak answer)."""
    tex = 1.0 + 0.04 * cv2.GaussianBlur(rng.standard_normal((FRAME_H, FRAME_W)).astype(
        np.float32), (0, 0), 3.0)[..., None]
    grad = np.linspace(1.1, 0.85, FRAME_H, dtype=np.float32)[:, None, None]
    alb = WALL[None, None, :] * tex
    amb = alb * grad * s.ambient * 0.8 * room_colour(s)[None, None, :]
    return amb.astype(np.float32), (alb * s.screen * 0.06).astype(np.float32)


def _live_answer(face: FaceSurface, n: np.ndarray, s: SettingsB, ls: np.ndarray, share: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Diffuse and specular answer to a screen (part) in direction ls giving `share` of the
    screen's irradiance."""
    cos_scr = np.clip(n @ ls, 0.0, None)
    # Skin scatters light under the surface: the answer to the screen is softened a little.
    cos_scr = cv2.GaussianBlur(cos_scr, (0, 0), 1.0)
    dif = face.albedo * (share * s.screen * cos_scr)[..., None]
    # Specular: the screen mirrored by oily skin, half-way vector between screen and camera
    # (directions point from the surface to the light and to the camera).
    half = _unit(ls + np.array([0.0, 0.0, -1.0], np.float32))
    spec = share * s.skin_spec * s.screen * np.clip(n @ half, 0.0, None) ** 30
    return dif.astype(np.float32), spec.astype(np.float32)


def live_layer(face: FaceSurface, s: SettingsB, halves_azim: float | None = None) -> Layer:
    """halves_azim: the screen's halves light separately, each from that many degrees off its
    centre (None: one light, the whole screen)."""
    n = face.normals(s.depth_scale)
    cos_room = np.clip(n @ room_direction(s), 0.0, None)
    amb = face.albedo * (s.ambient * (0.25 + 0.75 * cos_room))[..., None] * room_colour(s)
    if halves_azim is None:
        dif, spec = _live_answer(face, n, s, screen_direction(s), 1.0)
        return Layer(face.alpha, amb, dif, spec)
    left, right = half_directions(s, halves_azim)
    dif, spec = _live_answer(face, n, s, left, 0.5)
    return Layer(face.alpha, amb, dif, spec, right=_live_answer(face, n, s, right, 0.5))


def printed_albedo(photo: np.ndarray, s: SettingsB, rng: np.random.Generator) -> np.ndarray:
    """CMY halftone (rotated dot screens, 3x finer than the frame), paper white and texture."""
    f = 3
    big = cv2.resize(photo, (FRAME_W * f, FRAME_H * f), interpolation=cv2.INTER_LINEAR)
    cover = 1.0 - np.clip(big / 0.85, 0.0, 1.0) ** (1 / 1.8)  # ink coverage per channel
    yy, xx = np.mgrid[0:FRAME_H * f, 0:FRAME_W * f].astype(np.float32)
    out = np.empty_like(big)
    for c, ang in enumerate((15.0, 75.0, 0.0)):
        a = math.radians(ang + float(rng.uniform(-3, 3)))
        u = (xx * math.cos(a) + yy * math.sin(a)) * 2 * math.pi / s.halftone
        v = (-xx * math.sin(a) + yy * math.cos(a)) * 2 * math.pi / s.halftone
        screen = 0.5 + 0.25 * (np.cos(u) + np.cos(v))  # dot pattern in 0..1
        ink = (cover[..., c] > screen).astype(np.float32)
        out[..., c] = 0.88 * (1.0 - 0.93 * ink)
    alb = cv2.resize(out, (FRAME_W, FRAME_H), interpolation=cv2.INTER_AREA)
    alb = cv2.GaussianBlur(alb, (0, 0), 0.5)
    grain = cv2.GaussianBlur(rng.standard_normal((FRAME_H, FRAME_W)).astype(np.float32),
                             (0, 0), 0.8)
    return np.asarray(alb * (1.0 + s.paper * grain / max(float(grain.std()), 1e-6))[..., None],
                      np.float32)


def _sheet(s: SettingsB, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Alpha of the held sheet or panel and its normals: a curled, tilted plane."""
    w = float(rng.uniform(0.55, 0.8)) * FRAME_W
    cx = FRAME_W / 2 + float(rng.uniform(-10, 10))
    top = float(rng.uniform(-20, 10))
    yy, xx = np.mgrid[0:FRAME_H, 0:FRAME_W].astype(np.float32)
    inside = (np.abs(xx - cx) < w / 2) & (yy > top)
    alpha = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), 0.7)
    theta = s.curl * np.clip((xx - cx) / (w / 2), -1, 1) + math.radians(s.tilt)
    phi = math.radians(s.pitch) + 0.0 * yy
    n = np.dstack([np.sin(theta) * np.cos(phi), np.sin(phi), -np.cos(theta) * np.cos(phi)])
    return alpha, n.astype(np.float32)


def _print_answer(alb: np.ndarray, n: np.ndarray, s: SettingsB, ls: np.ndarray, share: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    cos_scr = np.clip(n @ ls, 0.0, None)
    dif = alb * (share * s.screen * cos_scr)[..., None]
    half = _unit(ls + np.array([0.0, 0.0, -1.0], np.float32))
    spec = share * s.gloss * s.screen * np.clip(n @ half, 0.0, None) ** 12
    return dif.astype(np.float32), spec.astype(np.float32)


def print_layer(portrait: Portrait, s: SettingsB, rng: np.random.Generator,
                halves_azim: float | None = None) -> Layer:
    alb = printed_albedo(portrait.photo, s, rng)
    alpha, n = _sheet(s, rng)
    cos_room = np.clip(n @ room_direction(s), 0.0, None)
    amb = (alb * (s.ambient * (0.3 + 0.7 * cos_room))[..., None] * room_colour(s)).astype(
        np.float32)
    if halves_azim is None:
        dif, spec = _print_answer(alb, n, s, screen_direction(s), 1.0)
        return Layer(alpha, amb, dif, spec)
    left, right = half_directions(s, halves_azim)
    dif, spec = _print_answer(alb, n, s, left, 0.5)
    return Layer(alpha, amb, dif, spec, right=_print_answer(alb, n, s, right, 0.5))


def subpixel_mask(rng: np.random.Generator) -> np.ndarray:
    """RGB stripe sub-pixels seen by the camera's pixel columns (W, 3), mean 1 per channel."""
    pitch = float(rng.uniform(0.55, 1.3))  # panel pixel in camera pixels
    off = float(rng.uniform(0, pitch))
    xs = np.arange(FRAME_W)[:, None] + (np.arange(8)[None, :] + 0.5) / 8 + off
    phase = (xs % pitch) / pitch  # 0..1 across one panel pixel
    cov = np.stack([((phase >= k / 3) & (phase < (k + 1) / 3)).mean(1) for k in range(3)], 1)
    return np.asarray(3.0 * cov * 0.9 + 0.1, np.float32)


def panel_layer(portrait: Portrait, s: SettingsB, rng: np.random.Generator,
                halves: bool = False) -> tuple[Layer, np.ndarray]:
    """A phone or tablet showing the portrait: emission (light at full drive, before the
    per-row tint and flicker), a matte surface that barely answers, and glass that mirrors the
    kiosk screen (uniformly plus a glare spot). halves: the screen's halves light separately;
    the glass mirrors each half over the whole panel, and the glare spot is the half on its
    side (the image's right mirrors the left half)."""
    alpha, n = _sheet(s, rng)
    drive = np.clip(portrait.photo, 0, 1) ** (1 / 2.2)  # the video's sRGB-ish encoding
    light = s.backlight * s.ambient * 2.0 * drive ** s.panel_gamma
    light = light * subpixel_mask(rng)[None, :, :]
    amb = 0.01 * s.ambient * np.ones_like(light) * room_colour(s)
    dif = 0.01 * s.screen * np.ones_like(light)
    gx, gy = float(rng.uniform(0.2, 0.8)) * FRAME_W, float(rng.uniform(0.2, 0.8)) * FRAME_H
    yy, xx = np.mgrid[0:FRAME_H, 0:FRAME_W].astype(np.float32)
    spot = np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * 25.0 ** 2))
    if not halves:
        spec = s.reflect * s.screen * (1.0 + 8.0 * s.glare * spot)
        return Layer(alpha, amb.astype(np.float32), dif.astype(np.float32),
                     spec.astype(np.float32), light.astype(np.float32)), n
    glare = 8.0 * s.glare * spot
    on_right = float(gx > FRAME_W / 2)
    spec_l = s.reflect * s.screen * (0.5 + glare * on_right)
    spec_r = s.reflect * s.screen * (0.5 + glare * (1.0 - on_right))
    half_dif = (0.5 * dif).astype(np.float32)
    return Layer(alpha, amb.astype(np.float32), half_dif, spec_l.astype(np.float32),
                 light.astype(np.float32), right=(half_dif, spec_r.astype(np.float32))), n
