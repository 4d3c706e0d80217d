"""MobileFaceNet face embedding: 192-d, L2-normalised, from the 112x112 ArcFace-aligned crop.

The shipped file has a batch of 2 baked into a Reshape; `poh models fetch` saves a batch-1 f32 IR
(inference.model_store.EMBEDDER_IR) that gives identical output and is about 40% faster.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from inference.align import ARCFACE_SIZE
from inference.model_store import EMBEDDER_IR, ModelMissingError, model_path
from inference.runtime import CompiledModel
from inference.types import FloatArray

EMBEDDING_DIM = 192
_OUT = "embeddings"


class EmbeddingError(RuntimeError):
    """The embedder produced a degenerate vector (zeros or NaN); never store such a template."""


def embedder_ir_path(models_dir: Path) -> Path:
    """The batch-1 IR, after checking the verified source model it was made from."""
    model_path(models_dir, "face_embedder")
    ir = models_dir / EMBEDDER_IR
    if not ir.is_file() or not ir.with_suffix(".bin").is_file():
        raise ModelMissingError(f"embedder IR {ir} is missing; run `poh models fetch`")
    return ir


class FaceEmbedder:
    """One aligned face crop in, one unit-length 192-d float32 vector out."""

    def __init__(self, models_dir: Path, *, threads: int = 0) -> None:
        self._model = CompiledModel(embedder_ir_path(models_dir), threads=threads)
        self._model.expect_input((1, ARCFACE_SIZE, ARCFACE_SIZE, 3))
        self._model.expect_output(_OUT, EMBEDDING_DIM)

    @property
    def precision(self) -> str:
        return self._model.precision

    def infer(self, aligned_bgr: np.ndarray) -> FloatArray:
        if aligned_bgr.shape[:2] != (ARCFACE_SIZE, ARCFACE_SIZE):
            raise ValueError(f"embedder needs a {ARCFACE_SIZE}x{ARCFACE_SIZE} crop, "
                             f"got {aligned_bgr.shape}")
        x = (cv2.cvtColor(aligned_bgr, cv2.COLOR_BGR2RGB).astype(np.float32) - 127.5) / 128.0
        v = self._model(x[None])[_OUT].reshape(-1).astype(np.float32)
        norm = float(np.linalg.norm(v))
        if not np.isfinite(norm) or norm < 1e-6:
            raise EmbeddingError(
                f"degenerate embedding (norm {norm}); check the f32 precision hint")
        out: FloatArray = v / norm
        return out
