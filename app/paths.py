"""Where state lives: one data directory (POH_HOME), a model folder and a download cache."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir, user_data_dir

APP_NAME = "poh-kiosk"


def poh_home() -> Path:
    """The data directory holding the database, keys, index and (by default) the models."""
    env = os.environ.get("POH_HOME")
    return Path(env).expanduser() if env else Path(user_data_dir(APP_NAME))


def models_dir() -> Path:
    env = os.environ.get("POH_MODELS_DIR")
    return Path(env).expanduser() if env else poh_home() / "models"


def cache_dir() -> Path:
    """Downloaded registry packages (model and sample-data carriers); safe to delete."""
    env = os.environ.get("POH_CACHE")
    return Path(env).expanduser() if env else Path(user_cache_dir(APP_NAME))


def data_dir() -> Path:
    """Sample and evaluation face data extracted from registry packages."""
    env = os.environ.get("POH_DATA_DIR")
    return Path(env).expanduser() if env else cache_dir() / "data"
