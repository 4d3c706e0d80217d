"""Face alignment: 5 points from the 478 mesh, similarity fits, ArcFace and dlib-style chips."""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from inference.types import FloatArray

EyePoints = Literal["corners", "iris"]

# ArcFace 112x112 template: image-left eye, image-right eye, nose tip, image-left and image-right
# mouth corners (the person's right eye is on the image left).
ARCFACE_TEMPLATE: FloatArray = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655],
     [70.7299, 92.2041]],
    np.float32,
)
ARCFACE_SIZE = 112

# Mesh indices: eye corners (outer, inner) of the image-left and image-right eye, iris centres,
# nose tip, mouth corners, and the subnasale (dlib's 5th point, "under the nose").
_LEFT_EYE_CORNERS = (33, 133)
_RIGHT_EYE_CORNERS = (362, 263)
_LEFT_IRIS, _RIGHT_IRIS = 468, 473
_NOSE_TIP = 1
_MOUTH = (61, 291)
_SUBNASALE = 2

# dlib get_face_chip_details for the 5-point model: normalised mean-face positions of the
# image-right eye outer and inner corner, image-left eye outer and inner corner, subnasale.
_DLIB5_TEMPLATE: FloatArray = np.array(
    [[0.8595674595992, 0.2134981538014], [0.6460604764104, 0.2289674387677],
     [0.1205750620789, 0.2137274526848], [0.3340850613712, 0.2290642403242],
     [0.4901123135679, 0.6277975316475]],
    np.float32,
)
_DLIB5_MESH = (263, 362, 33, 133, _SUBNASALE)


def similarity_transform(src: FloatArray, dst: FloatArray) -> FloatArray:
    """Least-squares similarity (rotation, uniform scale, translation) mapping src to dst (Umeyama).

    Returns the 2x3 matrix for cv2.warpAffine.
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s0, d0 = src - mu_s, dst - mu_d
    cov = d0.T @ s0 / len(src)
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1.0
    rot = u @ np.diag(d) @ vt
    var_s = (s0**2).sum() / len(src)
    scale = float((sig * d).sum() / var_s) if var_s > 0 else 1.0
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m.astype(np.float32)


def five_points(points: FloatArray, eyes: EyePoints = "corners") -> FloatArray:
    """ArcFace-order 5 points (x, y) from the 478 mesh in image pixels."""
    p = points[:, :2]
    if eyes == "iris":
        le, re = p[_LEFT_IRIS], p[_RIGHT_IRIS]
    else:
        le = p[list(_LEFT_EYE_CORNERS)].mean(0)
        re = p[list(_RIGHT_EYE_CORNERS)].mean(0)
    return np.stack([le, re, p[_NOSE_TIP], p[_MOUTH[0]], p[_MOUTH[1]]]).astype(np.float32)


def arcface_matrix(five: FloatArray) -> FloatArray:
    return similarity_transform(five, ARCFACE_TEMPLATE)


def arcface_crop(frame_bgr: np.ndarray, five: FloatArray) -> np.ndarray:
    """112x112 BGR crop aligned to the ArcFace template (input of the embedder)."""
    m = arcface_matrix(five)
    return cv2.warpAffine(frame_bgr, m, (ARCFACE_SIZE, ARCFACE_SIZE), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def age_chip(frame_bgr: np.ndarray, points: FloatArray, size: int = 64,
             padding: float = 0.2) -> np.ndarray:
    """dlib-style face chip (get_face_chip_details, 5-point model) of `size` pixels, BGR."""
    template = (padding + _DLIB5_TEMPLATE) / (2 * padding + 1) * size
    src = points[list(_DLIB5_MESH), :2]
    m = similarity_transform(src, template)
    return cv2.warpAffine(frame_bgr, m, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT)


def rotated_square(
    centre: tuple[float, float], side: float, angle_rad: float, out_size: int
) -> FloatArray:
    """2x3 matrix mapping a square of `side` pixels around `centre`, turned by `angle_rad`
    (counter-clockwise in image coordinates, y down), onto an out_size x out_size crop."""
    s = out_size / side
    c, n = np.cos(angle_rad), np.sin(angle_rad)
    # Crop axes are the square's axes: u = R(-angle) (p - centre) * s + out/2.
    m = np.array([[c * s, n * s, 0.0], [-n * s, c * s, 0.0]])
    m[:, 2] = out_size / 2 - m[:, :2] @ np.asarray(centre, np.float64)
    return m.astype(np.float32)


def invert(m: FloatArray) -> FloatArray:
    return cv2.invertAffineTransform(m).astype(np.float32)


def apply(m: FloatArray, pts: FloatArray) -> FloatArray:
    out: FloatArray = (pts[:, :2] @ m[:, :2].T + m[:, 2]).astype(np.float32)
    return out


def eye_angle(left_eye: FloatArray, right_eye: FloatArray) -> float:
    """Angle (radians) of the line from the image-left eye to the image-right eye (y down)."""
    d = np.asarray(right_eye, np.float64) - np.asarray(left_eye, np.float64)
    return float(np.arctan2(d[1], d[0]))
