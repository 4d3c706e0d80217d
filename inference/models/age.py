"""Age estimation (81 bins: ages 0.25, 1, 2, ... 80) on a 64x64 dlib-style 5-point face chip."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from inference.model_store import model_path
from inference.runtime import CompiledModel
from inference.types import AgeEstimate

INPUT_SIZE = 64
N_BINS = 81
AGES = np.array([0.25, *range(1, N_BINS)], np.float64)
_MEAN_RGB = np.array([122.782, 117.001, 104.298], np.float32)
_OUT = "probabilities"


class AgeEstimator:
    """Expected age and the spread (standard deviation) of the predicted age distribution."""

    def __init__(self, models_dir: Path, *, threads: int = 0) -> None:
        self._model = CompiledModel(model_path(models_dir, "age"), threads=threads)
        self._model.expect_input((1, 3, INPUT_SIZE, INPUT_SIZE))
        self._model.expect_output(_OUT, N_BINS)

    @property
    def precision(self) -> str:
        return self._model.precision

    def infer(self, chip_bgr: np.ndarray) -> AgeEstimate:
        if chip_bgr.shape[:2] != (INPUT_SIZE, INPUT_SIZE):
            raise ValueError(
                f"age model needs a {INPUT_SIZE}x{INPUT_SIZE} chip, got {chip_bgr.shape}")
        rgb = cv2.cvtColor(chip_bgr, cv2.COLOR_BGR2RGB).astype(np.float32)
        x = ((rgb - _MEAN_RGB) / 256.0).transpose(2, 0, 1)
        p = self._model(x[None])[_OUT].reshape(-1).astype(np.float64)
        total = p.sum()
        if not np.isfinite(total) or total <= 0:
            raise ValueError("age model returned no probability mass")
        p = p / total
        mean = float((p * AGES).sum())
        spread = float(np.sqrt((p * (AGES - mean) ** 2).sum()))
        return AgeEstimate(mean, spread)
