"""The folders systemd makes for a unit (StateDirectory=, CacheDirectory=,
ConfigurationDirectory=) are where the program keeps its state, cache and configuration when
the POH_* variables are unset; a POH_* variable still wins; outside systemd nothing changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.kiosk.config import config_path
from app.paths import cache_dir, config_dir, data_dir, models_dir, poh_home

POH_VARS = ("POH_HOME", "POH_CACHE", "POH_CONFIG", "POH_MODELS_DIR", "POH_DATA_DIR")
SYSTEMD_VARS = ("STATE_DIRECTORY", "CACHE_DIRECTORY", "CONFIGURATION_DIRECTORY")


@pytest.fixture()
def bare_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (*POH_VARS, *SYSTEMD_VARS):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_units_folders_are_used(tmp_path: Path, bare_env: pytest.MonkeyPatch) -> None:
    bare_env.setenv("STATE_DIRECTORY", str(tmp_path / "var/lib/poh-kiosk"))
    bare_env.setenv("CACHE_DIRECTORY", str(tmp_path / "var/cache/poh-kiosk"))
    bare_env.setenv("CONFIGURATION_DIRECTORY", str(tmp_path / "etc/poh-kiosk"))
    assert poh_home() == tmp_path / "var/lib/poh-kiosk"
    assert cache_dir() == tmp_path / "var/cache/poh-kiosk"
    assert models_dir() == tmp_path / "var/cache/poh-kiosk/models"
    assert data_dir() == tmp_path / "var/cache/poh-kiosk/data"
    assert config_dir() == tmp_path / "etc/poh-kiosk"
    assert config_path() == tmp_path / "etc/poh-kiosk/config.json"


def test_poh_variables_win_over_the_unit(tmp_path: Path, bare_env: pytest.MonkeyPatch) -> None:
    for name in SYSTEMD_VARS:
        bare_env.setenv(name, str(tmp_path / "systemd" / name))
    bare_env.setenv("POH_HOME", str(tmp_path / "home"))
    bare_env.setenv("POH_CACHE", str(tmp_path / "cache"))
    bare_env.setenv("POH_CONFIG", str(tmp_path / "my.json"))
    assert poh_home() == tmp_path / "home"
    assert cache_dir() == tmp_path / "cache"
    assert config_path() == tmp_path / "my.json"
    # the configuration folder is the unit's even when the data folder is overridden
    assert config_dir() == tmp_path / "systemd" / "CONFIGURATION_DIRECTORY"


def test_several_names_take_the_first(tmp_path: Path, bare_env: pytest.MonkeyPatch) -> None:
    # StateDirectory=poh-kiosk other -> STATE_DIRECTORY=/var/lib/poh-kiosk:/var/lib/other
    bare_env.setenv("STATE_DIRECTORY", f"{tmp_path / 'a'}:{tmp_path / 'b'}")
    assert poh_home() == tmp_path / "a"


def test_without_systemd_as_before(tmp_path: Path, bare_env: pytest.MonkeyPatch) -> None:
    from platformdirs import user_cache_dir, user_data_dir

    assert poh_home() == Path(user_data_dir("poh-kiosk"))
    assert cache_dir() == Path(user_cache_dir("poh-kiosk"))
    assert config_path() == Path(user_data_dir("poh-kiosk")) / "config.json"
    bare_env.setenv("POH_HOME", str(tmp_path / "home"))
    assert config_path() == tmp_path / "home" / "config.json"


@pytest.mark.parametrize("value", ["", "relative/dir", ":/var/lib/x"])
def test_an_unusable_value_is_ignored(value: str, bare_env: pytest.MonkeyPatch) -> None:
    from platformdirs import user_data_dir

    bare_env.setenv("STATE_DIRECTORY", value)
    assert poh_home() == Path(user_data_dir("poh-kiosk"))


def test_the_hub_finds_its_models_in_the_units_cache(tmp_path: Path,
                                                      bare_env: pytest.MonkeyPatch) -> None:
    from sync.hub.api.standalone_engine import default_models_dir

    bare_env.setenv("CACHE_DIRECTORY", str(tmp_path / "var/cache/poh-hub"))
    assert default_models_dir() == tmp_path / "var/cache/poh-hub/models"
    bare_env.setenv("POH_CACHE", str(tmp_path / "cache"))
    assert default_models_dir() == tmp_path / "cache/models"
