"""BlazeFace on real portraits: one face each, a sane box and keypoints; nothing on blank frames."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from inference.models.detector import FaceDetector, make_anchors, weighted_nms
from inference.pipeline import FacePipeline
from inference.types import Detection

PORTRAITS = ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "astronaut.png",
             "grace_hopper.jpg")


def _check_face(det: Detection, shape: tuple[int, ...]) -> None:
    h, w = shape[:2]
    b = det.box
    assert det.score > 0.7
    assert -0.05 * w <= b.x1 < b.x2 <= 1.05 * w
    assert -0.05 * h <= b.y1 < b.y2 <= 1.05 * h
    # A portrait's face is neither a speck nor the whole frame, and roughly square.
    assert 0.08 * min(h, w) < b.width < 0.9 * min(h, w)
    assert 0.75 < b.height / b.width < 1.33
    left_eye, right_eye, nose, mouth = det.keypoints[:4]
    assert left_eye[0] < nose[0] < right_eye[0]
    assert max(left_eye[1], right_eye[1]) < mouth[1]
    assert nose[1] < mouth[1]
    for x, y in det.keypoints[:4]:
        assert b.x1 <= x <= b.x2 and b.y1 <= y <= b.y2


@pytest.mark.parametrize("name", PORTRAITS)
def test_one_face_on_each_portrait(face_pipeline: FacePipeline,
                                   portraits: dict[str, np.ndarray], name: str) -> None:
    image = portraits[name]
    dets = face_pipeline.detect(image)
    assert len(dets) == 1
    _check_face(dets[0], image.shape)


@pytest.mark.parametrize("range_", ["short", "full"])
def test_each_range_finds_the_small_faces_in_large_frames(
        models_dir: Path, portraits: dict[str, np.ndarray], range_: str) -> None:
    detector = FaceDetector(models_dir, range_=range_)  # type: ignore[arg-type]
    for name in ("obama.jpg", "obama3.jpg", "biden.jpg"):
        dets = detector.infer(portraits[name])
        assert len(dets) == 1, name
        _check_face(dets[0], portraits[name].shape)


@pytest.mark.parametrize("fill", [0, 128, 255])
def test_no_face_on_a_blank_frame(face_pipeline: FacePipeline, fill: int) -> None:
    blank = np.full((480, 640, 3), fill, np.uint8)
    result = face_pipeline.analyze(blank)
    assert result.faces == ()
    assert result.image_shape == (480, 640)


def test_no_face_on_noise(face_pipeline: FacePipeline) -> None:
    noise = np.random.default_rng(7).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    assert face_pipeline.analyze(noise).faces == ()


def test_anchor_counts_match_the_models() -> None:
    assert make_anchors(128, (8, 16), (2, 6)).shape == (896, 2)
    assert make_anchors(192, (4,), (1,)).shape == (2304, 2)


def test_weighted_nms_merges_a_cluster_by_score() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], np.float32)
    kps = np.zeros((3, 6, 2), np.float32)
    kps[1] += 3.0
    scores = np.array([0.9, 0.3, 0.8], np.float32)
    out = weighted_nms(boxes, kps, scores, 0.3)
    assert len(out) == 2
    box, kp, score = out[0]
    assert score == pytest.approx(0.9)
    assert box[0] == pytest.approx(0.3 / 1.2, rel=1e-5)
    assert kp[0, 0] == pytest.approx(3.0 * 0.3 / 1.2, rel=1e-5)
    assert out[1][0].tolist() == [50, 50, 60, 60]


def test_full_range_fallback_finds_a_small_face_in_a_large_frame(
        face_pipeline: FacePipeline, models_dir: Path,
        portraits: dict[str, np.ndarray]) -> None:
    small = cv2.resize(portraits["obama.jpg"], None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA)
    frame = np.full((1080, 1920, 3), 90, np.uint8)
    h, w = small.shape[:2]
    frame[500:500 + h, 1200:1200 + w] = small
    assert FaceDetector(models_dir, range_="short").infer(frame) == []
    faces = face_pipeline.detect(frame)  # short range first, full range when it finds nothing
    assert len(faces) == 1
    cx, cy = faces[0].box.center
    assert 1200 < cx < 1200 + w and 500 < cy < 500 + h


def test_two_faces_largest_first(face_pipeline: FacePipeline,
                                 portraits: dict[str, np.ndarray]) -> None:
    left = portraits["obama.jpg"]
    right = cv2.resize(portraits["grace_hopper.jpg"], None, fx=1.6, fy=1.6)[: left.shape[0]]
    frame = np.zeros((left.shape[0], left.shape[1] + right.shape[1], 3), np.uint8)
    frame[:, : left.shape[1]] = left
    frame[: right.shape[0], left.shape[1]:] = right
    faces = face_pipeline.detect(frame)
    assert len(faces) == 2
    areas = [f.box.width * f.box.height for f in faces]
    assert areas[0] >= areas[1]
