"""Passive liveness with the shipped calibration: a real portrait against its simulated print and
replay (held-out settings and a held-out identity), and bad inputs."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from app.lab.simulation.dataset import demo_attacks
from app.lab.simulation.scene import SOURCES
from inference.passive import (
    CALIBRATION_PATH,
    PassiveLiveness,
    PassiveLivenessConfig,
    PassiveLivenessResult,
)
from inference.passive.fusion import fit_logistic
from inference.pipeline import FacePipeline, PipelineConfig


@pytest.fixture(scope="module")
def pipeline(models_dir: Path) -> FacePipeline:
    return FacePipeline(PipelineConfig(models_dir=models_dir))


@pytest.fixture(scope="module")
def liveness() -> PassiveLiveness:
    return PassiveLiveness(PassiveLivenessConfig())


def assess(pipeline: FacePipeline, liveness: PassiveLiveness,
           frame: np.ndarray) -> PassiveLivenessResult:
    return liveness.assess(frame, pipeline.analyze(frame).faces)


@pytest.fixture(scope="module")
def biden_set(data_dir: Path) -> dict[str, np.ndarray]:
    src = next(s for s in SOURCES if s.file == "biden.jpg")
    assert src.split == "heldout"
    img = cv2.imread(str(data_dir / "colour" / src.file))
    return dict(demo_attacks(img, src.face, seed=3))


def test_live_portrait_beats_its_print_and_replay(pipeline: FacePipeline,
                                                  liveness: PassiveLiveness,
                                                  biden_set: dict[str, np.ndarray]) -> None:
    live = assess(pipeline, liveness, biden_set["live"])
    printed = assess(pipeline, liveness, biden_set["print"])
    replay = assess(pipeline, liveness, biden_set["replay"])
    assert live.status == "Approved", live.to_dict()
    assert live.score > printed.score and live.score > replay.score
    for attack in (printed, replay):
        assert attack.status == "Declined", attack.to_dict()
        assert attack.warnings == ("LIVENESS_FACE_ATTACK",)
    d = live.to_dict()
    assert d["method"] == "PASSIVE" and 0 <= d["score"] <= 100
    assert {"deep_tree", "moire_peak", "edge_sides", "lbp_score"} <= set(d["signals"])


def test_grey_zone_warns_without_declining(pipeline: FacePipeline,
                                           biden_set: dict[str, np.ndarray]) -> None:
    strict = PassiveLiveness(PassiveLivenessConfig(decline_threshold=0.0, review_threshold=100.0))
    res = assess(pipeline, strict, biden_set["live"])
    assert res.status == "Approved" and res.warnings == ("LOW_LIVENESS_SCORE",)


def test_no_face_and_multiple_faces(pipeline: FacePipeline, liveness: PassiveLiveness,
                                    biden_set: dict[str, np.ndarray]) -> None:
    blank = np.full((480, 640, 3), 120, np.uint8)
    res = assess(pipeline, liveness, blank)
    assert (res.status, res.warnings, res.score) == ("Declined", ("NO_FACE_DETECTED",), 0.0)
    two = np.hstack([biden_set["live"], biden_set["live"]])
    res = assess(pipeline, liveness, two)
    assert res.status == "Declined" and res.warnings == ("MULTIPLE_FACES_DETECTED",)


def test_bad_inputs(pipeline: FacePipeline, liveness: PassiveLiveness,
                    biden_set: dict[str, np.ndarray], tmp_path: Path) -> None:
    frame = biden_set["live"]
    faces = pipeline.analyze(frame).faces
    with pytest.raises(ValueError):
        liveness.assess(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), faces)
    with pytest.raises(ValueError):
        liveness.assess(frame.astype(np.float32), faces)
    no_score = dataclasses.replace(faces[0], spoof_score=None)
    with pytest.raises(ValueError, match="spoof_score"):
        liveness.assess(frame, [no_score])
    with pytest.raises(FileNotFoundError):
        PassiveLiveness(PassiveLivenessConfig(calibration_path=tmp_path / "missing.json"))
    broken = tmp_path / "broken.json"
    doc = json.loads(CALIBRATION_PATH.read_text())
    doc["fusion"]["std"][0] = 0.0
    broken.write_text(json.dumps(doc))
    with pytest.raises(ValueError):
        PassiveLiveness(PassiveLivenessConfig(calibration_path=broken))
    with pytest.raises(ValidationError):
        PassiveLivenessConfig.model_validate({"decline_threshold": 50, "typo": 1})
    with pytest.raises(ValidationError):
        PassiveLivenessConfig(decline_threshold=60.0, review_threshold=40.0)


def test_calibration_file_describes_its_data() -> None:
    doc = json.loads(CALIBRATION_PATH.read_text())
    assert doc["data"]["split"] == "tuning"
    assert "heldout" not in json.dumps(doc["data"]["family_ranges_tuning"])
    assert doc["created"] and doc["ablation_out_of_fold"]


def test_logistic_fit_separates_a_simple_problem() -> None:
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(1.0, 1.0, (200, 2)), rng.normal(-1.0, 1.0, (200, 2))])
    y = np.array([1] * 200 + [0] * 200)
    m = fit_logistic(x, y, ("a", "b"))
    acc = ((m.logits(x) > 0) == (y == 1)).mean()
    assert acc > 0.85 and m.weights[0] > 0 and m.weights[1] > 0
    with pytest.raises(ValueError):
        fit_logistic(x, np.ones(400, np.int64), ("a", "b"))
