"""Print attack: the portrait printed on paper and held in front of the kiosk camera.

The printer gets sRGB values; the print shrinks the gamut (less chroma), cannot be whiter than
the paper nor blacker than the ink, shifts the tone curve (dot gain) and renders every tone as
rotated halftone screens of cyan, magenta and yellow dots. Paper carries fibre texture and a tint;
the sheet may show a white margin and its edge against the room, sits tilted and bent in 3D, and
is lit flatly by the room (no face relief, at most a soft shading across the bend and a sheen).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from app.lab.simulation.medium import Geometry, face_box, geometry, inverse_maps
from app.lab.simulation.scene import (
    F32,
    OUT_H,
    OUT_W,
    OVERSAMPLE,
    Source,
    light_field,
    linear_to_srgb,
    srgb_to_linear,
)
from app.lab.simulation.settings import MediumPlacement, PrintSettings


def fit_extent(p: MediumPlacement, src: Source, shape: tuple[int, int],
               border: float = 0.0) -> MediumPlacement:
    """Shrink the medium so the content it shows stays inside the source photo."""
    h, w = shape
    x1, y1, x2, y2 = src.face
    cx, cy, fw = (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1
    fu, fv = 0.5 + p.content_dx, 0.5 + p.content_dy
    inner = 1.0 - 2.0 * border
    max_w = 0.97 * min(cx / fu, (w - cx) / (1 - fu)) / fw / inner
    max_h = 0.97 * min(cy / fv, (h - cy) / (1 - fv)) / fw / inner
    extent = min(p.extent, max_w, max_h / p.aspect)
    aspect = p.aspect if extent * p.aspect <= max_h else max_h / extent
    return MediumPlacement(**{**p.__dict__, "extent": extent, "aspect": aspect})


def visible_region(um: F32, vm: F32, per_unit: float, g: Geometry,
                   pad: int = 4) -> tuple[int, int, int, int]:
    """Raster bounds (x0, y0, x1, y1) on the medium, at `per_unit` pixels a face width."""
    u0, u1 = float(np.nanmin(um)), float(np.nanmax(um))
    v0, v1 = float(np.nanmin(vm)), float(np.nanmax(vm))
    x0 = max(0, int(math.floor(u0 * per_unit)) - pad)
    y0 = max(0, int(math.floor(v0 * per_unit)) - pad)
    x1 = min(int(math.ceil(g.width * per_unit)), int(math.ceil(u1 * per_unit)) + pad)
    y1 = min(int(math.ceil(g.height * per_unit)), int(math.ceil(v1 * per_unit)) + pad)
    return x0, y0, x1, y1


def content_matrix(src: Source, g: Geometry, per_unit: float, origin: tuple[float, float],
                   angle: float = 0.0) -> np.ndarray:
    """2x3 affine from medium-raster pixels to source pixels (for WARP_INVERSE_MAP).

    Raster pixel (X, Y) is medium point ((X + origin_x + 0.5) / per_unit, ...); the content is
    rotated by `angle` degrees on the medium about the face centre.
    """
    x1, y1, x2, y2 = src.face
    scx, scy, fw = (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1
    k = fw / per_unit
    a = math.radians(angle)
    c, s = math.cos(a) * k, math.sin(a) * k
    ox = origin[0] + 0.5 - g.face_u * per_unit
    oy = origin[1] + 0.5 - g.face_v * per_unit
    return np.array([[c, s, scx + c * ox + s * oy], [-s, c, scy - s * ox + c * oy]], np.float64)


def composite(medium: F32, um: F32, vm: F32, origin: tuple[int, int], per_unit: float,
              background: F32) -> F32:
    """Place the medium raster into the scene where the maps see it; the room elsewhere."""
    valid = ~np.isnan(um)
    mx = np.where(valid, um * per_unit - origin[0] - 0.5, -10.0).astype(np.float32)
    my = np.where(valid, vm * per_unit - origin[1] - 0.5, -10.0).astype(np.float32)
    seen = cv2.remap(medium, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    mask = cv2.remap(np.ones(medium.shape[:2], np.float32), mx, my, cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    mask = np.where(valid, mask, 0.0)[..., None]
    out: F32 = (background * (1.0 - mask) + seen * mask).astype(np.float32)
    return out


def _halftone(coverage: F32, pitch: float, angle: float) -> F32:
    """Anti-aliased AM halftone: one rotated dot screen per ink channel."""
    h, w = coverage.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.empty_like(coverage)
    aa = max(0.08, 1.6 / pitch)  # threshold ramp over about one raster pixel
    for ch, offset in enumerate((15.0, 75.0, 0.0)):  # cyan, magenta, yellow screen angles
        a = math.radians(angle + offset)
        xr = xs * math.cos(a) + ys * math.sin(a)
        yr = -xs * math.sin(a) + ys * math.cos(a)
        thresh = 0.5 + 0.25 * (np.cos(2 * math.pi * xr / pitch) + np.cos(2 * math.pi * yr / pitch))
        out[..., ch] = np.clip((coverage[..., ch] - thresh) / aa + 0.5, 0.0, 1.0)
    return out


def _paper_texture(shape: tuple[int, int], amount: float, rng: np.random.Generator) -> F32:
    fine: np.ndarray = cv2.GaussianBlur(rng.standard_normal(shape).astype(np.float32), (0, 0), 1.2)
    fine = fine / max(float(fine.std()), 1e-6)
    # Mottle: blurred noise made at 1/8 scale (same look, 64x less work).
    small = (max(2, shape[1] // 8), max(2, shape[0] // 8))
    coarse_small = cv2.GaussianBlur(rng.standard_normal(small[::-1]).astype(np.float32), (0, 0),
                                    1.5)
    coarse: np.ndarray = cv2.resize(coarse_small, (shape[1], shape[0]),
                                    interpolation=cv2.INTER_LINEAR)
    coarse = coarse / max(float(coarse.std()), 1e-6)
    out: F32 = (1.0 + amount * (0.8 * fine + 0.6 * coarse)).astype(np.float32)
    return out


def render_print(rgb: F32, src: Source, st: PrintSettings, background: F32,
                 rng: np.random.Generator,
                 size: tuple[int, int] = (OUT_W, OUT_H)) -> tuple[F32, tuple[float, ...]]:
    """The scene (linear RGB at OVERSAMPLE) of a print in a room, and the face box it shows."""
    place = fit_extent(st.placement, src, rgb.shape[:2], border=st.margin)
    g = geometry(place, size, roll=place.framing.roll, bend=st.bend)
    um, vm = inverse_maps(g, size, OVERSAMPLE)
    if np.isnan(um).all():
        return background, face_box(g)
    per_unit = g.face_px * OVERSAMPLE
    x0, y0, x1, y1 = visible_region(um, vm, per_unit, g)
    rw, rh = max(1, x1 - x0), max(1, y1 - y0)

    m = content_matrix(src, g, per_unit, (x0, y0))
    content = cv2.warpAffine(rgb, m, (rw, rh), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                             borderMode=cv2.BORDER_REFLECT101)
    code = linear_to_srgb(content)  # what the printer is sent
    grey = code.mean(axis=2, keepdims=True)
    code = grey + (code - grey) * st.saturation
    target = srgb_to_linear((np.clip(code, 0, 1) * 255).astype(np.uint8))
    coverage = 1.0 - (1.0 - (1.0 - target)) ** (1.0 / st.dot_gain)  # dot gain darkens mid-tones
    ink = _halftone(coverage.astype(np.float32), st.halftone_pitch * OVERSAMPLE, st.halftone_angle)

    white = st.paper_white * np.array([st.tint_red, 1.0, st.tint_blue], np.float32)
    refl = white * (1.0 - ink) + st.ink_black * ink
    # White margin: content only inside the border.
    u = ((np.arange(x0, x0 + rw, dtype=np.float32) + 0.5) / per_unit)[None, :]
    v = ((np.arange(y0, y0 + rh, dtype=np.float32) + 0.5) / per_unit)[:, None]
    border = st.margin * g.width
    inside = (u > border) & (u < g.width - border) & (v > border) & (v < g.height - border)
    refl = np.where(inside[..., None], refl, white)
    refl = refl * _paper_texture((rh, rw), st.texture, rng)[..., None]

    # Flat room light; a bent sheet darkens towards its curled edges and may show a sheen.
    xc = (u - g.width / 2) / (g.width / 2)  # (1, rw): depends on the column only
    shade = 1.0 - 2.0 * st.bend * xc * xc
    sheen = st.sheen * np.exp(-(((xc - 0.3) / 0.2) ** 2))
    medium = (refl * shade[..., None] + sheen[..., None]).astype(np.float32)

    p = st.placement
    sh, sw = background.shape[:2]
    light = light_field((sh, sw), p.room_light, p.gradient, p.gradient_angle)
    tint = np.array([p.wb_red, 1.0, p.wb_blue], np.float32)
    scene = composite(medium, um, vm, (x0, y0), per_unit, background) * light[..., None] * tint
    return scene.astype(np.float32), face_box(g)
