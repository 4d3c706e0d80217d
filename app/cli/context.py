"""What a CLI command builds for itself: one command is one process, so each builds only the
parts it needs from the configuration, once, and closes them (no process-wide caches).

Commands that only read open the booth's storage with create=False: on a data folder that was
never initialised they fail (exit 2) and create nothing. Commands that write (an enrollment, a
session) may initialise a data folder that holds nothing of a booth (app.kiosk.storage)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from app.capture.evidence import EvidenceStore
from app.kiosk.config import KioskConfig, load_config
from app.kiosk.storage import Storage, booth_evidence, evidence_dir, open_storage
from app.paths import poh_home
from inference.pipeline import FacePipeline


def kiosk_config() -> KioskConfig:
    return load_config()


def pipeline(config: KioskConfig | None = None) -> FacePipeline:
    """The face pipeline, compiled (fails at once if a model is missing)."""
    return FacePipeline((config or kiosk_config()).inference)


@contextmanager
def kiosk_storage(config: KioskConfig | None = None, *, create: bool = False
                  ) -> Iterator[Storage]:
    """This kiosk's storage under POH_HOME, closed when the command is done.

    create: the command writes and may initialise a data folder that holds nothing of a booth;
    by default nothing is created (NotInitialisedError on a folder never initialised)."""
    cfg = config or kiosk_config()
    storage = open_storage(poh_home(), cfg.storage, evidence=cfg.evidence, sync=cfg.sync,
                           create=create)
    try:
        yield storage
    finally:
        storage.close()


def kiosk_evidence(config: KioskConfig | None = None) -> EvidenceStore:
    """This kiosk's kept recordings, without opening the database (the key alone opens them);
    the booth must have been initialised."""
    cfg = config or kiosk_config()
    return booth_evidence(poh_home(), cfg.storage, cfg.evidence)


__all__ = ["evidence_dir", "kiosk_config", "kiosk_evidence", "kiosk_storage", "pipeline"]
