"""MobileFaceNet embeddings: unit length, f32, and same person clearly closer than different."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from inference.align import ARCFACE_TEMPLATE, arcface_crop
from inference.pipeline import FacePipeline, prepare_tight_face
from inference.types import FloatArray, FrameAnalysis


def _emb(analyses: dict[str, FrameAnalysis], name: str) -> FloatArray:
    e = analyses[name].faces[0].embedding
    assert e is not None
    return e


@pytest.mark.parametrize("name", ["obama.jpg", "biden.jpg", "grace_hopper.jpg"])
def test_unit_norm_f32_and_not_degenerate(portrait_analyses: dict[str, FrameAnalysis],
                                          name: str) -> None:
    e = _emb(portrait_analyses, name)
    assert e.shape == (192,) and e.dtype == np.float32
    assert float(np.linalg.norm(e)) == pytest.approx(1.0, abs=1e-5)
    # The bf16 trap produced an all-zero (then NaN) vector; a real one is spread out.
    assert np.isfinite(e).all()
    assert np.count_nonzero(np.abs(e) > 1e-4) > 150


def test_every_model_is_compiled_in_f32(face_pipeline: FacePipeline) -> None:
    precisions = face_pipeline.precisions()
    assert len(precisions) == 7
    assert set(precisions.values()) == {"f32"}


def test_same_person_above_different_person(portrait_analyses: dict[str, FrameAnalysis]
                                            ) -> None:
    obama = [_emb(portrait_analyses, n) for n in ("obama.jpg", "obama2.jpg", "obama3.jpg")]
    biden = _emb(portrait_analyses, "biden.jpg")
    same = [float(obama[i] @ obama[j]) for i, j in ((0, 1), (0, 2), (1, 2))]
    different = [float(o @ biden) for o in obama]
    assert min(same) > 0.6, same
    assert max(different) < 0.4, different
    assert min(same) - max(different) > 0.3


def test_orl_same_person_above_different_person(face_pipeline: FacePipeline,
                                                data_dir: Path) -> None:
    def emb(person: str, shot: int) -> FloatArray:
        grey = cv2.imread(str(data_dir / "orl" / person / f"{shot}.pgm"), cv2.IMREAD_GRAYSCALE)
        faces = face_pipeline.analyze(prepare_tight_face(grey), antispoof=False, age=False).faces
        assert len(faces) == 1
        assert faces[0].embedding is not None
        return faces[0].embedding

    a1, a2, b1 = emb("s1", 1), emb("s1", 2), emb("s2", 1)
    assert float(a1 @ a2) > float(a1 @ b1) + 0.2


def test_arcface_crop_puts_the_five_points_on_the_template() -> None:
    frame = np.zeros((400, 400, 3), np.uint8)
    # The template, scaled x2, turned by 20 degrees and moved: the crop must undo all of it.
    theta = np.radians(20.0)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    pts = (ARCFACE_TEMPLATE @ rot.T * 2.0 + np.array([100.0, 80.0])).astype(np.float32)
    for x, y in pts:
        cv2.circle(frame, (round(float(x)), round(float(y))), 3, (255, 255, 255), -1)
    crop = arcface_crop(frame, pts)
    assert crop.shape == (112, 112, 3)
    for x, y in ARCFACE_TEMPLATE:
        assert crop[round(float(y)), round(float(x))].max() > 100
