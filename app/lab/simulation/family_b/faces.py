"""Family B's faces: 2.5D surfaces built from the 478-point mesh of a sample portrait.

The portrait gives the texture (its linear colour is taken as albedo: the photo's own shading
stays in it, as it would in a skin texture map); the depth comes from the mesh's z, either the
portrait's own ("own") or another portrait's, moved onto this one's landmarks point by point
("swap": another person's geometry under this texture). Depth inside the mesh hull is
interpolated over a Delaunay triangulation of the landmarks; outside it the head falls off as an
ellipsoid. Normals come from that surface's gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.interpolate import LinearNDInterpolator
from scipy.spatial import Delaunay

FRAME_W, FRAME_H = 320, 240
FACE_WIDTH = 100.0  # pixels across the mesh in the frame


def srgb_to_linear_b(img_u8: np.ndarray) -> np.ndarray:
    x = img_u8.astype(np.float32) / 255.0
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


@dataclass(frozen=True)
class Portrait:
    """A portrait cut to the frame: linear RGB photo (H, W, 3) and its mesh (478, 3) there."""

    name: str
    photo: np.ndarray
    mesh: np.ndarray


@dataclass(frozen=True)
class FaceSurface:
    """albedo (H, W, 3) linear RGB; depth (H, W) pixels, larger = farther; alpha (H, W) head."""

    name: str
    albedo: np.ndarray
    depth: np.ndarray
    alpha: np.ndarray

    def normals(self, depth_scale: float) -> np.ndarray:
        """Unit normals towards the camera side (x right, y down, z away from the camera)."""
        z = cv2.GaussianBlur(self.depth * depth_scale, (0, 0), 1.2)
        gx = cv2.Sobel(z, cv2.CV_32F, 1, 0, ksize=3) / 8.0
        gy = cv2.Sobel(z, cv2.CV_32F, 0, 1, ksize=3) / 8.0
        n = np.dstack([gx, gy, -np.ones_like(z)])
        return (n / np.linalg.norm(n, axis=2, keepdims=True)).astype(np.float32)


def cut_portrait(name: str, image_bgr: np.ndarray, mesh: np.ndarray) -> Portrait:
    """Scale the portrait so that the mesh is FACE_WIDTH wide and cut the frame around it
    (mirror padding where the photo is too small)."""
    p = mesh.astype(np.float64)
    s = FACE_WIDTH / float(np.ptp(p[:, 0]))
    img = cv2.resize(image_bgr, None, fx=s, fy=s,
                     interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
    p = p * s
    cx, cy = p[:, 0].mean(), p[:, 1].mean()
    x0, y0 = int(round(cx - FRAME_W / 2)), int(round(cy - FRAME_H / 2 + 8))
    pad = max(FRAME_W, FRAME_H)
    big = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_REFLECT)
    crop = big[y0 + pad:y0 + pad + FRAME_H, x0 + pad:x0 + pad + FRAME_W]
    p[:, 0] -= x0
    p[:, 1] -= y0
    rgb = srgb_to_linear_b(crop[..., ::-1].copy())
    return Portrait(name, rgb, p.astype(np.float32))


def head_ellipse(mesh: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised ellipse coordinates (u, v) over the frame and the head's ellipsoid depth."""
    xy = mesh[:, :2]
    c = xy.mean(0) - np.array([0.0, 0.08 * np.ptp(xy[:, 1])])
    ax = 0.62 * np.ptp(xy[:, 0])
    ay = 0.68 * np.ptp(xy[:, 1])
    yy, xx = np.mgrid[0:FRAME_H, 0:FRAME_W].astype(np.float32)
    u, v = (xx - c[0]) / ax, (yy - c[1]) / ay
    r2 = np.minimum(u * u + v * v, 1.0)
    z = -0.9 * ax * np.sqrt(1.0 - r2)  # the front of the head nearest the camera
    return u, v, z.astype(np.float32)


def surface(portrait: Portrait, depth_mesh: np.ndarray | None = None) -> FaceSurface:
    """depth_mesh: another portrait's mesh whose z (per face width) replaces this one's."""
    p = portrait.mesh.astype(np.float64)
    z = p[:, 2].copy()
    if depth_mesh is not None:
        q = depth_mesh.astype(np.float64)
        z = q[:, 2] / np.ptp(q[:, 0]) * np.ptp(p[:, 0])
    u, v, z_ell = head_ellipse(portrait.mesh)
    tri = Delaunay(p[:, :2])
    yy, xx = np.mgrid[0:FRAME_H, 0:FRAME_W]
    z_mesh = LinearNDInterpolator(tri, z)(xx, yy).astype(np.float32)
    inside = np.isfinite(z_mesh)
    # Outside the mesh, carry the mesh's offset from the ellipsoid over smoothly.
    delta = np.where(inside, z_mesh - z_ell, 0.0).astype(np.float32)
    w = inside.astype(np.float32)
    num = cv2.GaussianBlur(delta, (0, 0), 12.0)
    den = cv2.GaussianBlur(w, (0, 0), 12.0)
    fill = np.where(den > 1e-3, num / np.maximum(den, 1e-3), 0.0)
    depth = np.where(inside, z_mesh, z_ell + fill).astype(np.float32)
    r = np.sqrt(u * u + v * v)
    alpha = np.clip((1.08 - r) / 0.12, 0.0, 1.0).astype(np.float32)
    alpha = np.maximum(alpha, cv2.GaussianBlur(inside.astype(np.float32), (0, 0), 2.0))
    return FaceSurface(portrait.name, portrait.photo, depth, alpha)
