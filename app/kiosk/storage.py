"""The kiosk's storage under one data folder: the encrypted database, its key, the face store
attached to the same connection, the verdict store and the kept challenge recordings.

One encrypted database (storage's, migrated by storage) holds the templates, the sessions, the
verdict log, the outbox and the device's signing key; the face store (HNSW + delta) is attached
to the same connection so that an enrollment and a verdict never see two databases. Nothing
here is cached per process: whoever opens a Storage closes it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from app.capture.evidence import EvidenceConfig, EvidenceStore
from storage.config import StorageConfig
from storage.database import Database
from storage.face_store import FaceStore
from storage.keys import load_db_key
from sync.config import SyncConfig
from sync.device_key import DeviceKey
from sync.device_key_store import load_device_key
from sync.verdict_store import VerdictStore

log = logging.getLogger(__name__)


def evidence_dir(home: Path) -> Path:
    return home / "evidence"


def db_key(home: Path, config: StorageConfig) -> bytes:
    """The database key of the data folder `home` (created with the database, the first time)."""
    paths = config.paths(home)
    return load_db_key(paths.key_file, paths.db.exists())


def open_database(home: Path, config: StorageConfig, key: bytes | None = None) -> Database:
    """Storage's encrypted database under `home`, migrated, without the face store."""
    paths = config.paths(home)
    return Database(paths.db, key or db_key(home, config))


def open_evidence(home: Path, key: bytes, config: EvidenceConfig) -> EvidenceStore:
    """Sealed challenge recordings kept next to the database, under the same key."""
    return EvidenceStore(evidence_dir(home), key, config)


@dataclass(frozen=True)
class Storage:
    """The open database, its key and the face store attached to it, under one data folder."""

    db: Database
    key: bytes
    faces: FaceStore
    home: Path
    evidence_config: EvidenceConfig
    sync_config: SyncConfig

    def evidence(self) -> EvidenceStore:
        return open_evidence(self.home, self.key, self.evidence_config)

    def verdicts(self) -> VerdictStore:
        return VerdictStore(self.db, fleet=self.sync_config.fleet_id)

    def device_key(self) -> DeviceKey:
        """This data folder's Ed25519 verdict key (made on first use, sealed in the database)."""
        return load_device_key(self.db, self.key)

    def close(self) -> None:
        self.faces.close()
        self.db.close()


def open_storage(home: Path, config: StorageConfig, *, key: bytes | None = None,
                 evidence: EvidenceConfig | None = None, sync: SyncConfig | None = None,
                 background_rebuild: bool = False) -> Storage:
    """Everything a session needs from storage, under `home` (the kiosk's or a scratch one)."""
    paths = config.paths(home)
    key = key or load_db_key(paths.key_file, paths.db.exists())
    db = Database(paths.db, key)
    try:
        faces = FaceStore.attach(db, key, config, home, background_rebuild=background_rebuild)
    except BaseException:
        db.close()
        raise
    return Storage(db, key, faces, home, evidence or EvidenceConfig(), sync or SyncConfig())
