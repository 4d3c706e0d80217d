"""Geometry shared by prints and screens: a (possibly bent) rectangle held in front of the camera.

Medium coordinates (u, v) are in face widths from the medium's top-left corner. `forward` maps
them to output-frame pixels through a cylinder bend, a 3D rotation (roll, tilt) and a pinhole
projection; `inverse_maps` gives, for every scene sample, the medium point it sees (NaN where it
sees the room), computed on a coarse grid by fixed-point iteration and then interpolated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from app.lab.simulation.scene import F32
from app.lab.simulation.settings import MediumPlacement

FOCAL_PX = 600.0  # webcam focal length in output pixels (about 56 degrees across 640 px)


@dataclass(frozen=True)
class Geometry:
    width: float  # face widths
    height: float
    face_u: float  # face centre on the medium
    face_v: float
    face_px: float  # output pixels per face width at the face centre
    cx: float  # output pixel of the face centre
    cy: float
    roll: float  # degrees
    tilt_x: float
    tilt_y: float
    bend: float  # sagitta / width (0 = flat)


def geometry(p: MediumPlacement, size: tuple[int, int], roll: float, bend: float) -> Geometry:
    width = p.extent
    height = p.extent * p.aspect
    fr = p.framing
    return Geometry(
        width=width, height=height,
        face_u=width * (0.5 + p.content_dx), face_v=height * (0.5 + p.content_dy),
        face_px=fr.face_width, cx=size[0] / 2 + fr.dx, cy=size[1] / 2 + fr.dy,
        roll=roll, tilt_x=p.tilt_x, tilt_y=p.tilt_y, bend=bend)


def _rotation(g: Geometry) -> np.ndarray:
    a, b, c = (math.radians(v) for v in (g.roll, g.tilt_x, g.tilt_y))
    rz = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    ry = np.array([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]])
    rx = np.array([[1, 0, 0], [0, math.cos(c), -math.sin(c)], [0, math.sin(c), math.cos(c)]])
    out: np.ndarray = rz @ ry @ rx
    return out


def _surface(g: Geometry, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, ...]:
    """3D points (output-pixel units) of medium points, before rotation, face centre at 0."""
    def bent(uu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xc = (uu - g.width / 2) * g.face_px
        if g.bend <= 1e-6:
            return xc, np.zeros_like(xc)
        hw, s = g.width / 2 * g.face_px, g.bend * g.width * g.face_px
        r = (hw * hw + s * s) / (2 * s)
        return r * np.sin(xc / r), -r * (1 - np.cos(xc / r))

    x, z = bent(u)
    x0, z0 = bent(np.array(g.face_u))
    return x - x0, (v - g.face_v) * g.face_px, z - z0


def forward(g: Geometry, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Output-frame pixel coordinates of medium points."""
    x, y, z = _surface(g, u, v)
    rot = _rotation(g)
    xr = rot[0, 0] * x + rot[0, 1] * y + rot[0, 2] * z
    yr = rot[1, 0] * x + rot[1, 1] * y + rot[1, 2] * z
    zr = rot[2, 0] * x + rot[2, 1] * y + rot[2, 2] * z
    d = FOCAL_PX + zr
    return g.cx + FOCAL_PX * xr / d, g.cy + FOCAL_PX * yr / d


def _flat_inverse(g: Geometry) -> np.ndarray:
    flat = Geometry(**{**g.__dict__, "bend": 0.0})
    src = np.array([[0, 0], [flat.width, 0], [flat.width, flat.height], [0, flat.height]],
                   np.float64)
    xs, ys = forward(flat, src[:, 0], src[:, 1])
    dst = np.stack([xs, ys], axis=1)
    h_inv: np.ndarray = cv2.getPerspectiveTransform(dst.astype(np.float32),
                                                    src.astype(np.float32)).astype(np.float64)
    return h_inv


def _apply_h(h: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w = h[2, 0] * x + h[2, 1] * y + h[2, 2]
    return (h[0, 0] * x + h[0, 1] * y + h[0, 2]) / w, (h[1, 0] * x + h[1, 1] * y + h[1, 2]) / w


def inverse_maps(g: Geometry, size: tuple[int, int], scale: int,
                 step: int = 8) -> tuple[F32, F32]:
    """Medium (u, v) seen by every scene sample of an oversampled frame; NaN off the medium."""
    w, h = size[0] * scale, size[1] * scale
    gw, gh = w // step + 2, h // step + 2
    gy, gx = np.mgrid[0:gh, 0:gw].astype(np.float64)
    # Grid point k sits on scene sample k * step + step / 2 - 0.5, so that a linear resize by
    # `step` lands every value on its own sample; samples are converted to output pixels.
    px = (gx * step + step / 2) / scale - 0.5
    py = (gy * step + step / 2) / scale - 0.5
    h_inv = _flat_inverse(g)
    tu, tv = _apply_h(h_inv, px, py)
    u, v = tu.copy(), tv.copy()
    if g.bend > 1e-6:
        # The flat homography is close to the bent map's inverse: iterate to the fixed point.
        for _ in range(10):
            cu, cv = _apply_h(h_inv, *forward(g, u, v))
            u, v = u + (tu - cu), v + (tv - cv)
    um = cv2.resize(u.astype(np.float32), (gw * step, gh * step),
                    interpolation=cv2.INTER_LINEAR)[:h, :w]
    vm = cv2.resize(v.astype(np.float32), (gw * step, gh * step),
                    interpolation=cv2.INTER_LINEAR)[:h, :w]
    outside = (um < 0) | (um > g.width) | (vm < 0) | (vm > g.height)
    um[outside] = np.nan
    vm[outside] = np.nan
    return um, vm


def face_box(g: Geometry) -> tuple[float, float, float, float]:
    """Bounds in output pixels of the unit face square around the face centre."""
    us = np.array([g.face_u - 0.5, g.face_u + 0.5, g.face_u + 0.5, g.face_u - 0.5])
    vs = np.array([g.face_v - 0.5, g.face_v - 0.5, g.face_v + 0.5, g.face_v + 0.5])
    xs, ys = forward(g, us, vs)
    return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())
