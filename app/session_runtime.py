"""Composition of the session runner: database, device key, liveness, face store, pipeline.

One encrypted database (storage's, migrated by storage) holds the templates, the sessions, the
verdict log, the outbox and the device's signing key; the face store (HNSW + delta) is attached
to the same connection so that an enrollment and a verdict never see two databases.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

from app.capture.evidence import EvidenceStore
from app.config import KioskConfig
from app.face_registry import StoreFaceSearch
from app.paths import poh_home
from app.runner import RunnerParts
from app.workflows import Workflow
from storage.config import StorageConfig, StoragePaths
from storage.database import Database
from storage.face_store import FaceStore
from storage.keys import load_db_key
from sync.device_key import DeviceKey
from sync.device_key_store import load_device_key
from sync.verdict_store import VerdictStore

log = logging.getLogger(__name__)


def _kiosk_config() -> KioskConfig:
    from app.runtime import config
    return config()


def _paths() -> StoragePaths:
    return _kiosk_config().storage.paths(poh_home())


def db_path() -> Path:
    return _paths().db


def db_key() -> bytes:
    paths = _paths()
    return load_db_key(paths.key_file, paths.db.exists())


def open_database(path: Path | None = None, key: bytes | None = None) -> Database:
    """Storage's encrypted database, migrated (this kiosk's own unless a path is given)."""
    if path is None:
        return Database(db_path(), key or db_key())
    if key is None:
        raise ValueError("a database at another path needs its key")
    return Database(path, key)


@dataclass(frozen=True)
class Storage:
    """The open database, its key and the face store attached to it, under one data folder."""

    db: Database
    key: bytes
    faces: FaceStore
    home: Path

    def evidence(self) -> EvidenceStore:
        """Sealed challenge recordings kept next to this database, under the same key."""
        return EvidenceStore(evidence_dir(self.home), self.key, _kiosk_config().evidence)

    def close(self) -> None:
        self.faces.close()
        self.db.close()


def open_storage(home: Path, key: bytes | None = None,
                 config: StorageConfig | None = None) -> Storage:
    """Everything a session needs from storage, under `home` (the kiosk's or a scratch one)."""
    cfg = config or _kiosk_config().storage
    paths = cfg.paths(home)
    key = key or load_db_key(paths.key_file, paths.db.exists())
    db = Database(paths.db, key)
    try:
        faces = FaceStore.attach(db, key, cfg, home, background_rebuild=False)
    except BaseException:
        db.close()
        raise
    return Storage(db, key, faces, home)


@functools.cache
def _storage(home: Path) -> Storage:
    return open_storage(home)


def kiosk_storage() -> Storage:
    """One open storage per process and data directory."""
    return _storage(poh_home())


def verdict_store() -> VerdictStore:
    return VerdictStore(kiosk_storage().db)


def device_key() -> DeviceKey:
    s = kiosk_storage()
    return load_device_key(s.db, s.key)


def runner_parts(storage: Storage, workflow: Workflow, key: DeviceKey) -> RunnerParts:
    from app.liveness_active import ActiveSessionLiveness
    from app.liveness_passive import PassiveSessionLiveness
    from app.runtime import build_passive_liveness, build_pipeline, build_quality_config
    from app.session_services import LivenessAnalyzer
    from inference.active.analyzer import ActiveLiveness
    from sync.vocabulary import LivenessMethod

    pipeline = build_pipeline()
    liveness: LivenessAnalyzer
    if workflow.method is LivenessMethod.PASSIVE:
        liveness = PassiveSessionLiveness(
            build_passive_liveness(workflow.face_liveness_score_decline_threshold))
    else:
        liveness = ActiveSessionLiveness(workflow.method, ActiveLiveness(pipeline), pipeline)
    return RunnerParts(
        pipeline=pipeline,
        quality=build_quality_config(),
        liveness=liveness,
        search=StoreFaceSearch(storage.faces),
        sessions=VerdictStore(storage.db),
        key=key,
        evidence=storage.evidence(),
    )


def evidence_dir(home: Path) -> Path:
    return home / "evidence"


def kiosk_evidence() -> EvidenceStore:
    """This kiosk's kept recordings, without opening the database (the key alone opens them)."""
    return EvidenceStore(evidence_dir(poh_home()), db_key(), _kiosk_config().evidence)


def build_runner_parts(workflow: Workflow) -> RunnerParts:
    s = kiosk_storage()
    return runner_parts(s, workflow, load_device_key(s.db, s.key))
