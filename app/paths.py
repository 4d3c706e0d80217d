"""Where state lives: one data directory (POH_HOME), a download cache (POH_CACHE) holding the
verified models and the sample data unless POH_MODELS_DIR / POH_DATA_DIR say otherwise, and the
configuration file (app.kiosk.config: POH_CONFIG, else config_dir()/config.json).

Under systemd (packaging/systemd/) the unit's StateDirectory=, CacheDirectory= and
ConfigurationDirectory= are honoured through the variables systemd sets (STATE_DIRECTORY,
CACHE_DIRECTORY, CONFIGURATION_DIRECTORY). A POH_* variable still wins, so an operator's
drop-in `Environment=POH_HOME=...` overrides the unit; outside systemd nothing changes."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from platformdirs import user_cache_dir, user_data_dir

APP_NAME = "poh-kiosk"


def _systemd_dir(variable: str) -> Path | None:
    """The folder systemd made for the unit. With several names in the directive systemd joins
    their paths with ':'; the first one is this program's (the units name one each)."""
    value = os.environ.get(variable, "")
    first = value.split(":", 1)[0]
    return Path(first) if first and os.path.isabs(first) else None


def poh_home() -> Path:
    """The data directory holding the database, keys and index."""
    env = os.environ.get("POH_HOME")
    if env:
        return Path(env).expanduser()
    return _systemd_dir("STATE_DIRECTORY") or Path(user_data_dir(APP_NAME))


def config_dir() -> Path:
    """Where the configuration file is looked for when POH_CONFIG is unset: the unit's
    ConfigurationDirectory (/etc/poh-kiosk; ~/.config/poh-kiosk for a user unit), else the
    data directory, as before systemd."""
    return _systemd_dir("CONFIGURATION_DIRECTORY") or poh_home()


def models_dir() -> Path:
    """Verified model files (fetched from pinned registry packages, checked by sha256).

    Beside the download cache, not in POH_HOME: every way of starting the CLI (make, the venv's
    poh, the lab with its own home) finds the one copy, and a lab home never makes a second."""
    env = os.environ.get("POH_MODELS_DIR")
    if env:
        return Path(env).expanduser()
    bundled = bundled_models_dir()
    return bundled if bundled is not None else cache_dir() / "models"


def bundled_models_dir() -> Path | None:
    """The models folder inside a frozen booth bundle (PyInstaller), None when run from source.

    A booth bundle carries its verified models and never fetches: `poh models import PACK`
    replaces them from an offline model pack."""
    base = getattr(sys, "_MEIPASS", None)
    return Path(base) / "models" if getattr(sys, "frozen", False) and base else None


def cache_dir() -> Path:
    """Downloaded registry packages (model and sample-data carriers); safe to delete."""
    env = os.environ.get("POH_CACHE")
    if env:
        return Path(env).expanduser()
    return _systemd_dir("CACHE_DIRECTORY") or Path(user_cache_dir(APP_NAME))


def data_dir() -> Path:
    """Sample and evaluation face data extracted from registry packages."""
    env = os.environ.get("POH_DATA_DIR")
    return Path(env).expanduser() if env else cache_dir() / "data"
