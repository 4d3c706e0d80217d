"""Blink and smile for the simulated live person, on the james scan.

Blink: the scan has no eyelid rig, so the upper lid is painted over the eye opening in the
G-buffer's albedo, located by the model-frame position of each pixel (so the lid stays on the
surface at any head pose, and the texture's two photographs need no separate painting). The lid
edge moves from the upper lid line (landmarks) down to just above the lower one; the lid carries
the skin from above the crease, darker towards a lash line along the moving edge.

Smile: the mesh is deformed, mouth corners up, outward and back, cheeks up and forward, each a
Gaussian falloff in 3D; normals are recomputed so the cheek bulge and the deepened fold shade.

Behaviour, within an action window: a person asked to blink reacts after 0.25-0.55 s and blinks
once (sometimes twice) with a voluntary blink's longer closure: closing 60-100 ms, closed
50-200 ms, opening 120-220 ms. A smile ramps in and out like the simulated head turns, at 70-100%
of a broad closed-lip smile (corners 9 mm up, out and back). These ranges are the same for the
tuning and held-out settings families.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from app.lab.simulation.render3d import Camera, GBuffer

F32 = np.ndarray

EYES = ((17, 18, 19, 20, 21, 22), (23, 24, 25, 26, 27, 28))  # corner, upper x2, corner, lower x2
MOUTH_CORNERS = (48, 54)
BLINK_STEPS = 4  # closure rendered in quarters
SMILE_STEPS = 10
SMILE_STRENGTH = (0.7, 1.0)  # drawn per trial, times the full smile below
LASH_ALBEDO = np.array([0.022, 0.016, 0.013], np.float32)  # linear, dark brown
# Blink, millimetres in the canonical frame relative to the landmark lid lines. Set against the
# blendshape model on tuning renders: a lid as dark as the scan's shadowed crease, or one that
# covers the dark margin below the lower lid line, reads as an open eye (blink < 0.2).
LID_TOP = 3.5  # the painted lid reaches this far above the upper lid line (the crease flattens)
LASH_REST = 1.0  # closed, the lash line rests this far above the lower lid line
SRC_LO, SRC_HI = 4.0, 6.5  # the lid's skin is sampled from this band above the upper lid line
SHADE = 0.8  # albedo factor at the lash line, where the closed lid curves under
LASH_MM = 0.45  # lash line half-thickness
# Smile at full strength: corner displacement (out, up, back) and its Gaussian falloff, mm.
CORNER_MOVE = (5.5, 6.5, -3.0)
CORNER_SIGMA = 11.0
CHEEK_MOVE = (0.8, 2.5, 1.5)
CHEEK_SIGMA = 13.0


@dataclass(frozen=True)
class Eye:
    """Lid lines of one eye as cubics y(x) in the canonical frame (mm), between the corners."""

    x0: float
    x1: float
    upper: tuple[float, ...]
    lower: tuple[float, ...]
    z: float

    def lids(self, x: F32) -> tuple[F32, F32]:
        return np.polyval(self.upper, x), np.polyval(self.lower, x)


@dataclass(frozen=True)
class FaceRig:
    eyes: tuple[Eye, Eye]
    corners: F32  # (2, 3) mouth corners
    cheeks: F32  # (2, 3) cheek centres on the surface


def _cubic(xs: F32, ys: F32) -> tuple[float, ...]:
    """Exact cubic through 4 points (Vandermonde solve; the x are millimetres apart)."""
    v = np.vander(xs.astype(np.float64), 4)
    return tuple(float(c) for c in np.linalg.solve(v, ys.astype(np.float64)))


def _eye(lm: F32, ring: tuple[int, ...]) -> Eye:
    p = lm[list(ring)].astype(np.float64)
    upper = p[[0, 1, 2, 3]]
    lower = p[[0, 5, 4, 3]]
    return Eye(float(min(p[0, 0], p[3, 0])), float(max(p[0, 0], p[3, 0])),
               _cubic(upper[:, 0], upper[:, 1]), _cubic(lower[:, 0], lower[:, 1]),
               float(p[:, 2].mean()))


def face_rig(landmarks: F32, verts: F32) -> FaceRig:
    """The rig from the scan's 68 landmarks (canonical frame, render3d.load_landmarks)."""
    eyes = (_eye(landmarks, EYES[0]), _eye(landmarks, EYES[1]))
    corners = landmarks[list(MOUTH_CORNERS)].astype(np.float32)
    cheeks = []
    for ring, corner in zip(EYES, corners, strict=True):
        outer = ring[0] if abs(landmarks[ring[0], 0]) > abs(landmarks[ring[3], 0]) else ring[3]
        target = 0.55 * landmarks[outer] + 0.45 * corner
        cheeks.append(verts[int(np.argmin(np.linalg.norm(verts - target, axis=1)))])
    return FaceRig(eyes, corners, np.asarray(cheeks, np.float32))


def quantise(value: float, steps: int) -> float:
    return round(min(max(value, 0.0), 1.0) * steps) / steps


def paint_blink(g: GBuffer, rot: F32, cam: Camera, rig: FaceRig, closure: float) -> F32:
    """Albedo of a render of the scan (rotated by rot, not shifted) with both upper lids
    lowered by closure (0 open .. 1 closed).

    The lid edge moves from the upper lid line to just above the lower one; the lid carries the
    scan's own skin, sampled from a band above the crease and stretched down to the edge (the
    crease flattens as the lid closes), darker and with a lash line at the edge.
    """
    out: F32 = g.albedo.copy()
    if closure <= 0.0:
        return out
    filled = _fill_holes(g.albedo, g.mask)
    model = g.position @ rot  # the render is unshifted: position = model @ rot.T
    x, y, z = model[..., 0], model[..., 1], model[..., 2]
    for eye in rig.eyes:
        sel = g.mask & (x > eye.x0) & (x < eye.x1) & (np.abs(z - eye.z) < 12.0)
        up_all, lo_all = eye.lids(x[sel])
        near = (y[sel] > lo_all - 3.0) & (y[sel] < up_all + LID_TOP + 1.0)
        idx = tuple(a[near] for a in np.nonzero(sel))
        px, py, pz = x[idx], y[idx], z[idx]
        up, lo = up_all[near], lo_all[near]
        edge = up + closure * (lo + LASH_REST - up)
        top = up + LID_TOP
        frac = np.clip((py - edge) / np.maximum(top - edge, 0.1), 0.0, 1.0)
        src = np.stack([px, up + SRC_LO + (SRC_HI - SRC_LO) * frac, pz], 1) @ rot.T
        depth = cam.distance - src[:, 2]
        mx = (cam.focal * src[:, 0] / depth + cam.size / 2).astype(np.float32)
        my = (-cam.focal * src[:, 1] / depth + cam.size / 2).astype(np.float32)
        skin = cv2.remap(filled, mx[:, None], my[:, None], cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)[:, 0, :]
        below = np.clip((py - edge) / 0.5 + 0.5, 0.0, 1.0)
        above = np.clip((top + 0.5 - py) / 1.0, 0.0, 1.0)
        alpha = np.minimum(below, above)[:, None]
        # The closed lid curves under towards the lashes: darker there.
        shade = (SHADE + (1 - SHADE) * np.clip((py - edge) / 2.0, 0.0, 1.0))[:, None]
        lid = skin * shade
        lash = (0.85 * np.exp(-(((py - edge - 0.2) / LASH_MM) ** 2)))[:, None]
        lid = lid * (1 - lash) + LASH_ALBEDO[None, :] * lash
        out[idx] = g.albedo[idx] * (1 - alpha) + lid * alpha
    return out


def _fill_holes(albedo: F32, mask: np.ndarray) -> F32:
    """Albedo with the scan's small holes filled by a normalised blur (for sampling only)."""
    m = mask.astype(np.float32)
    num = cv2.GaussianBlur(albedo * m[..., None], (0, 0), 2.0)
    den = cv2.GaussianBlur(m, (0, 0), 2.0)[..., None]
    filled: F32 = np.where(mask[..., None], albedo, num / np.maximum(den, 1e-3))
    return filled.astype(np.float32)


def smile_vertices(verts: F32, rig: FaceRig, amount: float) -> F32:
    """Vertices with the mouth corners pulled up, out and back and the cheeks raised."""
    v = verts.astype(np.float64)
    disp = np.zeros_like(v)
    for corner, cheek in zip(rig.corners, rig.cheeks, strict=True):
        side = 1.0 if corner[0] > 0 else -1.0
        terms = ((corner, CORNER_MOVE, CORNER_SIGMA), (cheek, CHEEK_MOVE, CHEEK_SIGMA))
        for centre, move, sigma in terms:
            w = np.exp(-((v - centre) ** 2).sum(1) / (2 * sigma * sigma))
            disp += w[:, None] * np.array([move[0] * side, move[1], move[2]])[None, :]
    out: F32 = (v + amount * disp).astype(np.float32)
    return out


@dataclass(frozen=True)
class Blink:
    start: float
    close: float
    hold: float
    open: float

    def closure(self, t: float) -> float:
        u = t - self.start
        if u <= 0.0:
            return 0.0
        if u < self.close:
            return _smooth(u / self.close)
        u -= self.close
        if u < self.hold:
            return 1.0
        u -= self.hold
        if u < self.open:
            return 1.0 - _smooth(u / self.open)
        return 0.0

    @property
    def end(self) -> float:
        return self.start + self.close + self.hold + self.open


def _smooth(u: float) -> float:
    return u * u * (3.0 - 2.0 * u)


def draw_blinks(rng: np.random.Generator, t_start: float, t_end: float) -> tuple[Blink, ...]:
    """One blink, or two (30%) when the second fits before the window ends."""
    def one(start: float) -> Blink:
        return Blink(start, float(rng.uniform(0.06, 0.10)), float(rng.uniform(0.05, 0.20)),
                     float(rng.uniform(0.12, 0.22)))

    first = one(t_start + float(rng.uniform(0.25, 0.55)))
    blinks = [first]
    if rng.random() < 0.3:
        second = one(first.end + float(rng.uniform(0.25, 0.45)))
        if second.end < t_end - 0.05:
            blinks.append(second)
    return tuple(blinks)


def blink_closure(blinks: tuple[Blink, ...], t: float, exposure: float) -> float:
    """Mean closure over the frame's exposure (a lid moving during the exposure is blurred)."""
    ts = [t - exposure / 2 + exposure * (k + 0.5) / 5 for k in range(5)]
    return float(np.mean([max((b.closure(s) for b in blinks), default=0.0) for s in ts]))


def ramp(t: float, t_start: float, t_end: float) -> float:
    """0..1..0 over an action window, the person starting 0.25 s late and done 0.25 s early."""
    u = (t - t_start - 0.25) / (t_end - t_start - 0.5)
    return math.sin(math.pi * min(max(u, 0.0), 1.0))
