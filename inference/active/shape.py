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

The mesh's 468 points crowd on the eyes, brows and lips, where the picture's edges leak most and
a 64 px crop gives several points the same pixel; the dense figures spread the mesh's depth over
every pixel of the crop and ask the same two questions of every usable face pixel, cheeks,
forehead and chin included, where a face's shape shows as shading.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.floating]

DENSE_SIGMA = 1.5  # crop pixels: the Gaussian that spreads the mesh's depth over the crop
COVER_SHARE = 0.05  # a pixel is covered where the splatted weight is above this share of the peak
MIN_DENSE_PIXELS = 60


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


def explained_beyond(v: FloatArray, base: FloatArray, extra: FloatArray) -> float:
    """Share of v's variance left after the base design that the extra columns explain."""
    sse_base = _sse(base, v)
    if sse_base <= 1e-18:
        return 0.0
    return float(max(0.0, 1.0 - _sse(np.hstack([base, extra]), v) / sse_base))


def partial_mesh_r2(xs: FloatArray, ys: FloatArray, ratio_pts: FloatArray,
                    normals: FloatArray, amb_pts: FloatArray) -> float:
    """Share of K/A's variance at the mesh points left after a quadric in the image (a sheet's
    tilt and bend) and the picture terms, that the normal terms explain. 0 when the normals add
    nothing, 1 when they explain all that is left."""
    v = np.asarray(ratio_pts, np.float64)
    base = np.hstack([_quadric(xs, ys), picture_terms(amb_pts)])
    if len(v) < 2 * (base.shape[1] + 6):  # twice the 17 coefficients: 34 points
        return 0.0
    return explained_beyond(v, base, normal_terms(normals))


def dense_normals(pts: FloatArray, size: int, sigma: float = DENSE_SIGMA
                  ) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Normals over every pixel of a size x size crop from the mesh's depth, and where the mesh
    covers the crop. pts: (N, 3) crop x, y and depth in crop pixels. The depths are splatted
    onto the grid and divided by the splatted weights after the same Gaussian blur (a smooth
    interpolation that needs no triangulation); the normal follows the depth's gradient."""
    p = np.asarray(pts, np.float64)
    xi = np.round(p[:, 0]).astype(int)
    yi = np.round(p[:, 1]).astype(int)
    keep = (xi >= 0) & (xi < size) & (yi >= 0) & (yi < size)
    num = np.zeros((size, size), np.float32)
    den = np.zeros((size, size), np.float32)
    np.add.at(num, (yi[keep], xi[keep]), p[keep, 2])
    np.add.at(den, (yi[keep], xi[keep]), 1.0)
    num_b = cv2.GaussianBlur(num, (0, 0), sigma)
    den_b = cv2.GaussianBlur(den, (0, 0), sigma)
    covered = den_b > COVER_SHARE * float(den_b.max()) if den_b.max() > 0 else den_b > 1.0
    z = np.where(den_b > 1e-6, num_b / np.maximum(den_b, 1e-6), 0.0).astype(np.float32)
    gx = cv2.Sobel(z, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(z, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    n = np.dstack([gx, gy, -np.ones_like(z)])
    return n / np.linalg.norm(n, axis=2, keepdims=True), covered


def dense_shape(ratio: FloatArray, amb_rgb: FloatArray, good: npt.NDArray[np.bool_],
                normals: FloatArray) -> tuple[float, float]:
    """(dense_r2, dense_partial): over every usable face pixel (not only the mesh's points,
    which crowd on the eyes and lips), the share of K/A left after a quadric that the normal
    terms explain, and the same beyond the picture terms as well. 0, 0 with too few pixels."""
    ys, xs = np.nonzero(good)
    if len(ys) < MIN_DENSE_PIXELS:
        return 0.0, 0.0
    size = ratio.shape[0]
    x = (xs - size / 2) / size
    y = (ys - size / 2) / size
    v = np.asarray(ratio[ys, xs], np.float64)
    quad = _quadric(x, y)
    terms = normal_terms(np.asarray(normals[ys, xs], np.float64))
    return (explained_beyond(v, quad, terms),
            explained_beyond(v, np.hstack([quad, picture_terms(amb_rgb[ys, xs])]), terms))
