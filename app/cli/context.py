"""What a CLI command builds for itself: one command is one process, so each builds only the
parts it needs from the configuration, once, and closes them (no process-wide caches)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from app.capture.evidence import EvidenceStore
from app.kiosk.config import KioskConfig, load_config
from app.kiosk.storage import Storage, db_key, evidence_dir, open_evidence, open_storage
from app.paths import poh_home
from inference.pipeline import FacePipeline


def kiosk_config() -> KioskConfig:
    return load_config()


def pipeline(config: KioskConfig | None = None) -> FacePipeline:
    """The face pipeline, compiled (fails at once if a model is missing)."""
    return FacePipeline((config or kiosk_config()).inference)


@contextmanager
def kiosk_storage(config: KioskConfig | None = None) -> Iterator[Storage]:
    """This kiosk's storage under POH_HOME, closed when the command is done."""
    cfg = config or kiosk_config()
    storage = open_storage(poh_home(), cfg.storage, evidence=cfg.evidence, sync=cfg.sync)
    try:
        yield storage
    finally:
        storage.close()


def kiosk_evidence(config: KioskConfig | None = None) -> EvidenceStore:
    """This kiosk's kept recordings, without opening the database (the key alone opens them)."""
    cfg = config or kiosk_config()
    home = poh_home()
    return open_evidence(home, db_key(home, cfg.storage), cfg.evidence)


__all__ = ["evidence_dir", "kiosk_config", "kiosk_evidence", "kiosk_storage", "pipeline"]
