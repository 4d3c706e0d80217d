"""Quality cues on real portraits (framed like a kiosk frame) and controlled alterations of them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from app.lab.simulation.camera import capture
from app.lab.simulation.scene import SOURCES, live_scene, load_rgb
from app.lab.simulation.settings import CameraSettings, Framing, LiveSettings
from inference.pipeline import FacePipeline, PipelineConfig
from inference.quality import QualityConfig, QualityReport, assess_quality, cue_texts
from inference.types import FaceAnalysis, HeadPose

CFG = QualityConfig()
CAM = CameraSettings(lens_sigma=0.4, ev_error=0.0, flare=0.01, awb_strength=0.6, full_well=5000.0,
                     read_noise=0.003, sharpen=0.2, jpeg_quality=90)


@pytest.fixture(scope="module")
def pipeline(models_dir: Path) -> FacePipeline:
    return FacePipeline(PipelineConfig(models_dir=models_dir))


def kiosk_frame(data_dir: Path, file: str, face_width: float = 200.0, dx: float = 0.0,
                dy: float = 0.0) -> np.ndarray:
    src = next(s for s in SOURCES if s.file == file)
    st = LiveSettings(Framing(face_width, dx, dy, 0.0), 1.0, 0.0, 0.0, 1.0, 1.0)
    scene, box = live_scene(load_rgb(data_dir, src), src, st)
    return capture(scene, box, CAM, np.random.default_rng(0))


def check(pipeline: FacePipeline, frame: np.ndarray) -> QualityReport:
    faces = pipeline.track(frame).faces
    return assess_quality(frame, faces[0] if faces else None, len(faces), CFG)


@pytest.fixture(scope="module")
def hopper(data_dir: Path) -> np.ndarray:
    return kiosk_frame(data_dir, "grace_hopper.jpg")


@pytest.mark.parametrize("file", ["grace_hopper.jpg", "obama.jpg", "biden.jpg", "astronaut.png"])
def test_clean_portrait_has_no_cue(pipeline: FacePipeline, data_dir: Path, file: str) -> None:
    report = check(pipeline, kiosk_frame(data_dir, file))
    assert report.ok, report.to_dict()
    assert report.measures["n_faces"] == 1


def test_darkened_is_too_dark(pipeline: FacePipeline, hopper: np.ndarray) -> None:
    dark = (hopper.astype(np.float32) * 0.3).astype(np.uint8)
    report = check(pipeline, dark)
    assert "TOO_DARK" in report.codes
    cue = next(c for c in report.cues if c.code == "TOO_DARK")
    assert cue.value < cue.limit == CFG.min_face_luma


def test_overexposed_is_too_bright(pipeline: FacePipeline, hopper: np.ndarray) -> None:
    bright = np.clip(hopper.astype(np.float32) * 2.2 + 30, 0, 255).astype(np.uint8)
    assert "TOO_BRIGHT" in check(pipeline, bright).codes


def test_blurred(pipeline: FacePipeline, hopper: np.ndarray) -> None:
    blurred = cv2.GaussianBlur(hopper, (0, 0), 3.5)
    report = check(pipeline, blurred)
    assert report.codes == ("BLURRED",), report.to_dict()
    assert report.measures["sharpness"] < 0.6 * check(pipeline, hopper).measures["sharpness"]


def test_bright_background_behind_face_is_backlit(pipeline: FacePipeline,
                                                  hopper: np.ndarray) -> None:
    faces = pipeline.track(hopper).faces
    box = faces[0].detection.box
    h, w = hopper.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w]
    cx, cy = box.center
    # The head and shoulders stay; everything else becomes a bright window, the face darker.
    person = (((xs - cx) / (box.width * 0.85)) ** 2 + ((ys - cy) / (box.height * 1.1)) ** 2 < 1) | (
        ys > box.y2 + 0.2 * box.height)
    frame = (hopper.astype(np.float32) * 0.7).astype(np.uint8)
    frame[~person] = 245
    report = check(pipeline, frame)
    assert "BACKLIT" in report.codes, report.to_dict()


def test_one_side_dark_is_uneven(pipeline: FacePipeline, hopper: np.ndarray) -> None:
    faces = pipeline.track(hopper).faces
    nose_x = int(faces[0].detection.keypoints[2, 0])
    frame = hopper.astype(np.float32)
    ramp = np.ones(frame.shape[1], np.float32)
    ramp[:nose_x] = 0.3
    frame = (frame * cv2.GaussianBlur(ramp[None, :], (0, 0), 8)[0][None, :, None]).astype(np.uint8)
    report = check(pipeline, frame)
    assert "UNEVEN_LIGHT" in report.codes, report.to_dict()


def test_off_centre(pipeline: FacePipeline, data_dir: Path) -> None:
    frame = kiosk_frame(data_dir, "grace_hopper.jpg", dx=190.0)
    report = check(pipeline, frame)
    assert "OFF_CENTER" in report.codes, report.to_dict()


def test_scale_small_and_large(pipeline: FacePipeline, hopper: np.ndarray, data_dir: Path) -> None:
    small = np.full_like(hopper, 90)
    shrunk = cv2.resize(hopper, (160, 120), interpolation=cv2.INTER_AREA)  # the person steps back
    small[180:300, 240:400] = shrunk
    report = check(pipeline, small)
    assert "FACE_TOO_SMALL" in report.codes, report.to_dict()
    large = kiosk_frame(data_dir, "grace_hopper.jpg", face_width=420.0)
    assert "FACE_TOO_LARGE" in check(pipeline, large).codes


def test_multiple_and_no_faces(pipeline: FacePipeline, hopper: np.ndarray) -> None:
    two = np.hstack([hopper, hopper])
    assert check(pipeline, two).codes[0] == "MULTIPLE_FACES"
    blank = np.full_like(hopper, 128)
    report = check(pipeline, blank)
    assert report.codes == ("NO_FACE",)
    assert not report.ok


def test_turned_away_and_eyes_closed_use_pose_and_blendshapes(pipeline: FacePipeline,
                                                             hopper: np.ndarray) -> None:
    face = pipeline.track(hopper).faces[0]
    assert face.pose is not None and face.blendshapes
    turned = dataclasses.replace(face, pose=HeadPose(yaw=40.0, pitch=0.0, roll=0.0))
    report = assess_quality(hopper, turned, 1, CFG)
    assert report.codes == ("TURNED_AWAY",)
    assert report.cues[0].value == 40.0
    nodding = dataclasses.replace(face, pose=HeadPose(yaw=5.0, pitch=-30.0, roll=0.0))
    assert assess_quality(hopper, nodding, 1, CFG).codes == ("TURNED_AWAY",)
    shut = dataclasses.replace(face, blendshapes={**face.blendshapes, "eyeBlinkLeft": 0.8,
                                                  "eyeBlinkRight": 0.9})
    assert assess_quality(hopper, shut, 1, CFG).codes == ("EYES_CLOSED",)


def test_eyes_closed_from_mesh_without_blendshapes(pipeline: FacePipeline,
                                                   hopper: np.ndarray) -> None:
    face = pipeline.track(hopper).faces[0]
    assert face.landmarks is not None
    open_eyes = dataclasses.replace(face, blendshapes={})
    assert assess_quality(hopper, open_eyes, 1, CFG).ok
    pts = face.landmarks.points.copy()
    for upper, lower in ((160, 144), (158, 153), (385, 380), (387, 373)):
        mid = (pts[upper, :2] + pts[lower, :2]) / 2
        pts[upper, :2] = pts[lower, :2] = mid  # eyelids meet
    closed = dataclasses.replace(open_eyes, landmarks=dataclasses.replace(face.landmarks,
                                                                          points=pts))
    report = assess_quality(hopper, closed, 1, CFG)
    assert report.codes == ("EYES_CLOSED",)


def test_every_cue_has_english_and_indonesian_text() -> None:
    texts = cue_texts()
    codes = {"NO_FACE", "MULTIPLE_FACES", "FACE_TOO_SMALL", "FACE_TOO_LARGE", "OFF_CENTER",
             "TURNED_AWAY", "TOO_DARK", "TOO_BRIGHT", "BACKLIT", "UNEVEN_LIGHT", "BLURRED",
             "EYES_CLOSED"}
    assert set(texts) == codes
    for code in codes:
        assert texts[code]["en"] and texts[code]["id"] and texts[code]["en"] != texts[code]["id"]


def test_config_rejects_unknown_keys_and_bad_input(hopper: np.ndarray) -> None:
    with pytest.raises(ValidationError):
        QualityConfig.model_validate({"min_face_luma": 50, "typo": 1})
    with pytest.raises(ValueError):
        assess_quality(np.zeros((0, 0, 3), np.uint8), None, 0, CFG)
    face: FaceAnalysis | None = None
    assert assess_quality(hopper, face, 0, CFG).codes == ("NO_FACE",)
