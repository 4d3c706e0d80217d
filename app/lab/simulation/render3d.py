"""A small numpy renderer for the menpo3d face scan and for flat sheets (prints, screens).

Textured triangle meshes: back faces are culled, the rest painted far to near as triangle ids
(cv2.fillConvexPoly with sub-pixel vertices, about 6k calls at 256 px), then normals, positions
and texture coordinates are interpolated per pixel with barycentric weights (vectorised). The
output is a G-buffer (albedo, normal, position, mask); lighting is applied afterwards
(flash/scene.py: Lambertian room light plus the kiosk screen as an area light), which lets a
still head be rendered once and lit for every frame of a flash sequence.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

F32 = np.ndarray


@dataclass(frozen=True)
class Mesh:
    verts: F32  # (V, 3) millimetres; x right, y up, z towards the camera
    normals: F32  # (V, 3) unit, outward
    faces: np.ndarray  # (F, 3) vertex indices
    face_normals: F32  # (F, 3) unit, outward
    uv: F32  # (F, 3, 2) texture pixel coordinates of each corner
    texture: F32  # (H, W, 3) linear RGB albedo (or emission for screens)


@dataclass(frozen=True)
class GBuffer:
    albedo: F32  # (H, W, 3)
    normal: F32  # (H, W, 3), camera frame
    position: F32  # (H, W, 3), camera frame, millimetres
    mask: np.ndarray  # (H, W) bool


@dataclass(frozen=True)
class Camera:
    size: int = 256  # square frame
    focal: float = 420.0  # pixels
    distance: float = 500.0  # mm from the camera to the head centre


def srgb_to_linear(img: F32) -> F32:
    x = np.clip(img, 0.0, 1.0)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(img: F32) -> F32:
    x = np.clip(img, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055).astype(np.float32)


def _parse_obj(path: Path) -> tuple[F32, F32, np.ndarray, np.ndarray]:
    verts: list[list[float]] = []
    uvs: list[list[float]] = []
    fv: list[list[int]] = []
    ft: list[list[int]] = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "v":
            verts.append([float(p) for p in parts[1:4]])
        elif parts[0] == "vt":
            uvs.append([float(p) for p in parts[1:3]])
        elif parts[0] == "f":
            corners = [p.split("/") for p in parts[1:4]]
            fv.append([int(c[0]) - 1 for c in corners])
            ft.append([int(c[1]) - 1 for c in corners])
    return (np.asarray(verts, np.float64), np.asarray(uvs, np.float64),
            np.asarray(fv, np.int64), np.asarray(ft, np.int64))


def _canonical_frame(lm68: F32) -> tuple[F32, F32]:
    """Rotation and centre that put the scan upright, facing +z (james.ljson's 68 landmarks:
    chin 0-16, eyes 17-22 and 23-28, nose 34-42, mouth 48-67)."""
    eye_l = lm68[17:23].mean(0)
    eye_r = lm68[23:29].mean(0)
    chin = lm68[8]
    x = eye_r - eye_l
    x /= np.linalg.norm(x)
    up = (eye_l + eye_r) / 2 - chin
    y = up - x * (up @ x)
    y /= np.linalg.norm(y)
    z = np.cross(x, y)
    rot = np.stack([x, y, z])  # rows: new axes in scan coordinates
    nose = lm68[34:43].mean(0)
    if (rot @ (nose - (eye_l + eye_r) / 2))[2] < 0:  # the nose must point to the camera
        rot[0] *= -1
        rot[2] *= -1
    centre = (eye_l + eye_r) / 2 * 0.6 + chin * 0.4 - rot[2] * 70.0  # roughly the neck pivot
    return rot, centre


def _vertex_normals(v: F32, f: np.ndarray) -> tuple[F32, F32]:
    """The scan's triangles are not consistently wound: orient each away from the head centre
    (the origin after canonicalisation), which is right for the open, front-facing scan."""
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    outward = v[f].mean(1)
    fn = fn * np.where((fn * outward).sum(1) < 0, -1.0, 1.0)[:, None]
    vn = np.zeros_like(v)
    for k in range(3):
        np.add.at(vn, f[:, k], fn)
    vn /= np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-9)
    fn /= np.maximum(np.linalg.norm(fn, axis=1, keepdims=True), 1e-9)
    return vn, fn


def _raw_landmarks(folder: Path) -> F32:
    return np.asarray(json.loads((folder / "james.ljson").read_text())
                      ["groups"]["LJSON"]["landmarks"]["points"], np.float64)


@lru_cache(maxsize=2)
def load_landmarks(folder: Path) -> F32:
    """james.ljson's 68 landmarks in the canonical frame of load_face (mm). Their order is the
    file's own, not iBUG's: eyes are 17-22 and 23-28 (corner, two upper lid points, corner,
    two lower lid points), mouth 48-67 with the corners at 48 (image left) and 54."""
    lm = _raw_landmarks(folder)
    rot, centre = _canonical_frame(lm)
    return ((lm - centre) @ rot.T).astype(np.float32)


def with_vertices(mesh: Mesh, verts: F32) -> Mesh:
    """The mesh with moved vertices (same faces and texture), its normals recomputed."""
    vn, fn = _vertex_normals(verts.astype(np.float64), mesh.faces)
    return Mesh(verts.astype(np.float32), vn.astype(np.float32), mesh.faces,
                fn.astype(np.float32), mesh.uv, mesh.texture)


@lru_cache(maxsize=2)
def load_face(folder: Path) -> Mesh:
    """The james scan, upright and centred on the neck pivot (mm), with its linear texture."""
    v, vt, fv, ft = _parse_obj(folder / "james.obj")
    rot, centre = _canonical_frame(_raw_landmarks(folder))
    v = (v - centre) @ rot.T
    vn, fn = _vertex_normals(v, fv)
    tex = cv2.imread(str(folder / "james.jpg"), cv2.IMREAD_COLOR)
    if tex is None:
        raise FileNotFoundError(f"cannot read the texture {folder / 'james.jpg'}")
    tex = cv2.resize(tex, (tex.shape[1] // 2, tex.shape[0] // 2), interpolation=cv2.INTER_AREA)
    tex_lin = srgb_to_linear(tex[:, :, ::-1].astype(np.float32) / 255.0)
    th, tw = tex_lin.shape[:2]
    uv = vt[ft] * np.array([tw - 1, -(th - 1)]) + np.array([0.0, th - 1])
    return Mesh(v.astype(np.float32), vn.astype(np.float32), fv, fn.astype(np.float32),
                uv.astype(np.float32), tex_lin)


def sheet(image_linear: F32, width_mm: float, bend: float, grid: int = 24) -> Mesh:
    """A flat or bent sheet (print or screen) carrying an image; bend: sagitta / half-width,
    a cylinder about the vertical axis with its edges away from the camera."""
    h, w = image_linear.shape[:2]
    height_mm = width_mm * h / w
    nx, ny = grid + 1, max(2, int(round(grid * h / w)) + 1)
    gx, gy = np.meshgrid(np.linspace(0.0, 1.0, nx), np.linspace(0.0, 1.0, ny))
    x = (gx - 0.5) * width_mm
    y = (0.5 - gy) * height_mm
    half = width_mm / 2
    z = -bend * x ** 2 / half
    dzdx = -2 * bend * x / half
    nrm = np.stack([-dzdx, np.zeros_like(x), np.ones_like(x)], -1)
    nrm /= np.linalg.norm(nrm, axis=-1, keepdims=True)
    verts = np.stack([x, y, z], -1).reshape(-1, 3)
    uvs = np.stack([gx * (w - 1), gy * (h - 1)], -1).reshape(-1, 2)
    ids = np.arange(nx * ny).reshape(ny, nx)
    a, b, c, d = ids[:-1, :-1], ids[:-1, 1:], ids[1:, :-1], ids[1:, 1:]
    faces = np.concatenate([np.stack([a, c, b], -1).reshape(-1, 3),
                            np.stack([b, c, d], -1).reshape(-1, 3)])
    fn = np.cross(verts[faces[:, 1]] - verts[faces[:, 0]], verts[faces[:, 2]] - verts[faces[:, 0]])
    fn /= np.linalg.norm(fn, axis=1, keepdims=True)
    fn *= np.where(fn[:, 2] < 0, -1.0, 1.0)[:, None]
    return Mesh(verts.astype(np.float32), nrm.reshape(-1, 3).astype(np.float32), faces,
                fn.astype(np.float32), uvs[faces].astype(np.float32),
                np.ascontiguousarray(image_linear, dtype=np.float32))


def rotation(yaw: float, pitch: float, roll: float = 0.0) -> F32:
    """Yaw > 0 turns the face to the image right (the person's left); pitch > 0 looks up."""
    a, b, c = (math.radians(t) for t in (yaw, -pitch, roll))
    ry = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    rz = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    return (rz @ ry @ rx).astype(np.float32)


def render(mesh: Mesh, rot: F32, shift: tuple[float, float, float], cam: Camera) -> GBuffer:
    """G-buffer of the mesh rotated by rot, moved by shift (mm), seen by cam.

    Camera frame: the camera sits at z = +distance looking down -z; x right, y up. Visibility:
    back faces culled, the rest painted far to near as triangle ids (cv2, sub-pixel), then
    attributes interpolated per pixel with barycentric weights.
    """
    p = mesh.verts @ rot.T + np.asarray(shift, np.float32)
    n = mesh.normals @ rot.T
    fn = mesh.face_normals @ rot.T
    depth = cam.distance - p[:, 2]
    c = cam.size / 2
    uv2 = np.stack([cam.focal * p[:, 0] / depth + c, -cam.focal * p[:, 1] / depth + c], -1)
    centre = p[mesh.faces].mean(1)
    view = np.stack([-centre[:, 0], -centre[:, 1], cam.distance - centre[:, 2]], -1)
    # Lenient culling: the scan's orientation fix-up is rough near the brows; painting far to
    # near hides the few back faces that survive.
    vlen = np.linalg.norm(view, axis=1)
    front = np.nonzero((fn * view).sum(-1) > -0.5 * vlen)[0]
    order = front[np.argsort(-depth[mesh.faces[front]].mean(1))]
    ids = np.full((cam.size, cam.size), -1, np.int32)
    tri_px = np.round(uv2[mesh.faces] * 16.0 - 8.0).astype(np.int32)  # pixel centres, 4-bit shift
    for k in order.tolist():
        cv2.fillConvexPoly(ids, tri_px[k], k, cv2.LINE_8, 4)
    mask = ids >= 0
    yy, xx = np.nonzero(mask)
    tri = ids[yy, xx]
    a, b, cc = (uv2[mesh.faces[tri, i]] for i in range(3))
    q = np.stack([xx, yy], -1).astype(np.float64)
    v0, v1, v2 = b - a, cc - a, q - a
    den = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
    den = np.where(np.abs(den) < 1e-9, 1e-9, den)
    w1 = (v2[:, 0] * v1[:, 1] - v1[:, 0] * v2[:, 1]) / den
    w2 = (v0[:, 0] * v2[:, 1] - v2[:, 0] * v0[:, 1]) / den
    w = np.clip(np.stack([1 - w1 - w2, w1, w2], -1), 0.0, 1.0)
    w /= w.sum(1, keepdims=True)
    shape = (cam.size, cam.size)
    nor = np.zeros((*shape, 3), np.float32)
    pos = np.zeros((*shape, 3), np.float32)
    nv = np.einsum("pk,pkd->pd", w, n[mesh.faces[tri]])
    nor[yy, xx] = nv / np.maximum(np.linalg.norm(nv, axis=1, keepdims=True), 1e-9)
    pos[yy, xx] = np.einsum("pk,pkd->pd", w, p[mesh.faces[tri]])
    tuv = np.einsum("pk,pkd->pd", w, mesh.uv[tri])
    mx = np.full(shape, -1.0, np.float32)
    my = np.full(shape, -1.0, np.float32)
    mx[yy, xx] = tuv[:, 0]
    my[yy, xx] = tuv[:, 1]
    alb = cv2.remap(mesh.texture, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return GBuffer(alb, nor, pos, mask)


def screen_irradiance(g: GBuffer, cam: Camera, screen_w: float, screen_h: float,
                      grid: int = 4, part: tuple[float, float] = (0.0, 1.0)) -> F32:
    """Irradiance (relative) from a Lambertian area light: the kiosk screen around the camera.

    The screen is a rectangle in the plane z = cam.distance (the camera sits at its centre-top);
    summed over a grid of point emitters with the cosine at both ends and the inverse square.
    part: the lit share of the screen's width, from its -x edge (the person's right, the
    image's left) to its +x edge; the parts of a split screen add up to the whole.
    """
    out = np.zeros(g.mask.shape, np.float32)
    ref = cam.distance ** -2
    x0, x1 = part
    for i in range(grid):
        for j in range(grid):
            sx = (x0 + (i + 0.5) / grid * (x1 - x0)) * screen_w - screen_w / 2
            sy = -(j + 0.5) / grid * screen_h + 20.0  # the camera sits at the top edge
            d = np.array([sx, sy, cam.distance], np.float32) - g.position
            r2 = np.maximum((d ** 2).sum(-1), 1.0)
            dn = d / np.sqrt(r2)[..., None]
            cos_surf = np.maximum((dn * g.normal).sum(-1), 0.0)
            cos_screen = np.maximum(dn[..., 2], 0.0)
            out += cos_surf * cos_screen / r2 / ref
    out /= grid * grid
    if part != (0.0, 1.0):
        out *= x1 - x0
    out[~g.mask] = 0.0
    return out


def directional(g: GBuffer, direction: tuple[float, float, float]) -> F32:
    d = np.asarray(direction, np.float32)
    d = d / np.linalg.norm(d)
    out = np.maximum((g.normal * d).sum(-1), 0.0)
    out[~g.mask] = 0.0
    return out.astype(np.float32)
