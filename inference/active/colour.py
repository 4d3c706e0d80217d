"""Colour of the flash answer, checked in the camera's own colour space.

Diffuse skin answers the screen in its own colour: per pixel, the response to white K_c over
the ambient image A_c is the same in every channel up to one factor per channel (the room's
colour against the screen's). Glass mirrors the screen's colour whatever the picture under it,
so its K_c / A_c differs from channel to channel pixel by pixel. A webcam's colour correction
matrix mixes the channels (saturating: each channel minus a share of the others) after the
light has been added up, so a live face's K and A are both mixed; the check then reads the
face's saturated pixels (lips, eyes, glasses) as tinted. The matrix is not known, but it is
the same for K and A: the spread is taken at the saturation change (about grey) that makes
it smallest, per unit of chroma gain. No such change lines up a mirrored screen's colour with
the picture under it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.floating]

SATURATION_GRID = tuple(float(v) for v in np.arange(-0.5, 0.501, 0.1))


def colour_spread(amb_px: FloatArray, resp_px: FloatArray, percentile: float = 90.0) -> float:
    """Percentile over pixels of the spread across channels of log(K_c / A_c), each channel
    over its median (P, 3) inputs; 1.0 when there are too few pixels to say."""
    if len(amb_px) < 50:
        return 1.0
    r_c = np.asarray(resp_px, np.float64) / np.maximum(np.asarray(amb_px, np.float64), 1e-4)
    rho = np.log(np.maximum(r_c / np.maximum(np.median(r_c, axis=0), 1e-6), 1e-3))
    return float(np.percentile(rho.std(axis=1), percentile))


def saturation_matrix(o: float) -> FloatArray:
    """Identity on grey, 1 + o on the chroma: o > 0 saturates, o < 0 desaturates."""
    return np.asarray(np.eye(3) + o * (np.eye(3) - np.full((3, 3), 1.0 / 3.0)))


def camera_colour_spread(amb_px: FloatArray, resp_px: FloatArray) -> tuple[float, float]:
    """The smallest colour spread over saturation changes applied to both K and A, and the
    change that gives it."""
    best = (np.inf, 0.0)
    a = np.asarray(amb_px, np.float64)
    k = np.asarray(resp_px, np.float64)
    for o in SATURATION_GRID:
        m = saturation_matrix(o)
        # Log-ratio differences scale with the chroma's gain: per unit of it, or full
        # desaturation (every channel alike) would read as no spread at all.
        spread = colour_spread(a @ m.T, k @ m.T) / (1.0 + o)
        if spread < best[0]:
            best = (spread, o)
    return float(best[0]), float(best[1])
