"""The OpenVINO runner: f32 everywhere, shapes checked at construction, async equals sync."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.model_store import model_path
from inference.models.antispoof import AntiSpoofer
from inference.runtime import CompiledModel, ModelShapeError
from inference.types import Box


def test_wrong_model_for_a_wrapper_is_refused(models_dir: Path) -> None:
    model = CompiledModel(model_path(models_dir, "face_detector"))
    assert model.precision == "f32"
    model.expect_input((1, 128, 128, 3))
    with pytest.raises(ModelShapeError, match="expected one input"):
        model.expect_input((1, 256, 256, 3))
    with pytest.raises(ModelShapeError, match="expected 10 values"):
        model.expect_output("regressors", 10)


def test_dynamic_batch_is_fixed_to_one(models_dir: Path) -> None:
    model = CompiledModel(model_path(models_dir, "age"))
    assert model.inputs == [(1, 3, 64, 64)]
    assert model.outputs == {"probabilities": (1, 81)}


def test_async_scoring_equals_sync_and_mask_is_one_hot(models_dir: Path,
                                                       portraits: dict[str, np.ndarray]) -> None:
    spoofer = AntiSpoofer(models_dir)
    image = portraits["obama.jpg"]
    box = Box(346.0, 142.0, 621.0, 417.0)
    sync = spoofer.infer(image, box)
    spoofer.start(image, box)
    later = spoofer.result()
    assert later.score == pytest.approx(sync.score, abs=1e-6)
    assert sorted(sync.leaf_mask.tolist()) == [0.0] * 7 + [1.0]
    assert sync.score == pytest.approx(float(np.abs(sync.leaf_scores) @ sync.leaf_mask))
