"""Shared fixtures: real models and real sample faces from the cache; state in tmp_path.

Models and data are fetched by `make test` (poh models fetch / poh-lab data fetch) before pytest
runs; a missing file is a failure, never a skip. Each test is marked with its tier, the folder
it lives in (unit: pure, no models; model; integration; ui; lab; browser: the hub's
console in Chromium), so `-m` selects tiers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.paths import data_dir as _data_dir
from app.paths import models_dir as _models_dir
from inference.pipeline import FacePipeline, PipelineConfig
from inference.types import FrameAnalysis

_MODELS = _models_dir()
_DATA = _data_dir()


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Keep the real data directory, keys and camera out of every test."""
    home = tmp_path_factory.mktemp("poh_home")
    monkeypatch.setenv("POH_HOME", str(home))
    monkeypatch.setenv("POH_MODELS_DIR", str(_MODELS))
    monkeypatch.setenv("POH_DATA_DIR", str(_DATA))
    monkeypatch.delenv("POH_DB_KEY", raising=False)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    yield home


@pytest.fixture(scope="session")
def models_dir() -> Path:
    if not (_MODELS / "face_detection_short_range.tflite").is_file():
        pytest.fail(f"models missing in {_MODELS}: run `poh models fetch` (make test does)")
    return _MODELS


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (_DATA / "orl" / "s1").is_dir():
        pytest.fail(f"sample faces missing in {_DATA}: run `poh data fetch` (make test does)")
    return _DATA


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


TIERS = ("unit", "model", "integration", "ui", "lab", "browser")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        tier = Path(str(item.path)).relative_to(here).parts[0]
        if tier in TIERS and tier != "unit":
            item.add_marker(getattr(pytest.mark, tier))


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

