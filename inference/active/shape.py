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
a 64 px crop gives several points the same pixel; the dense figures triangulate the mesh over
the crop (each pixel the normal of its facet, lightly smoothed) and ask the same two questions of
every usable face pixel, cheeks, forehead and chin included, where a face's shape shows as
shading. (Spreading the points' depth with a Gaussian and differentiating it, as first done,
left holes and streaks between the points.)
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.floating]

DENSE_SIGMA = 1.0  # crop pixels: the Gaussian that smooths the mesh's facets
MAX_EDGE = 0.15  # share of the crop: longer triangle edges bridge hollows of the hull
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


def mesh_triangles(xy: FloatArray) -> npt.NDArray[np.int_]:
    """Delaunay triangles (T, 3 point indices) over the mesh's image points. OpenCV keeps the
    points as float32 and returns the triangles' corners as such: they are matched back to the
    points on those exact values (rounding both sides to a few decimals missed about one corner
    in a hundred). A point on the same spot as an earlier one is left out, as OpenCV does; so are
    a few slivers on the hull, which OpenCV drops with a bounding rectangle this close to the
    points (outside the eroded face mask the figures use)."""
    p = np.asarray(xy, np.float64)
    lo, hi = p.min(0) - 1.0, p.max(0) + 1.0
    sub = cv2.Subdiv2D((int(np.floor(lo[0])), int(np.floor(lo[1])),
                        int(np.ceil(hi[0] - lo[0])) + 1, int(np.ceil(hi[1] - lo[1])) + 1))
    p32 = np.ascontiguousarray(p, np.float32)
    sub.insert([(float(x), float(y)) for x, y in p32])
    corners = np.ascontiguousarray(np.asarray(sub.getTriangleList(), np.float32).reshape(-1, 2))
    keys, first = np.unique(p32.view(np.uint64).ravel(), return_index=True)
    wanted = corners.view(np.uint64).ravel()
    at = np.clip(np.searchsorted(keys, wanted), 0, len(keys) - 1)
    found = (keys[at] == wanted).reshape(-1, 3)
    ids = first[at].reshape(-1, 3)
    return np.asarray(ids[found.all(1)], np.int_).reshape(-1, 3)


def dense_normals(pts: FloatArray, size: int, sigma: float = DENSE_SIGMA
                  ) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Normals over every pixel of a size x size crop from the mesh, and where the mesh covers
    the crop. pts: (N, 3) crop x, y and depth in crop pixels. The points are triangulated
    (Delaunay in the image), each pixel takes the normal of the triangle it falls in, and the
    facets are smoothed by a Gaussian normalised by the coverage. Triangles with an edge longer
    than MAX_EDGE of the crop bridge the hull's hollows, not the face: left out."""
    p = np.asarray(pts, np.float64)
    tris = mesh_triangles(p[:, :2])
    owner = np.full((size, size), -1, np.int32)
    normals = np.zeros((max(len(tris), 1), 3))
    if len(tris):
        v0, v1, v2 = p[tris[:, 0]], p[tris[:, 1]], p[tris[:, 2]]
        n = np.cross(v1 - v0, v2 - v0)
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
        normals = np.where(n[:, 2:3] > 0, -n, n)  # towards the camera (image z points away)
        edge = np.max([np.hypot(*(a - b)[:, :2].T) for a, b in ((v0, v1), (v1, v2), (v2, v0))],
                      axis=0)
        polys = np.round(p[tris, :2]).astype(np.int32)  # (T, 3, 2)
        for k in np.nonzero(edge < MAX_EDGE * size)[0].tolist():
            cv2.fillConvexPoly(owner, polys[k], k)
    covered = owner >= 0
    facets = np.zeros((size, size, 3), np.float32)
    facets[covered] = normals[owner[covered]]
    weight = cv2.GaussianBlur(covered.astype(np.float32), (0, 0), sigma)
    smooth = cv2.GaussianBlur(facets, (0, 0), sigma) / np.maximum(weight, 1e-6)[..., None]
    out = smooth / np.maximum(np.linalg.norm(smooth, axis=2, keepdims=True), 1e-9)
    return np.asarray(out, np.float64), covered


def _dense_pixels(values: FloatArray, good: npt.NDArray[np.bool_]
                  ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], FloatArray,
                             FloatArray] | None:
    """The usable pixels of a crop map (rows, columns), their values and the quadric of their
    image coordinates (centred, in crop widths); None with too few pixels."""
    ys, xs = np.nonzero(good)
    if len(ys) < MIN_DENSE_PIXELS:
        return None
    size = values.shape[0]
    quad = _quadric((xs - size / 2) / size, (ys - size / 2) / size)
    return ys, xs, np.asarray(values[ys, xs], np.float64), quad


def dense_shape(ratio: FloatArray, amb_rgb: FloatArray, good: npt.NDArray[np.bool_],
                normals: FloatArray) -> tuple[float, float]:
    """(dense_r2, dense_partial): over every usable face pixel (not only the mesh's points,
    which crowd on the eyes and lips), the share of K/A left after a quadric that the normal
    terms explain, and the same beyond the picture terms as well. 0, 0 with too few pixels."""
    px = _dense_pixels(ratio, good)
    if px is None:
        return 0.0, 0.0
    ys, xs, v, quad = px
    terms = normal_terms(np.asarray(normals[ys, xs], np.float64))
    return (explained_beyond(v, quad, terms),
            explained_beyond(v, np.hstack([quad, picture_terms(amb_rgb[ys, xs])]), terms))


def side_answer(beta: FloatArray, good: npt.NDArray[np.bool_], normals: FloatArray
                ) -> tuple[float, float]:
    """(side_slope, side_partial) of a flash whose screen halves showed different colours.

    beta: per pixel, (K_left - K_right) / (K_left + K_right), the share of its answer that comes
    more from the left half than from the right (inference/active/rolling.py, side_balance; the
    left half as the person facing the screen sees it lights the face parts the camera sees on
    the image's right). Lambert: a face's beta follows its normal's x component, in the image's
    own direction (a positive slope), with a first-order strength that a single light's
    second-order shading never has. A flat sheet has one normal: its beta is one number, a tilt
    spreads it linearly over the image, a curl or sheen smoothly; the quadric takes those.
    side_slope: the coefficient of n_x beyond a quadric; side_partial: the share of what the
    quadric leaves that n_x explains. 0, 0 with too few pixels."""
    px = _dense_pixels(beta, good)
    if px is None:
        return 0.0, 0.0
    ys, xs, v, quad = px
    nx = np.asarray(normals[ys, xs, 0], np.float64)[:, None]
    coef, *_ = np.linalg.lstsq(np.hstack([quad, nx]), v, rcond=None)
    return float(coef[-1]), explained_beyond(v, quad, nx)
