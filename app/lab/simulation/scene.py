"""Live scenes: the real colour portraits, their faces, the identity split and the framing.

A "scene" is linear-light RGB (float32, 0..1 = nominal white) at OVERSAMPLE times the output
frame size; the camera model (camera.py) turns it into the BGR frame a kiosk would see. Live
scenes are the portraits themselves, re-framed and re-lit; attacks put a print or a screen showing
the same portraits into a room (print_attack.py, screen_replay.py).

Why only the colour portraits are live: the ORL faces are 92x112 greyscale. A kiosk camera gives
colour; a grey live set against colour attacks would teach the detector "grey = live", and grey
attacks made from them would teach nothing about colour. They stay out of PAD.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from app.lab.simulation.settings import Framing, LiveSettings, Split

F32 = np.ndarray  # float32 arrays (cv2 returns untyped arrays)
OUT_W, OUT_H = 640, 480  # kiosk camera frame
OVERSAMPLE = 3  # scene samples per camera pixel (per axis)


@dataclass(frozen=True)
class Source:
    file: str  # name under $POH_DATA_DIR/colour
    identity: str
    split: Split
    face: tuple[float, float, float, float]  # x1, y1, x2, y2 found by BlazeFace full range


# Split by identity: Obama (3 photos) and Eileen Collins tune; Biden and Grace Hopper are held out.
SOURCES: tuple[Source, ...] = (
    Source("obama.jpg", "obama", "tuning", (351, 132, 634, 415)),
    Source("obama2.jpg", "obama", "tuning", (142, 274, 484, 616)),
    Source("obama3.jpg", "obama", "tuning", (638, 294, 948, 604)),
    Source("astronaut.png", "collins", "tuning", (174, 70, 279, 175)),
    Source("biden.jpg", "biden", "heldout", (433, 239, 747, 554)),
    Source("grace_hopper.jpg", "hopper", "heldout", (158, 118, 368, 328)),
)


def sources(split: Split) -> tuple[Source, ...]:
    return tuple(s for s in SOURCES if s.split == split)


_TO_LINEAR = np.array([(v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4)
                       for v in np.arange(256) / 255.0], np.float32)
_LUT_STEPS = 8192
_TO_SRGB = np.array([(12.92 * v if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055)
                     for v in np.arange(_LUT_STEPS + 1) / _LUT_STEPS], np.float32)


def srgb_to_linear(img_u8: np.ndarray) -> F32:
    out: F32 = _TO_LINEAR[img_u8]
    return out


def linear_to_srgb(x: F32) -> F32:
    """sRGB encoding by table (8192 steps: below a tenth of a code value of error)."""
    idx = (np.clip(x, 0.0, 1.0) * _LUT_STEPS + 0.5).astype(np.int32)
    out: F32 = _TO_SRGB[idx]
    return out


@lru_cache(maxsize=8)
def _load(path: str) -> np.ndarray:
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f"cannot read image {path}")
    img.setflags(write=False)
    return img


@lru_cache(maxsize=8)
def _load_linear(path: str) -> F32:
    rgb = srgb_to_linear(cv2.cvtColor(_load(path), cv2.COLOR_BGR2RGB))
    rgb.setflags(write=False)
    return rgb


def load_rgb(data_dir: Path, src: Source) -> F32:
    """The portrait as linear RGB (cached, read-only)."""
    return _load_linear(str(data_dir / "colour" / src.file))


def framing_matrix(face: tuple[float, float, float, float], fr: Framing,
                   size: tuple[int, int], scale: float) -> np.ndarray:
    """2x3 affine from source pixels to output pixels (times `scale` for oversampled scenes)."""
    x1, y1, x2, y2 = face
    sx, sy = (x1 + x2) / 2, (y1 + y2) / 2
    k = fr.face_width / (x2 - x1)
    a = math.radians(fr.roll)
    c, s = math.cos(a) * k, math.sin(a) * k
    tx, ty = size[0] / 2 + fr.dx, size[1] / 2 + fr.dy
    m = np.array([[c, -s, tx - c * sx + s * sy], [s, c, ty - s * sx - c * sy]], np.float64)
    return m * scale


def map_box(face: tuple[float, float, float, float],
            m: np.ndarray) -> tuple[float, float, float, float]:
    """Axis-aligned bounds of a source box under a 2x3 affine."""
    x1, y1, x2, y2 = face
    pts = np.array([[x1, y1, 1], [x2, y1, 1], [x1, y2, 1], [x2, y2, 1]], np.float64) @ m.T
    return (float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()),
            float(pts[:, 1].max()))


def light_field(shape: tuple[int, int], gain: float, gradient: float, angle: float) -> F32:
    """Smooth illumination: a gain and a linear ramp across the image (max +-gradient)."""
    h, w = shape
    xs = (np.arange(w, dtype=np.float32) / w - 0.5) * (2.0 * math.cos(angle))
    ys = (np.arange(h, dtype=np.float32) / h - 0.5) * (2.0 * math.sin(angle))
    out: F32 = gain * (1.0 + gradient * (xs[None, :] + ys[:, None]))
    return out


def _fit(shape: tuple[int, int], src: Source, fr: Framing, size: tuple[int, int]) -> Framing:
    """Zoom in (larger face) until the frame stays inside the photo: no mirrored borders."""
    h, w = shape
    corners = np.array([[0, 0, 1], [size[0], 0, 1], [0, size[1], 1], [size[0], size[1], 1]],
                       np.float64)
    for _ in range(40):
        m = np.vstack([framing_matrix(src.face, fr, size, 1.0), [0, 0, 1]])
        pts = corners @ np.linalg.inv(m).T
        if (pts[:, 0].min() >= 0 and pts[:, 1].min() >= 0 and pts[:, 0].max() <= w
                and pts[:, 1].max() <= h):
            break
        fr = Framing(fr.face_width * 1.04, fr.dx, fr.dy, fr.roll)
    return fr


def live_scene(rgb: F32, src: Source, st: LiveSettings,
               size: tuple[int, int] = (OUT_W, OUT_H)) -> tuple[F32, tuple[float, ...]]:
    """A re-framed, re-lit portrait at OVERSAMPLE resolution, and the face box in output pixels."""
    m = framing_matrix(src.face, _fit(rgb.shape[:2], src, st.framing, size), size, OVERSAMPLE)
    big = (size[0] * OVERSAMPLE, size[1] * OVERSAMPLE)
    scene = cv2.warpAffine(rgb, m, big, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
    light = light_field((big[1], big[0]), st.gain, st.gradient, st.gradient_angle)
    scene = scene * light[..., None] * np.array([st.wb_red, 1.0, st.wb_blue], np.float32)
    box = tuple(v / OVERSAMPLE for v in map_box(src.face, m))
    return scene.astype(np.float32), box


def room_background(data_dir: Path | None, split: Split, seed: int,
                    size: tuple[int, int]) -> F32:
    """A defocused room behind a print or screen: a blurred part of a portrait of the same split,
    or a wall (always a wall without `data_dir`)."""
    rng = np.random.default_rng(seed)
    w, h = size
    if rng.random() < 0.5 and data_dir is not None:
        srcs = sources(split)
        src = srcs[int(rng.integers(len(srcs)))]
        img = load_rgb(data_dir, src)
        ih, iw = img.shape[:2]
        cw = int(rng.uniform(0.3, 0.7) * iw)
        ch = min(ih, int(cw * h / w))
        x0, y0 = int(rng.integers(0, iw - cw + 1)), int(rng.integers(0, ih - ch + 1))
        crop = cv2.resize(img[y0:y0 + ch, x0:x0 + cw], (w, h), interpolation=cv2.INTER_AREA)
        sigma = rng.uniform(0.004, 0.012) * w
        bg = cv2.GaussianBlur(crop, (0, 0), sigma)
        grey = bg.mean(axis=2, keepdims=True)
        bg = grey + (bg - grey) * rng.uniform(0.4, 1.0)
    else:
        colour = np.array([rng.uniform(0.2, 0.7), rng.uniform(0.2, 0.7), rng.uniform(0.2, 0.7)],
                          np.float32)
        colour = 0.5 * colour + 0.5 * colour.mean()
        bg = np.ones((h, w, 3), np.float32) * colour
    light = light_field((h, w), rng.uniform(0.5, 1.2), rng.uniform(0.0, 0.4),
                        rng.uniform(0, 2 * math.pi))
    out: F32 = (bg * light[..., None]).astype(np.float32)
    return out
