"""Colour-gamut and tone statistics, and LBP texture histograms in YCbCr and HSV.

A print cannot be whiter than its paper nor blacker than its ink and loses chroma; a screen lifts
its blacks and shifts its white point. Auto exposure and white balance hide the absolute levels,
but not the spread: these statistics are taken over the face and its surroundings. The LBP
histograms (8 neighbours, radius 1, rotation-invariant uniform codes: 10 bins per channel) describe
micro-texture and colour texture on the scale-normalised face.
"""

from __future__ import annotations

import cv2
import numpy as np

from inference.passive.regions import F32, U8

LBP_BINS = 10
LBP_CHANNELS = ("Y", "Cb", "Cr", "H", "S", "V")


def gamut_stats(face_bgr: U8, context_bgr: U8) -> dict[str, float]:
    ycc_f = cv2.cvtColor(face_bgr, cv2.COLOR_BGR2YCrCb).astype(np.float32)
    ycc_c = cv2.cvtColor(context_bgr, cv2.COLOR_BGR2YCrCb).astype(np.float32)
    chroma_f = np.hypot(ycc_f[..., 1] - 128, ycc_f[..., 2] - 128)
    chroma_c = np.hypot(ycc_c[..., 1] - 128, ycc_c[..., 2] - 128)
    y = ycc_c[..., 0]
    p1, p50, p99 = np.percentile(y, (1, 50, 99))
    return {
        "face_chroma": float(np.median(chroma_f)),
        # Pupils, nostrils and brows are darker than any ink or screen black.
        "face_black": float(np.percentile(ycc_f[..., 0], 1)),
        "context_chroma_p95": float(np.percentile(chroma_c, 95)),
        "dynamic_range": float(p99 - p1),
        "black_level": float(p1),
        "face_luma_spread": float(np.percentile(ycc_f[..., 0], 95)
                                  - np.percentile(ycc_f[..., 0], 5)),
        "context_median": float(p50),
    }


def _lbp_riu2(ch: F32) -> np.ndarray:
    """Rotation-invariant uniform LBP(8, 1) codes 0..9 of the interior pixels."""
    c = ch[1:-1, 1:-1]
    offsets = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))
    h, w = ch.shape
    bits = np.stack([(ch[1 + dy:h - 1 + dy, 1 + dx:w - 1 + dx] >= c) for dy, dx in offsets])
    ones = bits.sum(axis=0)
    transitions = (bits != np.roll(bits, 1, axis=0)).sum(axis=0)
    codes: np.ndarray = np.where(transitions <= 2, ones, 9)
    return codes


def lbp_histograms(face_norm_bgr: U8) -> F32:
    """Concatenated normalised LBP histograms of Y, Cb, Cr, H, S, V (60 values)."""
    ycc = cv2.cvtColor(face_norm_bgr, cv2.COLOR_BGR2YCrCb)
    hsv = cv2.cvtColor(face_norm_bgr, cv2.COLOR_BGR2HSV)
    chans = (ycc[..., 0], ycc[..., 2], ycc[..., 1], hsv[..., 0], hsv[..., 1], hsv[..., 2])
    hists = []
    for ch in chans:
        codes = _lbp_riu2(ch.astype(np.float32))
        hist = np.bincount(codes.ravel(), minlength=LBP_BINS).astype(np.float32)
        hists.append(hist / max(float(hist.sum()), 1.0))
    out: F32 = np.concatenate(hists).astype(np.float32)
    return out
