"""Where state lives: one data directory (POH_HOME), a download cache (POH_CACHE) holding the
verified models and the sample data unless POH_MODELS_DIR / POH_DATA_DIR say otherwise."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir, user_data_dir

APP_NAME = "poh-kiosk"


def poh_home() -> Path:
    """The data directory holding the database, keys and index."""
    env = os.environ.get("POH_HOME")
    return Path(env).expanduser() if env else Path(user_data_dir(APP_NAME))


def models_dir() -> Path:
    """Verified model files (fetched from pinned registry packages, checked by sha256).

    Beside the download cache, not in POH_HOME: every way of starting the CLI (make, the venv's
    poh, the lab with its own home) finds the one copy, and a lab home never makes a second."""
    env = os.environ.get("POH_MODELS_DIR")
    return Path(env).expanduser() if env else cache_dir() / "models"


def cache_dir() -> Path:
    """Downloaded registry packages (model and sample-data carriers); safe to delete."""
    env = os.environ.get("POH_CACHE")
    return Path(env).expanduser() if env else Path(user_cache_dir(APP_NAME))


def data_dir() -> Path:
    """Sample and evaluation face data extracted from registry packages."""
    env = os.environ.get("POH_DATA_DIR")
    return Path(env).expanduser() if env else cache_dir() / "data"
