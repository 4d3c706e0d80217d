"""Composition of the session runner: database, device key, liveness, search, pipeline.

The database, its key and its migrations are storage's. The face search here is INTERIM: an
exact search over storage's `templates` table through storage's template protection, until the
storage package's enrollment/search service (HNSW + delta) is available; only
`build_runner_parts` changes then.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import numpy as np

from app.paths import poh_home
from app.runner import RunnerParts
from app.session.inputs import SearchInput, SearchMatch
from app.session_services import Template
from app.workflows import Workflow
from storage.config import StorageConfig, StoragePaths
from storage.database import Database
from storage.keys import load_db_key
from storage.protection import load_protector, new_protector, save_protector
from sync.device_key import DeviceKey
from sync.device_key_store import load_device_key
from sync.verdict_store import VerdictStore

log = logging.getLogger(__name__)


def _paths() -> StoragePaths:
    return StorageConfig.model_validate({}).paths(poh_home())


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


class InterimFaceIndex:
    """Exact cosine search over storage's protected templates (storage's service replaces it)."""

    def __init__(self, db: Database, key: bytes) -> None:
        self._db = db
        self._key = key

    def search(self, template: Template, k: int) -> SearchInput:
        with self._db.read("face search") as conn:
            prot = load_protector(conn, self._key)
            if prot is None:
                return SearchInput(matches=(), gallery_size=0)
            rows = conn.execute(
                "SELECT vendor_data, kind, template FROM templates WHERE key_generation = ?",
                (prot.generation,)).fetchall()
        if not rows:
            return SearchInput(matches=(), gallery_size=0)
        query = prot.protect(template)
        gallery = np.stack([np.frombuffer(r[2], dtype="<f4") for r in rows])
        sims = gallery @ query
        order = np.argsort(-sims)[:k]
        return SearchInput(
            matches=tuple(SearchMatch(vendor_data=rows[i][0], similarity=float(sims[i]),
                                      blocklisted=rows[i][1] == "blocklist") for i in order),
            gallery_size=len(rows))

    def enroll(self, vendor_data: str, session_id: str, template: Template) -> None:
        with self._db.transaction("enrolling a template") as conn:
            prot = load_protector(conn, self._key)
            if prot is None:
                prot = new_protector(1)
                save_protector(conn, self._key, prot)
            conn.execute(
                "INSERT INTO templates (vendor_data, kind, template, key_generation) "
                "VALUES (?, 'enrolled', ?, ?)",
                (vendor_data, prot.protect(template).astype("<f4").tobytes(), prot.generation))


def _database() -> tuple[Database, bytes]:
    """One open database per process and data directory."""
    return _open_cached(db_path())


@functools.cache
def _open_cached(path: Path) -> tuple[Database, bytes]:
    key = db_key()
    return Database(path, key), key


def verdict_store() -> VerdictStore:
    return VerdictStore(_database()[0])


def device_key() -> DeviceKey:
    db, key = _database()
    return load_device_key(db, key)


def build_runner_parts(workflow: Workflow) -> RunnerParts:
    from app.liveness_passive import PassiveSessionLiveness
    from app.runtime import build_passive_liveness, build_pipeline, build_quality_config

    db, key = _database()
    return RunnerParts(
        pipeline=build_pipeline(),
        quality=build_quality_config(),
        liveness=PassiveSessionLiveness(
            build_passive_liveness(workflow.face_liveness_score_decline_threshold)),
        search=InterimFaceIndex(db, key),
        sessions=VerdictStore(db),
        key=load_device_key(db, key),
    )
