"""Screen-grid and moire energy: narrow peaks in the spectrum of the face's fine detail.

A screen's pixel grid and the moire it makes against the sensor grid are periodic: they put
isolated peaks into the 2D spectrum, where skin, hair and print paper give a smooth fall-off.
The face (native resolution, central 80%) is high-passed, windowed and transformed; each
frequency's log power is compared with a smoothed spectrum around it. JPEG's 8x8 block grid
makes its own peaks at multiples of 1/8 cycle per pixel, in live frames too: those bins are
ignored.
"""

from __future__ import annotations

import cv2
import numpy as np

from inference.passive.regions import F32, U8

_R_MIN, _R_MAX = 0.06, 0.45  # cycles per pixel
_MAX_SIDE = 256  # larger faces are cropped to their centre (the grid is everywhere)


def _grey(img: U8) -> F32:
    out: F32 = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255.0
    return out


def spectrum_peaks(face_bgr: U8) -> dict[str, float]:
    """`moire_peak`: 99.5th percentile of the local prominence (log10 power) in the band.
    `hf_ratio`: log10 of high-band (0.25-0.45) over mid-band (0.06-0.25) power."""
    g = _grey(face_bgr)
    h, w = g.shape
    side = min(h, w, _MAX_SIDE)
    y0, x0 = (h - side) // 2, (w - side) // 2
    g = g[y0:y0 + side, x0:x0 + side]
    g = g - cv2.GaussianBlur(g, (0, 0), 2.5)  # keep texture, drop face shape and shading
    win = np.outer(np.hanning(side), np.hanning(side)).astype(np.float32)
    power = np.abs(np.fft.fftshift(np.fft.fft2(g * win))) ** 2
    f = np.fft.fftshift(np.fft.fftfreq(side))
    fx, fy = np.meshgrid(f, f)
    r = np.hypot(fx, fy)
    logp = np.log10(power + 1e-12)

    band = (r >= _R_MIN) & (r <= _R_MAX)
    # Exclude the JPEG block grid (multiples of 1/8) and a one-bin guard around it.
    step = 1.0 / side
    near8 = ((np.abs(fx * 8 - np.round(fx * 8)) <= 8 * step * 1.01)
             & (np.abs(fy * 8 - np.round(fy * 8)) <= 8 * step * 1.01))
    axes = (np.abs(fx) <= step * 1.01) | (np.abs(fy) <= step * 1.01)  # window leakage on axes
    use = band & ~near8 & ~axes
    # Local prominence: each bin against a smoothed version of the log spectrum around it.
    prominence = logp - cv2.GaussianBlur(logp.astype(np.float32), (0, 0), 4.0)
    peak = float(np.percentile(prominence[use], 99.5)) if use.any() else 0.0
    hi = power[(r >= 0.25) & (r <= _R_MAX)].sum()
    mid = power[(r >= _R_MIN) & (r < 0.25)].sum()
    return {"moire_peak": peak, "hf_ratio": float(np.log10((hi + 1e-12) / (mid + 1e-12)))}
