"""Shape agreement of the flash answer: does the answer's pattern follow this person's mesh, or
the picture?

A face lit by the screen answers with albedo times the cosine between its normal and the
screen; divided by the ambient image (albedo times the room's cosine), the albedo cancels and
the ratio K/A follows the normals. A print or a re-tinting screen answers flat, but what the
camera does to the picture (a tone curve that is not the assumed one, a colour matrix, the
print's sheen, noise at dark pixels) leaks the picture into K/A: dark eyes and brows read low.
Since a face photo's picture is itself shaded by the face's normals, that leak correlates with
the mesh too. The figure here counts only what the normals explain beyond any smooth function
of the ambient image's level and colour at the same points: the picture can explain its own
leak, not the face's geometry.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.floating]


def _quadric(x: FloatArray, y: FloatArray) -> FloatArray:
    return np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], 1)


def normal_terms(normals: FloatArray) -> FloatArray:
    """First and second order terms of the normal (Lambert's ratio of two cosines, expanded):
    nx, ny, nz, nx^2, ny^2, nx ny."""
    nx, ny, nz = normals[:, 0], normals[:, 1], normals[:, 2]
    return np.stack([nx, ny, nz, nx * nx, ny * ny, nx * ny], 1)


def picture_terms(amb_pts: FloatArray) -> FloatArray:
    """Smooth functions of the ambient image at the points (P, 3 linear RGB): log level, its
    square and cube, and two log chromaticities."""
    a = np.maximum(np.asarray(amb_pts, np.float64), 1e-4)
    lvl = np.log(a.sum(1))
    lvl = lvl - lvl.mean()
    return np.stack([lvl, lvl ** 2, lvl ** 3, np.log(a[:, 0] / a[:, 1]),
                     np.log(a[:, 2] / a[:, 1])], 1)


def _sse(design: FloatArray, v: FloatArray) -> float:
    coef, *_ = np.linalg.lstsq(design, v, rcond=None)
    r = v - design @ coef
    return float(r @ r)


def partial_mesh_r2(xs: FloatArray, ys: FloatArray, ratio_pts: FloatArray,
                    normals: FloatArray, amb_pts: FloatArray) -> float:
    """Share of K/A's variance at the mesh points left after a quadric in the image (a sheet's
    tilt and bend) and the picture terms, that the normal terms explain. 0 when the normals add
    nothing, 1 when they explain all that is left."""
    v = np.asarray(ratio_pts, np.float64)
    base = np.hstack([_quadric(xs, ys), picture_terms(amb_pts)])
    if len(v) < 3 * (base.shape[1] + 6):
        return 0.0
    sse_base = _sse(base, v)
    if sse_base <= 1e-18:
        return 0.0
    sse_full = _sse(np.hstack([base, normal_terms(normals)]), v)
    return float(max(0.0, 1.0 - sse_full / sse_base))
