"""One models folder whichever way the CLI starts: it follows the cache, never POH_HOME (a lab
home or a second booth home must not make a second copy)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.paths import data_dir, models_dir


def test_models_and_data_follow_the_cache_not_the_home(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POH_MODELS_DIR", raising=False)
    monkeypatch.delenv("POH_DATA_DIR", raising=False)
    monkeypatch.setenv("POH_CACHE", str(tmp_path / "cache"))
    for home in ("a", "b"):
        monkeypatch.setenv("POH_HOME", str(tmp_path / home))
        assert models_dir() == tmp_path / "cache" / "models"
        assert data_dir() == tmp_path / "cache" / "data"


def test_explicit_folders_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POH_MODELS_DIR", str(tmp_path / "m"))
    assert models_dir() == tmp_path / "m"
