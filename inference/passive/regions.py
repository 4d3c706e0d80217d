"""Face crop and surroundings used by the passive signals, cut from the detection box."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inference.types import Box

U8 = np.ndarray  # uint8 BGR images
F32 = np.ndarray  # float32 arrays (cv2 returns untyped arrays)


@dataclass(frozen=True)
class Regions:
    """Pixel regions of one face: the inner face, a normalised face crop and the context."""

    face: U8  # inner face (central 80% of the box), native resolution, BGR
    face_norm: U8  # the square face box resized to NORM_SIZE, BGR
    context: U8  # the box scaled by CONTEXT_SCALE, clipped to the frame, BGR
    face_in_context: tuple[int, int, int, int]  # the face box in context pixels (x1, y1, x2, y2)
    face_width: float  # face box width in frame pixels


NORM_SIZE = 128
CONTEXT_SCALE = 3.0


def _square(box: Box, scale: float) -> tuple[float, float, float, float]:
    cx, cy = box.center
    half = max(box.width, box.height) * scale / 2
    return cx - half, cy - half, cx + half, cy + half


def _clip(b: tuple[float, float, float, float], w: int, h: int) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = b
    return (int(np.clip(round(x1), 0, w)), int(np.clip(round(y1), 0, h)),
            int(np.clip(round(x2), 0, w)), int(np.clip(round(y2), 0, h)))


def face_regions(frame_bgr: U8, box: Box) -> Regions:
    """Cut the regions; raises ValueError when the face box is (almost) outside the frame."""
    h, w = frame_bgr.shape[:2]
    fx1, fy1, fx2, fy2 = _clip(_square(box, 0.8), w, h)
    if fx2 - fx1 < 16 or fy2 - fy1 < 16:
        raise ValueError(f"face box {box} leaves fewer than 16x16 pixels inside the frame")
    sx1, sy1, sx2, sy2 = _square(box, 1.0)
    side = sx2 - sx1
    m = np.array([[NORM_SIZE / side, 0, -sx1 * NORM_SIZE / side],
                  [0, NORM_SIZE / side, -sy1 * NORM_SIZE / side]], np.float64)
    norm = cv2.warpAffine(frame_bgr, m, (NORM_SIZE, NORM_SIZE), flags=cv2.INTER_AREA,
                          borderMode=cv2.BORDER_REPLICATE)
    cx1, cy1, cx2, cy2 = _clip(_square(box, CONTEXT_SCALE), w, h)
    bx = _clip((box.x1, box.y1, box.x2, box.y2), w, h)
    return Regions(
        face=frame_bgr[fy1:fy2, fx1:fx2],
        face_norm=norm,
        context=frame_bgr[cy1:cy2, cx1:cx2],
        face_in_context=(bx[0] - cx1, bx[1] - cy1, bx[2] - cx1, bx[3] - cy1),
        face_width=float(box.width),
    )
