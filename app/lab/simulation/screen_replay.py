"""Screen replay: the portrait shown on a phone or tablet held in front of the kiosk camera.

The screen emits its own light with a cool white point, a raised black level and a gamma that
differs from the 2.2 the content was encoded for. Every screen pixel is three vertical R, G, B
stripes with dark gaps between stripes and between rows; the grid is turned against the sensor
grid, and the camera's pixel aperture samples it into moire. The glass mirrors a lamp (glare) and,
faintly, the room; a dark bezel frames the active area.

The stripe pattern is box-filtered analytically over each scene sample (the integral of a periodic
on/off function is closed-form), so the renderer itself does not alias: the only aliasing is the
camera's, as it should be.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.lab.simulation.medium import Geometry, face_box, inverse_maps
from app.lab.simulation.print_attack import content_matrix, fit_extent, visible_region
from app.lab.simulation.scene import (
    F32,
    OUT_H,
    OUT_W,
    OVERSAMPLE,
    Source,
    light_field,
    linear_to_srgb,
)
from app.lab.simulation.settings import ReplaySettings


def _box_filtered_stripe(x: F32, start: float, duty: float, width: float) -> F32:
    """Mean over [x - width/2, x + width/2] of a period-1 indicator that is on in [start, +duty)."""
    def integral(t: F32) -> F32:
        f = np.floor(t)
        out: F32 = (f * duty + np.clip(t - f - start, 0.0, duty)).astype(np.float32)
        return out

    half = width / 2
    out: F32 = ((integral(x + half) - integral(x - half)) / width).astype(np.float32)
    return out


def render_replay(rgb: F32, src: Source, st: ReplaySettings, background: F32,
                  size: tuple[int, int] = (OUT_W, OUT_H)) -> tuple[F32, tuple[float, ...]]:
    """The scene (linear RGB at OVERSAMPLE) of a screen in a room, and the face box it shows."""
    place = fit_extent(st.placement, src, rgb.shape[:2], border=0.06)
    fr = place.framing
    aw, ah = place.extent, place.extent * place.aspect
    bz = st.bezel * aw
    g = Geometry(width=aw + 2 * bz, height=ah + 2 * bz,
                 face_u=bz + aw * (0.5 + place.content_dx),
                 face_v=bz + ah * (0.5 + place.content_dy),
                 face_px=fr.face_width, cx=size[0] / 2 + fr.dx, cy=size[1] / 2 + fr.dy,
                 roll=st.rotation, tilt_x=place.tilt_x, tilt_y=place.tilt_y, bend=0.0)
    um, vm = inverse_maps(g, size, OVERSAMPLE)
    sh, sw = background.shape[:2]
    light = light_field((sh, sw), place.room_light, place.gradient, place.gradient_angle)
    tint = np.array([place.wb_red, 1.0, place.wb_blue], np.float32)
    if np.isnan(um).all():
        return (background * light[..., None] * tint).astype(np.float32), face_box(g)

    # Displayed image on the screen's own pixel grid (only the part the camera sees).
    per_unit = g.face_px * st.pitch  # screen pixels per face width
    x0, y0, x1, y1 = visible_region(um, vm, per_unit, g, pad=2)
    rw, rh = max(1, x1 - x0), max(1, y1 - y0)
    # The face appears with the framing's roll although the grid is turned by st.rotation.
    m = content_matrix(src, g, per_unit, (x0, y0), angle=fr.roll - st.rotation)
    shown = cv2.warpAffine(rgb, m, (rw, rh), flags=cv2.INTER_AREA | cv2.WARP_INVERSE_MAP,
                           borderMode=cv2.BORDER_REFLECT101)
    code = linear_to_srgb(shown)
    white = np.array([st.white_red, 1.0, st.white_blue], np.float32)
    emitted = white * (st.black_level + (1.0 - st.black_level) * np.power(code, st.gamma))

    valid = ~np.isnan(um)
    us = np.where(valid, um * per_unit, 0.0).astype(np.float32)
    vs = np.where(valid, vm * per_unit, 0.0).astype(np.float32)
    ix = np.clip(np.floor(us).astype(np.int64) - x0, 0, rw - 1)
    iy = np.clip(np.floor(vs).astype(np.int64) - y0, 0, rh - 1)
    pixel = emitted[iy, ix]  # nearest screen pixel per scene sample
    footprint = max(st.pitch / OVERSAMPLE, 1e-3)  # screen pixels per scene sample
    row = _box_filtered_stripe(vs, (1 - st.row_fill) / 2, st.row_fill, footprint)
    scene_screen = np.empty_like(pixel)
    duty = st.fill / 3
    for ch in range(3):
        start = ch / 3 + (1 / 3 - duty) / 2
        stripe = _box_filtered_stripe(us, start, duty, footprint)
        # Normalised so that a pixel's mean is the emitted value times the aperture (fill).
        scene_screen[..., ch] = pixel[..., ch] * stripe * row * 3.0
    scene_screen *= st.emission  # self-luminous: independent of the room light

    # Active area, bezel, glare and the faint mirror image of the room on the glass.
    u = um - bz
    v = vm - bz
    active = valid & (u >= 0) & (u <= aw) & (v >= 0) & (v <= ah)
    bezel_val = np.float32(0.025) * place.room_light
    device = np.where(active[..., None], scene_screen, bezel_val)
    gx = (u - aw * (0.5 + st.glare_x)) / max(st.glare_size, 1e-3)
    gy = (v - ah * (0.5 + st.glare_y)) / max(st.glare_size * 0.6, 1e-3)
    glare = st.glare * place.room_light * np.exp(-(gx * gx + gy * gy))
    small = cv2.resize(background, (sw // OVERSAMPLE, sh // OVERSAMPLE),
                       interpolation=cv2.INTER_AREA)
    mirror = cv2.resize(cv2.GaussianBlur(small, (0, 0), 6.0)[:, ::-1], (sw, sh),
                        interpolation=cv2.INTER_LINEAR)
    device = device + np.nan_to_num(glare)[..., None] * np.array([1.0, 0.97, 0.9], np.float32)
    device = device + st.reflection * mirror * light[..., None]
    room = background * light[..., None] * tint
    scene = np.where(valid[..., None], device, room).astype(np.float32)
    return scene, face_box(g)
