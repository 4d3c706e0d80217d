"""Keeps one FaceIndex per template kind in step with the database and its snapshots.

Start-up: load the encrypted snapshot (the graph and the watermark), then read the delta
(id > watermark) and the tombstones (graph ids no longer in the database) from the database,
which stays the single source of truth. A snapshot that fails authentication, or that belongs
to another key generation, is rebuilt from the database (with a warning when it was corrupt).
Rebuilds read the database on their own connection and swap the new graph in at the end.

Snapshots on disk never hold an erased template or a retired key generation once the call that
erased or rotated returns, whichever process writes them: every snapshot write and every purge
runs under one lock on the snapshot folder (flock, so across processes), and a writer checks,
under that lock, the database's key generation (a snapshot of a retired generation is not
written) and which of its ids are still alive (erased ones are scrubbed from the serialised
graph first, see storage.hnsw_scrub). An erasure purges the snapshots after its commit under the
same lock, so either the writer sees the erasure or the purge sees the writer's file.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from storage import template_store
from storage.config import IndexConfig
from storage.database import Database
from storage.errors import SnapshotError, StorageError
from storage.face_index import FaceIndex
from storage.faults import fault_point
from storage.hnsw_graph import GraphParams, HnswGraph
from storage.hnsw_scrub import ScrubUnsupported, scrub_graph
from storage.memfile import file_size, memory_file
from storage.protection import stored_generation
from storage.snapshot import (
    SnapshotMeta,
    read_ids,
    read_meta,
    read_snapshot,
    remove_stale_temp_files,
    temp_files,
)
from storage.snapshot import write_snapshot as _write_snapshot

log = logging.getLogger(__name__)

REBUILD_STAGES = 3  # read the templates, build the graph, write the snapshot


def _no_progress(done: int, total: int) -> None:
    pass


@dataclass(frozen=True)
class BuildResult:
    graph: HnswGraph | None
    watermark: int
    generation: int
    seconds: float  # total
    read_seconds: float = 0.0  # reading the templates from the database
    build_seconds: float = 0.0  # HNSW construction and the memory-file round trip
    snapshot_seconds: float = 0.0  # encrypting and writing the snapshot


class IndexManager:
    def __init__(self, db: Database, snapshot_key: bytes, snapshot_dir: Path, cfg: IndexConfig,
                 dim: int, generation: Callable[[], int],
                 progress: Callable[[int, int], None] | None = None) -> None:
        """progress: follows every synchronous rebuild of this manager (see rebuild)."""
        self._db = db
        self._progress = progress or _no_progress
        self._key = snapshot_key
        self._dir = snapshot_dir
        self._cfg = cfg
        self._dim = dim
        self._generation = generation
        self.indexes = {kind: FaceIndex(dim) for kind in template_store.KINDS}
        self._threads: dict[str, threading.Thread] = {}
        self._build_locks = {kind: threading.Lock() for kind in template_store.KINDS}
        self.last_start: dict[str, str] = {}

    def snapshot_path(self, kind: str) -> Path:
        return self._dir / f"faces-{kind}.snap"

    # --- start-up ------------------------------------------------------------------------

    def open(self) -> None:
        for kind in template_store.KINDS:
            self._open_kind(kind)

    def _open_kind(self, kind: str) -> None:
        path = self.snapshot_path(kind)
        remove_stale_temp_files(path)
        if path.exists():
            try:
                holds_erased = self._load_snapshot(kind, path)
                self.last_start[kind] = "snapshot"
                if holds_erased:
                    # An erasure committed but its purge never ran (a crash in between).
                    self.purge_erased(kind)
                return
            except SnapshotError as exc:
                log.warning("index snapshot %s is corrupt or was tampered with (%s); "
                            "rebuilding the face index from the database", path, exc)
                self.last_start[kind] = "rebuilt: snapshot corrupt"
            except _StaleSnapshot as exc:
                log.info("index snapshot %s is stale (%s); rebuilding", path, exc)
                self.last_start[kind] = "rebuilt: snapshot stale"
                # Of a retired key generation, or ahead of the database: dead data, gone now
                # (not only when the rebuild below replaces it).
                self.purge_erased(kind)
        else:
            self.last_start[kind] = "built: no snapshot"
        self.rebuild(kind)

    def _load_snapshot(self, kind: str, path: Path) -> bool:
        """Load; True when the snapshot holds ids that the database no longer has."""
        meta, _, _, _ = read_meta(path)
        generation = self._generation()
        if meta.kind != kind or meta.dim != self._dim:
            raise SnapshotError(f"{path} is for kind {meta.kind!r} at {meta.dim} dimensions")
        if meta.key_generation != generation:
            raise _StaleSnapshot(f"key generation {meta.key_generation}, database {generation}")
        with memory_file("poh-hnsw-load") as (fd, mpath):
            meta, ids = read_snapshot(path, self._key, fd)
            graph = (HnswGraph.load(fd, mpath, ids, GraphParams(
                meta.params["m"], meta.params["ef_construction"], self._cfg.ef_search))
                if meta.count else None)
        index = self.indexes[kind]
        with self._db.read("loading the index delta") as conn:
            if meta.watermark > template_store.id_watermark(conn):
                # The database is older than the snapshot (restored from a backup): ids above
                # its counter will be issued again, so the snapshot cannot be trusted.
                raise _StaleSnapshot(f"watermark {meta.watermark} is ahead of the database")
            delta_ids, delta_vecs = template_store.load(conn, kind, generation, self._dim,
                                                        above=meta.watermark)
            alive = template_store.ids_of_kind(conn, kind, meta.watermark)
        gone = np.setdiff1d(ids, alive, assume_unique=True)
        index.swap(graph, meta.watermark)
        index.set_tombstones(gone)  # scrubbed slots (negative ids) included
        if len(delta_ids):
            index.add(delta_ids, delta_vecs)
        return bool(np.any(gone > 0))

    # --- rebuilds ------------------------------------------------------------------------

    def rebuild(self, kind: str, save: bool = True,
                progress: Callable[[int, int], None] | None = None) -> BuildResult:
        """Rebuild synchronously: read the database, build, swap, write the snapshot.
        progress(done, REBUILD_STAGES) after each of those three stages when there is a graph to
        build (below min_graph_size the search is exact and the rebuild takes no time): the HNSW
        construction is one library call, so a rebuild reports its stages, not templates."""
        with self._build_locks[kind]:
            return self._rebuild_locked(kind, save, progress or self._progress)

    def _rebuild_locked(self, kind: str, save: bool,
                        progress: Callable[[int, int], None]) -> BuildResult:
        with memory_file("poh-hnsw-build") as (fd, mpath):
            return self._rebuild_into(kind, save, fd, mpath, progress)

    def _rebuild_into(self, kind: str, save: bool, fd: int, mpath: str,
                      progress: Callable[[int, int], None]) -> BuildResult:
        t0 = time.perf_counter()
        index = self.indexes[kind]
        index.begin_build()
        try:
            conn = self._db.reader()
            try:
                conn.execute("BEGIN")
                generation = stored_generation(conn)
                watermark = template_store.id_watermark(conn)
                ids, vecs = template_store.load(conn, kind, generation, self._dim,
                                                upto=watermark)
                conn.execute("COMMIT")
            finally:
                conn.close()
            t_read = time.perf_counter()
            graph = None
            if len(ids) < max(1, self._cfg.min_graph_size):
                progress = _no_progress
            progress(1, REBUILD_STAGES)
            if len(ids) >= max(1, self._cfg.min_graph_size):
                graph = HnswGraph.build(ids, vecs, GraphParams.from_config(self._cfg),
                                        self._cfg.build_threads, fd, mpath)
                del vecs
                fault_point("rebuild-built")
        except BaseException:
            index.end_build()
            raise
        if generation != self._generation():
            index.end_build()
            log.info("discarding an index build of key generation %d", generation)
            return BuildResult(None, watermark, generation, time.perf_counter() - t0)
        t_built = time.perf_counter()
        progress(2, REBUILD_STAGES)
        if graph is None:
            index.swap_exact(ids, vecs, watermark)
        else:
            index.swap(graph, watermark)
        if save:
            self._save(kind, generation, watermark, graph, fd)
        t_end = time.perf_counter()
        progress(REBUILD_STAGES, REBUILD_STAGES)
        result = BuildResult(graph, watermark, generation, t_end - t0, t_read - t0,
                             t_built - t_read, t_end - t_built)
        log.log(logging.INFO if graph else logging.DEBUG,
                "rebuilt the %s face index: %d templates in the graph, %.1f s", kind,
                len(graph) if graph else 0, result.seconds)
        return result

    def _save(self, kind: str, generation: int, watermark: int, graph: HnswGraph | None,
              fd: int) -> None:
        """Write (or remove) the snapshot of a finished build, unless it is already dead."""
        path = self.snapshot_path(kind)
        with self.snapshot_lock():
            with self._db.read("checking a new index snapshot") as conn:
                current = stored_generation(conn)
                alive = template_store.ids_of_kind(conn, kind, watermark)
            if current != generation:
                # Built before another process rotated the key: its templates are retired.
                log.info("not writing the %s index snapshot of key generation %d: the "
                         "database is at generation %d", kind, generation, current)
                return
            if graph is None:
                _remove(path)
                return
            ids = graph.ids
            erased = np.setdiff1d(ids, alive)
            if len(erased):
                # Erased while this build ran: keep them out of what reaches the disk.
                try:
                    ids = self._scrub(fd, file_size(fd), len(ids), ids, erased)
                except ScrubUnsupported as exc:
                    log.warning("cannot scrub %d erased templates from the new %s index "
                                "snapshot (%s); not writing it", len(erased), kind, exc)
                    _remove(path)
                    return
            meta = SnapshotMeta(kind=kind, key_generation=generation, count=len(ids),
                                watermark=watermark, dim=self._dim, graph_bytes=file_size(fd),
                                params={"m": graph.params.m,
                                        "ef_construction": graph.params.ef_construction})
            _write_snapshot(path, self._key, meta, ids, fd)

    def _scrub(self, fd: int, size: int, count: int, ids: npt.NDArray[np.int64],
               erased: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Scrub the graph in memory file `fd`; the ids with erased slots made negative."""
        positions = np.flatnonzero(np.isin(ids, erased))
        scrub_graph(fd, size, count, self._dim, positions.tolist(),
                    scrubbed=np.flatnonzero(ids < 0).tolist())
        out = ids.copy()
        out[positions] = -(positions + 1)  # distinct, never a template id (those are >= 1)
        return out

    @contextmanager
    def snapshot_lock(self) -> Iterator[None]:
        """Exclusive across threads and processes: one writer or purger of snapshots at once."""
        self._dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        dfd = os.open(self._dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fcntl.flock(dfd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(dfd)  # releases the lock

    def purge_erased(self, kind: str) -> int:
        """Make the snapshot on disk hold nothing that the database no longer holds.

        Erased ids are scrubbed from it (decrypt into memory, scrub, seal again); a snapshot of
        another key generation, ahead of the database, or that cannot be read or scrubbed is
        deleted (the next start rebuilds it). Partial snapshots that writers left are deleted.
        Returns the number of templates scrubbed.
        """
        path = self.snapshot_path(kind)
        with self.snapshot_lock():
            for tmp in temp_files(path):  # no writer is mid-write while the lock is held
                _remove(tmp)
            if not path.exists():
                return 0
            try:
                meta, ids = read_ids(path, self._key)
            except SnapshotError as exc:
                log.warning("index snapshot %s cannot be checked for erased templates (%s); "
                            "deleting it", path, exc)
                _remove(path)
                return 0
            with self._db.read("checking an index snapshot for erased templates") as conn:
                current = stored_generation(conn)
                top = template_store.id_watermark(conn)
                alive = template_store.ids_of_kind(conn, kind, meta.watermark)
            if (meta.key_generation != current or meta.watermark > top or meta.kind != kind
                    or meta.dim != self._dim):
                log.info("deleting index snapshot %s (key generation %d, database %d)", path,
                         meta.key_generation, current)
                _remove(path)
                return 0
            erased = np.setdiff1d(ids[ids > 0], alive)
            if not len(erased):
                return 0
            try:
                with memory_file("poh-hnsw-scrub") as (fd, _):
                    meta, ids = read_snapshot(path, self._key, fd)
                    ids = self._scrub(fd, meta.graph_bytes, meta.count, ids, erased)
                    _write_snapshot(path, self._key, meta, ids, fd)
            except (ScrubUnsupported, StorageError) as exc:
                log.warning("cannot rewrite index snapshot %s without %d erased templates "
                            "(%s); deleting it", path, len(erased), exc)
                _remove(path)
                return 0
            log.info("scrubbed %d erased templates from index snapshot %s", len(erased), path)
            return len(erased)

    def needs_rebuild(self, kind: str) -> bool:
        st = self.indexes[kind].stats()
        if st.graph_size == 0:
            return st.delta_size >= max(1, self._cfg.min_graph_size)
        return (st.delta_size >= self._cfg.rebuild_delta
                or st.tombstones >= self._cfg.rebuild_tombstones)

    def rebuild_in_background(self, kind: str) -> threading.Thread | None:
        """Start a rebuild thread unless one is running; searches continue meanwhile."""
        running = self._threads.get(kind)
        if running is not None and running.is_alive():
            return None
        thread = threading.Thread(target=self._background, args=(kind,),
                                  name=f"poh-index-rebuild-{kind}", daemon=True)
        self._threads[kind] = thread
        thread.start()
        return thread

    def _background(self, kind: str) -> None:
        try:
            self.rebuild(kind, progress=_no_progress)  # nobody watches a background build
        except (StorageError, OSError, RuntimeError, ValueError, MemoryError):
            log.exception("background rebuild of the %s face index failed", kind)

    def wait(self) -> None:
        for thread in list(self._threads.values()):
            thread.join()

    def running(self) -> list[threading.Thread]:
        """Background rebuilds still running (to join after this manager is dropped)."""
        return [t for t in self._threads.values() if t.is_alive()]

    def invalidate_snapshots(self) -> None:
        with self.snapshot_lock():
            for kind in template_store.KINDS:
                path = self.snapshot_path(kind)
                for tmp in temp_files(path):
                    _remove(tmp)
                _remove(path)


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot delete the index snapshot {path}: {exc.strerror}") from None


class _StaleSnapshot(Exception):
    """A valid snapshot of an older key generation: rebuilt without alarm."""
