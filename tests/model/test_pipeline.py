"""The whole pipeline on real frames: every field, grey and tiny inputs, fail-closed start-up."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pydantic
import pytest

from inference.model_store import EMBEDDER_IR, ModelMissingError
from inference.pipeline import STAGES, FacePipeline, PipelineConfig, prepare_tight_face
from inference.types import FrameAnalysis

NAMES = ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "astronaut.png", "grace_hopper.jpg")


@pytest.mark.parametrize("name", NAMES)
def test_every_field_on_each_portrait(portrait_analyses: dict[str, FrameAnalysis],
                                      name: str) -> None:
    result = portrait_analyses[name]
    assert len(result.faces) == 1
    face = result.faces[0]
    assert face.landmarks is not None and face.pose is not None
    assert face.five_points is not None and face.five_points.shape == (5, 2)
    assert len(face.blendshapes) == 52
    assert face.embedding is not None and face.spoof_score is not None
    assert face.age is not None and face.age_spread is not None
    assert 0.0 <= face.spoof_score <= 1.5
    assert 1.0 < face.age < 80.0 and face.age_spread >= 0.0
    for stage in (*STAGES, "total"):
        assert result.timings_ms[stage] > 0.0, stage
    assert result.timings_ms["total"] >= result.timings_ms["detect"]


def test_age_orders_the_older_face_first(portrait_analyses: dict[str, FrameAnalysis]) -> None:
    biden = portrait_analyses["biden.jpg"].faces[0].age
    obama = portrait_analyses["obama.jpg"].faces[0].age
    assert biden is not None and obama is not None
    assert biden > 60 and 35 < obama < 70 and biden > obama


def test_live_colour_photos_score_live(portrait_analyses: dict[str, FrameAnalysis]) -> None:
    for name in ("obama.jpg", "obama2.jpg", "biden.jpg"):
        score = portrait_analyses[name].faces[0].spoof_score
        assert score is not None and score < 0.2, (name, score)


def test_grey_frame_gives_the_same_person(face_pipeline: FacePipeline,
                                          portraits: dict[str, np.ndarray],
                                          portrait_analyses: dict[str, FrameAnalysis]) -> None:
    grey = cv2.cvtColor(portraits["obama.jpg"], cv2.COLOR_BGR2GRAY)
    result = face_pipeline.analyze(grey, antispoof=False, age=False)
    assert len(result.faces) == 1
    colour = portrait_analyses["obama.jpg"].faces[0].embedding
    grey_emb = result.faces[0].embedding
    assert colour is not None and grey_emb is not None
    assert float(colour @ grey_emb) > 0.8


def test_tight_orl_face_is_found_after_preparation(face_pipeline: FacePipeline,
                                                   data_dir: Path) -> None:
    grey = cv2.imread(str(data_dir / "orl" / "s5" / "3.pgm"), cv2.IMREAD_GRAYSCALE)
    assert grey.shape == (112, 92)
    frame = prepare_tight_face(grey)
    assert frame.shape == (112 * 3 * 2, 92 * 3 * 2, 3)
    result = face_pipeline.analyze(frame)
    assert len(result.faces) == 1
    face = result.faces[0]
    assert face.embedding is not None and face.landmarks is not None
    cx, cy = face.detection.box.center
    assert abs(cx - frame.shape[1] / 2) < frame.shape[1] * 0.15
    assert abs(cy - frame.shape[0] / 2) < frame.shape[0] * 0.2


def test_track_skips_the_heavy_stages(face_pipeline: FacePipeline,
                                      portraits: dict[str, np.ndarray]) -> None:
    result = face_pipeline.track(portraits["obama2.jpg"])
    face = result.faces[0]
    assert face.landmarks is not None and face.pose is not None and face.blendshapes
    assert face.embedding is None and face.spoof_score is None and face.age is None
    assert set(result.timings_ms) >= {"detect", "landmarks"}
    assert not set(result.timings_ms) & {"embed", "antispoof", "age"}


def test_bad_frames_are_refused(face_pipeline: FacePipeline) -> None:
    with pytest.raises(ValueError, match="uint8"):
        face_pipeline.analyze(np.zeros((100, 100, 3), np.float32))
    with pytest.raises(ValueError, match="shape"):
        face_pipeline.analyze(np.zeros((10, 10, 2), np.uint8))


def test_missing_model_fails_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError, match="poh models fetch"):
        FacePipeline(PipelineConfig(models_dir=tmp_path))


def test_corrupt_model_fails_at_start_up(models_dir: Path, tmp_path: Path) -> None:
    for f in models_dir.iterdir():
        if f.is_file():
            shutil.copy(f, tmp_path / f.name)
    with (tmp_path / "age-v1.onnx").open("r+b") as fh:
        fh.seek(1000)
        fh.write(b"\x00" * 16)
    with pytest.raises(ModelMissingError, match="checksum"):
        FacePipeline(PipelineConfig(models_dir=tmp_path))
    shutil.copy(models_dir / "age-v1.onnx", tmp_path / "age-v1.onnx")
    (tmp_path / EMBEDDER_IR).unlink()
    with pytest.raises(ModelMissingError, match="embedder"):
        FacePipeline(PipelineConfig(models_dir=tmp_path))


def test_config_refuses_unknown_options(models_dir: Path) -> None:
    with pytest.raises(pydantic.ValidationError):
        PipelineConfig(models_dir=models_dir, detectr="short")  # type: ignore[call-arg]
    with pytest.raises(pydantic.ValidationError):
        PipelineConfig(models_dir=models_dir, detector="tiny")  # type: ignore[arg-type]


def test_summary_carries_no_biometric_vectors(portrait_analyses: dict[str, FrameAnalysis]
                                              ) -> None:
    summary = portrait_analyses["biden.jpg"].to_dict()
    face = summary["faces"][0]  # type: ignore[index]
    assert face["has_embedding"] is True
    assert "embedding" not in face and "landmarks" not in face
    assert set(face["pose"]) == {"yaw", "pitch", "roll"}
    assert len(face["blendshapes"]) == 52


def test_small_grey_images_are_handled(face_pipeline: FacePipeline, data_dir: Path) -> None:
    grey = cv2.imread(str(data_dir / "orl" / "s1" / "1.pgm"), cv2.IMREAD_GRAYSCALE)
    raw = face_pipeline.analyze(grey, antispoof=False)  # 92x112, the face fills the frame
    assert raw.image_shape == (112, 92)
    assert len(raw.faces) <= 1
    tiny = face_pipeline.analyze(np.full((8, 8), 100, np.uint8))
    assert tiny.faces == ()


def test_overlapped_anti_spoofing_gives_the_same_answer(
        models_dir: Path, portraits: dict[str, np.ndarray],
        portrait_analyses: dict[str, FrameAnalysis]) -> None:
    overlapped = FacePipeline(PipelineConfig(models_dir=models_dir, overlap_antispoof=True,
                                             detector="short"))
    for name in ("obama.jpg", "grace_hopper.jpg"):
        face = overlapped.analyze(portraits[name]).faces[0]
        expected = portrait_analyses[name].faces[0]
        assert face.spoof_score == pytest.approx(expected.spoof_score, abs=1e-5)
        assert face.embedding is not None and expected.embedding is not None
        assert float(face.embedding @ expected.embedding) > 0.9999
