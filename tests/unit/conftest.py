"""Unit-test fixtures: one face pipeline per session on the real models, and the real portraits."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from inference.pipeline import FacePipeline, PipelineConfig
from inference.types import FrameAnalysis

PORTRAITS = ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "astronaut.png",
             "grace_hopper.jpg")


@pytest.fixture(scope="session")
def face_pipeline(models_dir: Path) -> FacePipeline:
    """Compiled once for the whole session (about 3 s); not thread-safe."""
    return FacePipeline(PipelineConfig(models_dir=models_dir))


def read_image(path: Path, flags: int = cv2.IMREAD_COLOR) -> np.ndarray:
    image = cv2.imread(str(path), flags)
    if image is None:
        raise FileNotFoundError(path)
    return image


@pytest.fixture(scope="session")
def portraits(data_dir: Path) -> dict[str, np.ndarray]:
    """The six colour portraits (BGR), by file name."""
    return {name: read_image(data_dir / "colour" / name) for name in PORTRAITS}


@pytest.fixture(scope="session")
def portrait_analyses(face_pipeline: FacePipeline, portraits: dict[str, np.ndarray]
                      ) -> dict[str, FrameAnalysis]:
    """The full pipeline run once on each portrait."""
    return {name: face_pipeline.analyze(img) for name, img in portraits.items()}
