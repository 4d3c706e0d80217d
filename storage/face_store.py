"""The encrypted template store and its 1:N search: the storage package's main surface.

    store = FaceStore.open(StorageConfig(), default_home=poh_home())
    tid = store.enroll("person-42", embedding)       # searchable when this returns
    hits = store.search(embedding, k=5)              # cosine; enrolled and blocklist apart
    store.forget("person-42")                        # hidden from search when this returns

Writes take one lock across "database commit, then index update", so an erasure can never
overtake the enrollment it erases. Searches do not wait for writes or rebuilds, only for a
key rotation (their query must be rotated like the index it searches).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np
import numpy.typing as npt

from storage import template_store
from storage.config import StorageConfig, StoragePaths
from storage.database import Database
from storage.errors import StorageError
from storage.face_index import IndexStats
from storage.faults import fault_point
from storage.index_manager import BuildResult, IndexManager
from storage.keys import derive_key, load_db_key
from storage.protection import (
    DIM,
    TemplateProtector,
    load_protector,
    new_protector,
    save_protector,
)
from storage.template_store import NewTemplate, TemplateInfo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Match:
    template_id: int
    kind: str
    vendor_data: str | None
    reason: str | None
    session_id: str | None
    cosine: float


@dataclass(frozen=True)
class SearchHits:
    enrolled: tuple[Match, ...]
    blocklist: tuple[Match, ...]


@dataclass(frozen=True)
class ForgetResult:
    vendor_data: str
    templates: int
    sessions: int
    verdicts: int
    session_ids: tuple[str, ...] = ()  # for the caller to erase what it keeps per session


@dataclass(frozen=True)
class StoreStats:
    db_path: str
    db_bytes: int
    schema_version: int
    key_generation: int
    templates: dict[str, int]
    sessions: int
    verdicts: int
    outbox_pending: int
    index: dict[str, IndexStats]
    index_start: dict[str, str]
    snapshot_bytes: dict[str, int]


class FaceStore:
    def __init__(self, db: Database, db_key: bytes, paths: StoragePaths, cfg: StorageConfig,
                 background_rebuild: bool) -> None:
        self._db = db
        self._key = db_key
        self.paths = paths
        self._cfg = cfg
        self._background = background_rebuild
        self._owns_db = True
        self._write_lock = threading.RLock()
        with db.transaction("creating the template key") as conn:
            prot = load_protector(conn, db_key)
            if prot is None:
                prot = new_protector(1, DIM)
                save_protector(conn, db_key, prot)
                log.info("created a new template rotation key")
        self._prot: TemplateProtector = prot
        self._indexes = IndexManager(db, derive_key(db_key, "index-snapshot"),
                                     paths.snapshot_dir, cfg.index, prot.dim,
                                     lambda: self._prot.generation)
        # Held by searches and by a key rotation: no search mixes two key generations.
        self._generation_gate = threading.RLock()

    @classmethod
    def open(cls, cfg: StorageConfig, default_home: Path, background_rebuild: bool = False,
             ) -> FaceStore:
        """Open (or create) the database and load the face index.

        background_rebuild: a long-running kiosk folds the delta in on a thread; a short CLI
        process rebuilds inline when the delta is past its threshold.
        """
        paths = cfg.paths(default_home)
        db_exists = paths.db.exists()
        key = load_db_key(paths.key_file, db_exists)
        db = Database(paths.db, key, create=True, integrity_check=cfg.integrity_check)
        try:
            store = cls(db, key, paths, cfg, background_rebuild)
            store._indexes.open()
            store._maybe_rebuild()
        except BaseException:
            db.close()
            raise
        return store

    @classmethod
    def attach(cls, db: Database, db_key: bytes, cfg: StorageConfig, default_home: Path,
               background_rebuild: bool = True) -> FaceStore:
        """Use a database that the caller opened (and closes) with the same key."""
        store = cls(db, db_key, cfg.paths(default_home), cfg, background_rebuild)
        store._owns_db = False
        store._indexes.open()
        store._maybe_rebuild()
        return store

    def __enter__(self) -> FaceStore:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._indexes.wait()
        if self._owns_db:
            self._db.close()

    @property
    def db(self) -> Database:
        return self._db

    @property
    def key_generation(self) -> int:
        return self._prot.generation

    # --- writes --------------------------------------------------------------------------

    def enroll(self, vendor_data: str, embedding: npt.NDArray[np.floating],
               session_id: str | None = None) -> int:
        """Store a person's template; searchable when this returns. Returns its id."""
        if not vendor_data:
            raise ValueError("vendor_data must not be empty")
        return int(self.add_many([NewTemplate("enrolled", vendor_data, None,
                                              _as_f32(embedding), session_id)])[0])

    def add_blocklist(self, embedding: npt.NDArray[np.floating], reason: str,
                      vendor_data: str | None = None) -> int:
        return int(self.add_many([NewTemplate("blocklist", vendor_data, reason,
                                              _as_f32(embedding))])[0])

    def add_many(self, items: list[NewTemplate]) -> npt.NDArray[np.int64]:
        """Insert in one transaction; all become searchable together, or none is stored."""
        if not items:
            return np.empty(0, dtype=np.int64)
        with self._write_lock:
            prot = self._prot
            with self._db.transaction("storing templates") as conn:
                ids = template_store.insert(conn, prot, items)
            rotated = prot.protect(np.stack([i.embedding for i in items]))
            kinds = np.array([i.kind for i in items])
            for kind in template_store.KINDS:
                sel = kinds == kind
                if sel.any():
                    self._indexes.indexes[kind].add(ids[sel], rotated[sel])
        self._maybe_rebuild()
        return ids

    def bulk_import(self, batches: Iterable[list[NewTemplate]]) -> dict[str, BuildResult]:
        """Store many templates (one transaction per batch), then build each index once.

        For migrations and benchmarks: the imported templates become searchable when the
        rebuild at the end swaps in; a crash midway keeps the committed batches.
        """
        with self._write_lock:
            prot = self._prot
            for batch in batches:
                if batch:
                    with self._db.transaction("importing templates") as conn:
                        template_store.insert(conn, prot, batch)
        return {kind: self._indexes.rebuild(kind) for kind in template_store.KINDS}

    def forget(self, vendor_data: str,
               erase_files: Callable[[tuple[str, ...]], None] | None = None) -> ForgetResult:
        """Right to erasure: templates, index entries, sessions (and their verdicts).

        erase_files(session_ids) deletes what the kiosk keeps outside the database for those
        sessions; it runs before the commit, so a crash in between leaves the person in the
        database (forget again) rather than files nobody can name any more.

        When this returns, no index snapshot on disk holds the person's templates: they are
        scrubbed from the snapshots (or a snapshot that cannot be scrubbed is deleted). A crash
        after the commit leaves that to the next open, which purges erased ids it finds.
        """
        with self._write_lock:
            with self._db.transaction("erasing a person") as conn:
                erased = template_store.erase_person(conn, vendor_data)
                if erase_files is not None:
                    erase_files(erased.session_ids)
            for kind in template_store.KINDS:
                ids = [t for t, k in zip(erased.template_ids, erased.kinds, strict=True)
                       if k == kind]
                if ids:
                    self._indexes.indexes[kind].remove(ids)
            fault_point("forget-committed")
            try:
                for kind in template_store.KINDS:
                    self._indexes.purge_erased(kind)
            except StorageError as exc:
                raise StorageError(
                    f"erased from the database, but an index snapshot still holds erased "
                    f"templates ({exc}); run forget again") from None
        self._maybe_rebuild()
        return ForgetResult(vendor_data, len(erased.template_ids), erased.sessions,
                            erased.verdicts, erased.session_ids)

    def rotate_keys(self) -> int:
        """Re-key every template (R' R^T t) in one transaction, then rebuild the index.

        A crash before COMMIT leaves the old key and templates; after COMMIT the snapshots
        of the old generation no longer match and are rebuilt at the next start.
        """
        with self._write_lock, self._generation_gate:
            old = self._prot
            new = new_protector(old.generation + 1, old.dim)
            with self._db.transaction("rotating the template key") as conn:
                n = template_store.rekey(conn, old, new, old.dim)
                save_protector(conn, self._key, new)
            self._prot = new
            log.info("rotated the template key to generation %d (%d templates)",
                     new.generation, n)
            self._indexes.invalidate_snapshots()
            for kind in template_store.KINDS:
                self._indexes.rebuild(kind)
        return new.generation

    def reindex(self) -> None:
        """Fold every delta into fresh graphs now and write the snapshots."""
        for kind in template_store.KINDS:
            self._indexes.rebuild(kind)

    def _maybe_rebuild(self) -> None:
        for kind in template_store.KINDS:
            if self._indexes.needs_rebuild(kind):
                if self._background:
                    self._indexes.rebuild_in_background(kind)
                else:
                    self._indexes.rebuild(kind)

    # --- reads ---------------------------------------------------------------------------

    def protect(self, embedding: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
        return self._prot.protect(_as_f32(embedding))

    def search(self, embedding: npt.NDArray[np.floating], k: int = 5) -> SearchHits:
        """Top k enrolled and top k blocklisted templates by cosine similarity."""
        with self._generation_gate:
            q = self._prot.protect(_as_f32(embedding))
            raw = {kind: self._indexes.indexes[kind].search(q, k)
                   for kind in template_store.KINDS}
        ids = [h.template_id for hits in raw.values() for h in hits]
        with self._db.read("describing matches") as conn:
            info: dict[int, TemplateInfo] = template_store.describe(conn, ids)
        out: dict[str, tuple[Match, ...]] = {}
        for kind, hits in raw.items():
            # A row erased after the index answered is simply gone.
            out[kind] = tuple(Match(h.template_id, kind, info[h.template_id].vendor_data,
                                    info[h.template_id].reason, info[h.template_id].session_id,
                                    h.cosine)
                              for h in hits if h.template_id in info)
        return SearchHits(out["enrolled"], out["blocklist"])

    def gallery_size(self, kind: str = "enrolled") -> int:
        """Searchable templates of one kind, from the index (no database scan)."""
        return len(self._indexes.indexes[kind])

    def stats(self) -> StoreStats:
        with self._db.read("reading statistics") as conn:
            counts = template_store.counts(conn)
            sessions = int(conn.execute("SELECT count(*) FROM sessions").fetchone()[0])
            verdicts = int(conn.execute("SELECT count(*) FROM verdicts").fetchone()[0])
            pending = int(conn.execute(
                "SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0])
        db_bytes = sum(p.stat().st_size for p in self.paths.db.parent.glob(
            self.paths.db.name + "*") if p.is_file())
        snaps = {k: self._indexes.snapshot_path(k) for k in template_store.KINDS}
        return StoreStats(
            db_path=str(self.paths.db), db_bytes=db_bytes,
            schema_version=self._db.schema_version, key_generation=self._prot.generation,
            templates=counts, sessions=sessions, verdicts=verdicts, outbox_pending=pending,
            index={k: ix.stats() for k, ix in self._indexes.indexes.items()},
            index_start=dict(self._indexes.last_start),
            snapshot_bytes={k: p.stat().st_size if p.exists() else 0 for k, p in snaps.items()},
        )

    @property
    def index_manager(self) -> IndexManager:
        return self._indexes


def _as_f32(embedding: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
    arr = np.asarray(embedding, dtype=np.float32)
    if arr.ndim != 1:
        raise ValueError(f"an embedding is one vector, got shape {arr.shape}")
    return arr


__all__ = ["FaceStore", "ForgetResult", "Match", "SearchHits", "StorageError", "StoreStats"]
