"""An immutable nmslib HNSW graph (cosine) over a fixed set of template ids.

nmslib cannot add after createIndex nor delete; FaceIndex puts a delta and tombstones around
this. After building, the graph is round-tripped through a memory file: the loaded copy
keeps only nmslib's compact search layout, roughly halving memory (the build-time copy also
holds the original vectors).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

import numpy as np
import numpy.typing as npt

from storage.config import IndexConfig
from storage.errors import SnapshotError, StorageError

log = logging.getLogger(__name__)

_nmslib: Any = None


def _lib() -> Any:
    """Import nmslib on first use, silently (see _quiet_import)."""
    global _nmslib
    if _nmslib is None:
        # nmslib logs its registry and every parameter at INFO through Python logging.
        logging.getLogger("nmslib").setLevel(logging.WARNING)
        _nmslib = _quiet_import()
    return _nmslib


def _quiet_import() -> Any:
    """nmslib's import writes a three-line CPU-feature note ("Your CPU supports instructions
    that this binary was not compiled to use ... pip install --no-binary") from C++ straight to
    file descriptor 2, past Python's sys.stderr: a bad-input error would no longer be one line
    on stderr. File descriptor 2 points at /dev/null for the import only (once per process)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 2)
        finally:
            os.close(null)
        import nmslib
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return nmslib


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Ctrl-C during an nmslib call takes effect when the call returns, instead of being lost.

    nmslib's C++ logs through Python's logging while it builds or loads; a KeyboardInterrupt
    raised inside that callback is caught by nmslib, printed raw to stderr ("hnsw.cc:392
    (CreateIndex) [INFO] ...") and dropped, so the process carried on as if never interrupted.
    Here SIGINT only notes the interrupt while the call runs; it is raised after. Only the main
    thread can set a signal handler (and only it receives KeyboardInterrupt)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted: list[int] = []

    def note(signum: int, _frame: FrameType | None) -> None:
        noted.append(signum)

    previous = signal.signal(signal.SIGINT, note)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if noted:
        raise KeyboardInterrupt


def _new_index() -> Any:
    lib = _lib()
    return lib.init(method="hnsw", space="cosinesimil", data_type=lib.DataType.DENSE_VECTOR)


@dataclass(frozen=True)
class GraphParams:
    m: int
    ef_construction: int
    ef_search: int

    @classmethod
    def from_config(cls, cfg: IndexConfig) -> GraphParams:
        return cls(cfg.m, cfg.ef_construction, cfg.ef_search)


class HnswGraph:
    """Search-only HNSW graph; position i in the graph is template id `ids[i]`."""

    def __init__(self, index: Any, ids: npt.NDArray[np.int64], params: GraphParams) -> None:
        self._index = index
        self.ids = ids
        self.params = params
        index.setQueryTimeParams({"efSearch": params.ef_search})

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, ids: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32],
              params: GraphParams, threads: int, fd: int, path: str) -> HnswGraph:
        """Build, save into the memory file (fd, path), and reload the compact copy from it.

        The memory file then holds the serialised graph for the snapshot: nmslib cannot
        serialise an optimized index that it loaded without its data.
        """
        if len(ids) != len(vectors) or len(ids) == 0:
            raise ValueError("a graph needs as many ids as vectors, and at least one")
        index = _new_index()
        with interrupts_deferred():
            index.addDataPointBatch(np.ascontiguousarray(vectors, dtype=np.float32),
                                    np.arange(len(ids), dtype=np.int32))
            index.createIndex({"M": params.m, "efConstruction": params.ef_construction,
                               "indexThreadQty": threads, "post": 0}, print_progress=False)
            try:
                index.saveIndex(path, save_data=False)
            except RuntimeError as exc:  # e.g. the memory file hit RLIMIT_FSIZE or memory
                raise StorageError(f"cannot serialise the face index: {exc}") from None
        del index
        return cls.load(fd, path, ids, params)

    @classmethod
    def load(cls, fd: int, path: str, ids: npt.NDArray[np.int64],
             params: GraphParams) -> HnswGraph:
        """Load from a memory file that holds bytes written by `save`."""
        os.lseek(fd, 0, os.SEEK_SET)
        index = _new_index()
        try:
            with interrupts_deferred():
                index.loadIndex(path, load_data=False)
        except RuntimeError as exc:
            raise SnapshotError(f"nmslib cannot load the face index: {exc}") from None
        return cls(index, ids, params)

    def set_ef_search(self, ef: int) -> None:
        """Change the search breadth (recall against speed) without rebuilding."""
        self._index.setQueryTimeParams({"efSearch": ef})
        self.params = GraphParams(self.params.m, self.params.ef_construction, ef)

    def knn(self, query: npt.NDArray[np.float32], k: int) -> tuple[npt.NDArray[np.int64],
                                                                      npt.NDArray[np.float32]]:
        """Nearest `k` as (template ids, cosine similarities), best first."""
        k = min(k, len(self.ids))
        pos, dist = self._index.knnQuery(query, k=k)
        return self.ids[np.asarray(pos, dtype=np.int64)], (1.0 - np.asarray(dist)).astype(
            np.float32)
