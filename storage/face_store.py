"""The encrypted template store and its 1:N search: the storage package's main surface.

    store = FaceStore.open(StorageConfig(), default_home=poh_home())
    tid = store.enroll("person-42", embedding)       # searchable when this returns
    hits = store.search(embedding, k=5)              # cosine; enrolled and blocklist apart
    store.forget("person-42")                        # hidden from search when this returns

Writes take one lock across "database commit, then index update", so an erasure can never
overtake the enrollment it erases. Searches do not wait for writes or rebuilds, only for a
switch of key generation (their query must be rotated like the index it searches).

Key generations across processes (storage.key_generations): a write protects under the key the
database holds inside its own write transaction, a search checks the generation it used; on a
rotation elsewhere the process loads the new key and its index together. A database that holds
two generations anyway refuses search and enrolment (KeyGenerationError) until
`repair_key_generations` (`poh keys repair`); erasure keeps working meanwhile.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType

import numpy as np
import numpy.typing as npt

from storage import template_store
from storage.config import StorageConfig, StoragePaths
from storage.database import Connection, Database
from storage.errors import KeyGenerationError, StorageError
from storage.faults import fault_point
from storage.fleet_state import FleetKeyError, fleet_of
from storage.index_manager import BuildResult, IndexManager
from storage.key_generations import (
    RepairReport,
    drop_strays,
    protector_in_force,
    require_single_generation,
)
from storage.keys import derive_key, load_db_key
from storage.protection import (
    DIM,
    TemplateProtector,
    load_protector,
    new_protector,
    save_protector,
    stored_generation,
)
from storage.store_results import ForgetResult, Match, SearchHits, StoreStats
from storage.template_store import NewTemplate, TemplateInfo

log = logging.getLogger(__name__)


class FaceStore:
    def __init__(self, db: Database, db_key: bytes, paths: StoragePaths, cfg: StorageConfig,
                 background_rebuild: bool,
                 rebuild_progress: Callable[[int, int], None] | None = None) -> None:
        self._db = db
        self._rebuild_progress = rebuild_progress
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
        self._indexes = self._index_manager_for(prot)
        self._retired: list[threading.Thread] = []  # rebuilds of dropped indexes, for close
        # Held while a search uses (protector, indexes) and while they are switched together.
        self._generation_gate = threading.RLock()
        self._unusable: KeyGenerationError | None = None

    def _index_manager_for(self, prot: TemplateProtector) -> IndexManager:
        generation = prot.generation
        return IndexManager(self._db, derive_key(self._key, "index-snapshot"),
                            self.paths.snapshot_dir, self._cfg.index, prot.dim,
                            lambda: generation, self._rebuild_progress)

    def _open_indexes(self) -> None:
        try:
            self._indexes.open()
        except KeyGenerationError as exc:
            # Not dead: erasure, statistics and `poh keys repair` work; search and enrolment
            # refuse (fail closed) until the database is repaired.
            self._unusable = exc
            log.error("%s", exc)
            return
        self._maybe_rebuild()

    @classmethod
    def open(cls, cfg: StorageConfig, default_home: Path, background_rebuild: bool = False,
             rebuild_progress: Callable[[int, int], None] | None = None) -> FaceStore:
        """Open (or create) the database and load the face index.

        background_rebuild: a long-running kiosk folds the delta in on a thread; a short CLI
        process rebuilds inline when the delta is past its threshold. rebuild_progress:
        (done, total) stages of every inline rebuild (a CLI's progress display).
        """
        paths = cfg.paths(default_home)
        db_exists = paths.db.exists()
        key = load_db_key(paths.key_file, db_exists)
        db = Database(paths.db, key, create=True, integrity_check=cfg.integrity_check)
        try:
            store = cls(db, key, paths, cfg, background_rebuild, rebuild_progress)
            store._open_indexes()
        except BaseException:
            db.close()
            raise
        return store

    @classmethod
    def attach(cls, db: Database, db_key: bytes, cfg: StorageConfig, default_home: Path,
               background_rebuild: bool = True,
               rebuild_progress: Callable[[int, int], None] | None = None) -> FaceStore:
        """Use a database that the caller opened (and closes) with the same key."""
        store = cls(db, db_key, cfg.paths(default_home), cfg, background_rebuild,
                    rebuild_progress)
        store._owns_db = False
        store._open_indexes()
        return store

    def __enter__(self) -> FaceStore:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        for thread in self._retired:
            thread.join()
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

    def add_many(self, items: list[NewTemplate],
                 extra: Callable[[Connection, npt.NDArray[np.int64]], None] | None = None
                 ) -> npt.NDArray[np.int64]:
        """Insert in one transaction; all become searchable together, or none is stored.
        extra(conn, ids) writes what belongs with them in that transaction (fleet entries)."""
        if not items:
            return np.empty(0, dtype=np.int64)
        self._check_usable()
        with self._write_lock:
            with self._db.transaction("storing templates") as conn:
                prot = self._write_protector(conn)
                ids = template_store.insert(conn, prot, items)
                if extra is not None:
                    extra(conn, ids)
            if prot.generation != self._prot.generation:
                # Another process rotated the key: this process's index is of the retired
                # generation. The new one, read after the commit, already holds these rows.
                self._switch_to(prot)
            else:
                rotated = template_store.stored_vectors(prot, items)
                kinds = np.array([i.kind for i in items])
                for kind in template_store.KINDS:
                    sel = kinds == kind
                    if sel.any():
                        self._indexes.indexes[kind].add(ids[sel], rotated[sel])
        self._maybe_rebuild()
        return ids

    def bulk_import(self, batches: Iterable[list[NewTemplate]],
                    progress: Callable[[int, int], None] | None = None
                    ) -> dict[str, BuildResult]:
        """Store many templates (one transaction per batch), then build each index once.

        For migrations and benchmarks: the imported templates become searchable when the
        rebuild at the end swaps in; a crash midway keeps the committed batches. progress:
        the stages of the builds at the end, as in reindex.
        """
        self._check_usable()
        with self._write_lock:
            prot = self._prot
            for batch in batches:
                if batch:
                    with self._db.transaction("importing templates") as conn:
                        prot = self._write_protector(conn)
                        template_store.insert(conn, prot, batch)
            if prot.generation != self._prot.generation:
                self._switch_to(prot)
            return self._rebuild_all(progress)

    def forget(self, vendor_data: str,
               erase_files: Callable[[tuple[str, ...]], None] | None = None) -> ForgetResult:
        """Right to erasure: templates, index entries, sessions (and their verdicts).

        erase_files(session_ids) deletes what the kiosk keeps outside the database for those
        sessions; it runs before the commit, so a crash in between leaves the person in the
        database (forget again) rather than files nobody can name any more.

        When this returns, no index snapshot on disk holds the person's templates: they are
        scrubbed from the snapshots (or a snapshot that cannot be scrubbed is deleted). A crash
        after the commit leaves that to the next open, which purges erased ids it finds.
        Works on any key generation, and on a database that needs `poh keys repair`.
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
        if self._unusable is None:
            self._maybe_rebuild()
        return ForgetResult(vendor_data, len(erased.template_ids), erased.sessions,
                            erased.verdicts, erased.session_ids)

    def rotate_keys(self, matrix: npt.NDArray[np.float64] | None = None,
                    extra: Callable[[Connection], None] | None = None) -> int:
        """Re-key every template (R' R^T t) in one transaction, then rebuild the index.

        matrix: the new rotation (a fleet's, when the booth joins it), else a random one; a
        booth in a fleet refuses a random one (its templates must stay comparable with the
        fleet's). extra(conn) writes what belongs with the new key in the same transaction.

        The generation rotated from is the database's (read inside the transaction), not the
        one this process loaded, so a rotation elsewhere meanwhile is built upon. A crash before
        COMMIT leaves the old key and templates; after COMMIT the snapshots of the old
        generation are dead and deleted at the next start at the latest.
        """
        self._check_usable()
        with self._write_lock:
            with self._db.transaction("rotating the template key") as conn:
                old = self._write_protector(conn)
                if matrix is None and fleet_of(conn) is not None:
                    raise FleetKeyError(f"this booth's template key is its fleet's "
                                       f"({fleet_of(conn)}): rotating it alone would make its "
                                       f"templates incomparable with the fleet's")
                new = (new_protector(old.generation + 1, old.dim) if matrix is None
                       else TemplateProtector(matrix, old.generation + 1))
                n = template_store.rekey(conn, old, new, old.dim)
                save_protector(conn, self._key, new)
                if extra is not None:
                    extra(conn)
            log.info("rotated the template key to generation %d (%d templates)",
                     new.generation, n)
            fault_point("rotate-committed")
            self._indexes.invalidate_snapshots()
            self._switch_to(new)
        return new.generation

    def repair_key_generations(self, dry_run: bool = False) -> RepairReport:
        """Bring a database that holds templates of several key generations back to one.

        Templates of another generation than the current one cannot be re-keyed (their key is
        gone) and never match again: they are dropped and reported, so that the people can be
        enrolled again (storage.key_generations). Then search and enrolment work again.
        """
        with self._write_lock:
            with self._db.transaction("repairing template key generations") as conn:
                prot, report = drop_strays(conn, self._key, dry_run)
            if dry_run:
                return report
            if report.dropped:
                log.warning("dropped %d templates of a retired key generation (people to "
                            "enrol again: %s)", len(report.dropped),
                            ", ".join(sorted({str(t.vendor_data) for t in report.dropped})))
                for kind in template_store.KINDS:
                    self._indexes.purge_erased(kind)
            if (report.dropped or self._unusable is not None
                    or prot.generation != self._prot.generation):
                self._switch_to(prot)
            self._unusable = None
        return report

    # --- key generations -----------------------------------------------------------------

    def _write_protector(self, conn: Connection) -> TemplateProtector:
        """The key in force for a write, read inside its write transaction (which holds the
        database's write lock: no rotation can commit before the caller's commit)."""
        try:
            prot = protector_in_force(conn, self._key, self._prot)
        except KeyGenerationError as exc:
            self._unusable = exc  # the transaction rolls back; refuse until repaired
            raise
        if prot is not self._prot:
            log.info("the template key moved to generation %d in another process",
                     prot.generation)
        return prot

    def _switch_to(self, prot: TemplateProtector) -> None:
        """Load the index of `prot`'s generation, then switch searches to both at once.

        Caller holds the write lock. The old key and index serve searches until the new index
        is loaded; if loading fails nothing changes (and the next call tries again).
        """
        manager = self._index_manager_for(prot)
        try:
            manager.open()
        except KeyGenerationError as exc:
            self._unusable = exc  # refuse cheaply (_check_usable) until repaired
            raise
        with self._generation_gate:
            old, self._indexes, self._prot = self._indexes, manager, prot
        # The old graphs are freed once no search and no rebuild of theirs holds them.
        self._retired = [t for t in self._retired if t.is_alive()] + old.running()
        self._maybe_rebuild()

    def _adopt_stored_generation(self) -> None:
        with self._write_lock:
            with self._db.read("reading the template key") as conn:
                try:
                    prot = protector_in_force(conn, self._key, self._prot)
                except KeyGenerationError as exc:
                    self._unusable = exc
                    raise
            if prot is not self._prot:
                log.info("the template key moved to generation %d in another process",
                         prot.generation)
                self._switch_to(prot)

    def _check_usable(self) -> None:
        """Raise while the database holds mixed generations (fail closed); notice a repair."""
        if self._unusable is None:
            return
        with self._write_lock:
            if self._unusable is None:
                return
            with self._db.read("checking template key generations") as conn:
                prot = require_single_generation(conn, self._key)
            self._switch_to(prot)  # repaired by another process
            self._unusable = None

    def reindex(self, progress: Callable[[int, int], None] | None = None) -> None:
        """Fold every delta into fresh graphs now and write the snapshots. progress(done,
        total): the stages of each kind's graph build (IndexManager.rebuild)."""
        self._check_usable()
        self._adopt_stored_generation()
        self._rebuild_all(progress)

    def _rebuild_all(self, progress: Callable[[int, int], None] | None
                     ) -> dict[str, BuildResult]:
        return {kind: self._indexes.rebuild(kind, progress=progress)
                for kind in template_store.KINDS}

    def _maybe_rebuild(self) -> None:
        if self._unusable is not None:
            return
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
        self._check_usable()
        query = _as_f32(embedding)
        for _ in range(3):
            with self._generation_gate:
                prot = self._prot
                q = prot.protect(query)
                raw = {kind: self._indexes.indexes[kind].search(q, k)
                       for kind in template_store.KINDS}
            ids = [h.template_id for hits in raw.values() for h in hits]
            with self._db.read("describing matches") as conn:
                generation = stored_generation(conn)
                info: dict[int, TemplateInfo] = template_store.describe(conn, ids)
            if generation == prot.generation:
                break
            # Another process rotated the key: answer with the new key and its index.
            self._adopt_stored_generation()
        else:
            raise StorageError("the template key generation keeps changing; search again")
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
            generation = stored_generation(conn)
            strays = template_store.count_strays(conn, generation)
        db_bytes = sum(p.stat().st_size for p in self.paths.db.parent.glob(
            self.paths.db.name + "*") if p.is_file())
        snaps = {k: self._indexes.snapshot_path(k) for k in template_store.KINDS}
        return StoreStats(
            db_path=str(self.paths.db), db_bytes=db_bytes,
            schema_version=self._db.schema_version, key_generation=generation,
            templates=counts, sessions=sessions, verdicts=verdicts, outbox_pending=pending,
            index={k: ix.stats() for k, ix in self._indexes.indexes.items()},
            index_start=dict(self._indexes.last_start),
            snapshot_bytes={k: p.stat().st_size if p.exists() else 0 for k, p in snaps.items()},
            stray_templates=strays,
        )

    @property
    def index_manager(self) -> IndexManager:
        return self._indexes


def _as_f32(embedding: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
    arr = np.asarray(embedding, dtype=np.float32)
    if arr.ndim != 1:
        raise ValueError(f"an embedding is one vector, got shape {arr.shape}")
    return arr


__all__ = ["FaceStore", "ForgetResult", "Match", "RepairReport", "SearchHits", "StorageError",
           "StoreStats"]
