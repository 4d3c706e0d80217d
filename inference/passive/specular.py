"""Specular highlights and glare.

Skin under room light shows small, very bright highlights (nose, forehead) well above the skin's
median; a print lit flatly keeps highlights below its paper white, so the ratio shrinks. A
screen's glass mirrors lamps as large, bright, colourless, smooth patches around the face.
"""

from __future__ import annotations

import cv2
import numpy as np

from inference.passive.regions import U8


def _linear_luma(bgr: U8) -> np.ndarray:
    x = bgr.astype(np.float32) / 255.0
    lin = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
    out: np.ndarray = lin @ np.array([0.0722, 0.7152, 0.2126], np.float32)
    return out


def highlight_stats(face_bgr: U8, context_bgr: U8,
                    face_in_context: tuple[int, int, int, int]) -> dict[str, float]:
    lum = _linear_luma(face_bgr)
    med = float(np.median(lum))
    ratio = float(np.percentile(lum, 99.5)) / max(med, 1e-3)
    hsv = cv2.cvtColor(context_bgr, cv2.COLOR_BGR2HSV).astype(np.float32)
    grey = hsv[..., 2]
    local_sd = np.sqrt(np.maximum(
        cv2.blur(grey * grey, (7, 7)) - cv2.blur(grey, (7, 7)) ** 2, 0.0))
    glare = (hsv[..., 2] > 225) & (hsv[..., 1] < 40) & (local_sd < 6.0)
    x1, y1, x2, y2 = face_in_context
    ring = np.ones(glare.shape, bool)
    ring[max(0, y1):max(0, y2), max(0, x1):max(0, x2)] = False
    return {
        "highlight_ratio": float(np.log(max(ratio, 1e-3))),
        "glare_fraction": float(glare[ring].mean()) if ring.any() else 0.0,
        "face_glare_fraction": float(glare[~ring].mean()) if (~ring).any() else 0.0,
    }
