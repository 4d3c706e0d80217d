"""Shared fixtures: real models and real sample faces from the cache; state in tmp_path.

Models and data are fetched by `make test` (poh models fetch / poh data fetch) before pytest runs;
a missing file is a failure, never a skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.paths import data_dir as _data_dir
from app.paths import models_dir as _models_dir

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
