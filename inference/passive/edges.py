"""Straight edges around the face: the border of a sheet of paper or of a phone's bezel.

Long straight segments (Canny + probabilistic Hough) are looked for in the context around the
face; a segment counts for one side of the face (left, right, above, below) when it lies wholly on
that side, runs roughly parallel to it (within 30 degrees) and does not cut through the face. A
print or screen held up shows such edges on two to four sides; a room shows door frames and
shelves too, which is why this is one signal among several and not a rule.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from inference.passive.regions import U8

_MIN_LEN = 0.6  # segment length in face widths
_MAX_ANGLE = 30.0


def straight_edges(context_bgr: U8, face_in_context: tuple[int, int, int, int],
                   face_width: float) -> dict[str, float]:
    """`edge_sides`: sum over the 4 sides of min(1, longest parallel segment / 1.2 face widths);
    `edge_count`: number of long segments outside the face."""
    grey = cv2.cvtColor(context_bgr, cv2.COLOR_BGR2GRAY)
    # Work at a fixed scale (face = 100 px) so that lengths and thresholds mean the same.
    k = 100.0 / max(face_width, 1.0)
    small = cv2.resize(grey, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), 1.2)
    edges = cv2.Canny(small, 30, 90)
    lines = cv2.HoughLinesP(edges, 1, math.pi / 180, threshold=40,
                            minLineLength=int(_MIN_LEN * 100), maxLineGap=6)
    x1, y1, x2, y2 = (v * k for v in face_in_context)
    best = {"left": 0.0, "right": 0.0, "top": 0.0, "bottom": 0.0}
    count = 0
    if lines is not None:
        for a, b, c, d in lines.reshape(-1, 4).astype(np.float64):
            length = math.hypot(c - a, d - b) / 100.0
            angle = abs(math.degrees(math.atan2(d - b, c - a))) % 180.0
            horizontal = min(angle, 180.0 - angle) <= _MAX_ANGLE
            vertical = abs(angle - 90.0) <= _MAX_ANGLE
            xs, ys = (a, c), (b, d)
            side = None
            if vertical and max(xs) <= x1:
                side = "left"
            elif vertical and min(xs) >= x2:
                side = "right"
            elif horizontal and max(ys) <= y1:
                side = "top"
            elif horizontal and min(ys) >= y2:
                side = "bottom"
            if side is None:
                continue
            count += 1
            best[side] = max(best[side], min(1.0, length / 1.2))
    return {"edge_sides": float(sum(best.values())), "edge_count": float(count)}
