"""BlazeFace face detector (MediaPipe short and full range): anchors, decode, weighted NMS.

Constants follow MediaPipe's face_detector_graph.cc: the short-range model has 896 anchors
(stride 8 with 2 anchors a cell, stride 16 with 6), the full-range model 2304 anchors (stride 4,
one a cell); all anchors have unit size and centres at (x + 0.5) / cells; regressors are offsets in
input pixels (dx, dy, w, h, then 6 keypoints); scores are sigmoid(clip(logit, +-100)); overlapping
boxes are merged by score-weighted averaging (MediaPipe's WEIGHTED non-max suppression).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from inference.model_store import model_path
from inference.runtime import CompiledModel
from inference.types import Box, Detection, FloatArray

log = logging.getLogger(__name__)

Range = Literal["short", "full"]


@dataclass(frozen=True)
class _Spec:
    model_name: str
    size: int
    strides: tuple[int, ...]
    anchors_per_cell: tuple[int, ...]
    regressors: str
    scores: str


_SPECS: dict[str, _Spec] = {
    "short": _Spec("face_detector", 128, (8, 16), (2, 6), "regressors", "classificators"),
    "full": _Spec("face_detector_full", 192, (4,), (1,),
                  "reshaped_regressor_face_4", "reshaped_classifier_face_4"),
}


def make_anchors(size: int, strides: tuple[int, ...], per_cell: tuple[int, ...]) -> FloatArray:
    """Anchor centres (N, 2) in [0, 1], in the order the model emits its rows."""
    rows = []
    for stride, n in zip(strides, per_cell, strict=True):
        cells = size // stride
        ys, xs = np.mgrid[0:cells, 0:cells]
        centres = np.stack([(xs + 0.5) / cells, (ys + 0.5) / cells], axis=-1).reshape(-1, 2)
        rows.append(np.repeat(centres, n, axis=0))
    return np.concatenate(rows).astype(np.float32)


def _iou(box: FloatArray, boxes: FloatArray) -> FloatArray:
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    out: FloatArray = inter / np.maximum(area + areas - inter, 1e-9)
    return out


def weighted_nms(
    boxes: FloatArray, keypoints: FloatArray, scores: FloatArray, iou_threshold: float
) -> list[tuple[FloatArray, FloatArray, float]]:
    """MediaPipe's WEIGHTED suppression: each cluster becomes its score-weighted mean box."""
    order = np.argsort(-scores)
    remaining = order
    out = []
    while remaining.size:
        top = remaining[0]
        overlap = _iou(boxes[top], boxes[remaining])
        cluster = remaining[overlap > iou_threshold]
        w = scores[cluster][:, None]
        box = (boxes[cluster] * w).sum(0) / w.sum()
        kps = (keypoints[cluster] * w[:, :, None]).sum(0) / w.sum()
        out.append((box.astype(np.float32), kps.astype(np.float32), float(scores[top])))
        remaining = remaining[overlap <= iou_threshold]
    return out


class FaceDetector:
    """BlazeFace on a letterboxed square input; `infer` returns faces in image pixels."""

    def __init__(
        self,
        models_dir: Path,
        *,
        range_: Range = "short",
        min_score: float = 0.5,
        iou_threshold: float = 0.3,
        threads: int = 0,
    ) -> None:
        spec = _SPECS[range_]
        self.range = range_
        self._spec = spec
        self._model = CompiledModel(model_path(models_dir, spec.model_name), threads=threads)
        self._model.expect_input((1, spec.size, spec.size, 3))
        self._anchors = make_anchors(spec.size, spec.strides, spec.anchors_per_cell)
        self._model.expect_output(spec.regressors, len(self._anchors) * 16)
        self._model.expect_output(spec.scores, len(self._anchors))
        self.min_score = min_score
        self.iou_threshold = iou_threshold

    @property
    def precision(self) -> str:
        return self._model.precision

    def infer(self, frame_bgr: np.ndarray) -> list[Detection]:
        size = self._spec.size
        h, w = frame_bgr.shape[:2]
        scale = size / max(h, w)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        # Padding splits evenly on both sides, as MediaPipe's letterbox does.
        pad_x, pad_y = (size - nw) / 2, (size - nh) / 2
        canvas = np.zeros((size, size, 3), np.float32)
        resized = cv2.resize(frame_bgr, (nw, nh), interpolation=cv2.INTER_AREA)
        x0, y0 = int(pad_x), int(pad_y)
        canvas[y0:y0 + nh, x0:x0 + nw] = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
        canvas = canvas / 127.5 - 1.0
        out = self._model(canvas[None])
        reg = out[self._spec.regressors].reshape(-1, 16)
        logits = out[self._spec.scores].reshape(-1).astype(np.float64)
        scores = (1.0 / (1.0 + np.exp(-np.clip(logits, -100.0, 100.0)))).astype(np.float32)
        keep = scores >= self.min_score
        if not keep.any():
            return []
        reg, scores, anchors = reg[keep], scores[keep], self._anchors[keep]
        cx = reg[:, 0] / size + anchors[:, 0]
        cy = reg[:, 1] / size + anchors[:, 1]
        bw, bh = reg[:, 2] / size, reg[:, 3] / size
        boxes: FloatArray = np.stack(
            [cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1).astype(np.float32)
        kps: FloatArray = (reg[:, 4:16].reshape(-1, 6, 2) / size
                           + anchors[:, None, :]).astype(np.float32)
        dets = []
        # Letterbox units (fraction of `size`) back to image pixels.
        off = np.array([x0, y0], np.float32) / size
        for box, kp, score in weighted_nms(boxes, kps, scores, self.iou_threshold):
            b = ((box.reshape(2, 2) - off) * size / scale).reshape(-1)
            k = ((kp - off) * size / scale).astype(np.float32)
            dets.append(Detection(Box(*(float(v) for v in b)), score, k))
        return dets
