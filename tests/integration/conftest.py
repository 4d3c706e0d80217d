"""Integration fixtures: a kiosk built by the composition root on a scratch data folder; one
PostgreSQL server for the hub tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.postgres import Postgres

from app.kiosk.config import KioskConfig
from app.kiosk.root import Kiosk, open_kiosk
from inference.pipeline import FacePipeline


@pytest.fixture()
def kiosk(tmp_path: Path, models_dir: Path, face_pipeline: FacePipeline) -> Iterator[Kiosk]:
    """A booth-key kiosk in tmp_path (models compiled once per test session)."""
    cfg = KioskConfig.model_validate({"inference": {"models_dir": str(models_dir)}})
    k = open_kiosk(cfg, tmp_path / "home", db_key=bytes(range(32)), pipeline=face_pipeline)
    yield k
    k.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One real PostgreSQL 15 server for the whole run (each test takes a fresh database from
    it with new_database()), started only when a test asks for it."""
    with Postgres() as pg:
        yield pg
