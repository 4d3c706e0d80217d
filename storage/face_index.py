"""The face index of one template kind: HNSW bulk + exact delta + tombstones.

- bulk: an immutable HnswGraph over every template with id <= watermark at its build time;
- delta: templates enrolled since (id > watermark), searched exactly with numpy, so an
  enrollment is searchable as soon as `add` returns;
- tombstones: erased ids still inside the graph, filtered from its answers at once.

`swap` installs a graph built elsewhere (a background thread) in O(delta) under the lock;
searches never wait for a build. Ids are never reused (AUTOINCREMENT), which makes the
watermark rule sound: an id <= watermark was committed before the build read the database.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from storage.hnsw_graph import HnswGraph

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Hit:
    template_id: int
    cosine: float


@dataclass(frozen=True)
class IndexStats:
    graph_size: int
    delta_size: int
    tombstones: int
    watermark: int


class FaceIndex:
    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._lock = threading.Lock()
        self._graph: HnswGraph | None = None
        self._graph_ids_sorted: I64 = np.empty(0, dtype=np.int64)
        self._watermark = 0
        self._delta_vecs: F32 = np.empty((64, dim), dtype=np.float32)
        self._delta_ids: I64 = np.empty(64, dtype=np.int64)
        self._delta_n = 0
        self._delta_pos: dict[int, int] = {}
        self._tombstones: set[int] = set()
        self._building = 0

    # --- state ---------------------------------------------------------------------------

    @property
    def watermark(self) -> int:
        return self._watermark

    @property
    def graph(self) -> HnswGraph | None:
        return self._graph

    def stats(self) -> IndexStats:
        with self._lock:
            return IndexStats(len(self._graph) if self._graph else 0, self._delta_n,
                              len(self._tombstones), self._watermark)

    def __len__(self) -> int:
        with self._lock:
            graph = len(self._graph) if self._graph else 0
            return graph - len(self._tombstones) + self._delta_n

    def delta_ids(self) -> I64:
        with self._lock:
            return self._delta_ids[: self._delta_n].copy()

    # --- mutations -----------------------------------------------------------------------

    def add(self, ids: I64, vectors: F32) -> None:
        """Make templates searchable now (vectors: rotated, unit length)."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        with self._lock:
            # An id <= watermark was committed before the graph's build read it: already there.
            keep = ids > self._watermark
            ids, vectors = ids[keep], vectors[keep]
            new = [i for i, tid in enumerate(ids.tolist()) if tid not in self._delta_pos]
            if not new:
                return
            ids, vectors = ids[new], vectors[new]
            self._reserve(self._delta_n + len(ids))
            start = self._delta_n
            self._delta_vecs[start:start + len(ids)] = vectors
            self._delta_ids[start:start + len(ids)] = ids
            for offset, tid in enumerate(ids.tolist()):
                self._delta_pos[tid] = start + offset
            self._delta_n += len(ids)

    def remove(self, ids: list[int]) -> None:
        """Hide templates from search now."""
        with self._lock:
            for tid in ids:
                pos = self._delta_pos.pop(tid, None)
                if pos is not None:
                    last = self._delta_n - 1
                    if pos != last:
                        moved = int(self._delta_ids[last])
                        self._delta_vecs[pos] = self._delta_vecs[last]
                        self._delta_ids[pos] = moved
                        self._delta_pos[moved] = pos
                    self._delta_n -= 1
                # While a build runs, the id may sit in the graph being built: remember it.
                if self._building or self._in_graph(tid):
                    self._tombstones.add(tid)

    def begin_build(self) -> None:
        """Call before a rebuild reads the database; pair with swap*() or end_build()."""
        with self._lock:
            self._building += 1

    def end_build(self) -> None:
        """A build was abandoned: forget the tombstones that only it needed."""
        with self._lock:
            self._building = max(0, self._building - 1)
            if not self._building:
                self._tombstones = {t for t in self._tombstones if self._in_graph(t)}

    def swap(self, graph: HnswGraph | None, watermark: int) -> None:
        """Install a graph covering every surviving template with id <= watermark."""
        sorted_ids = np.sort(graph.ids) if graph is not None else np.empty(0, dtype=np.int64)
        with self._lock:
            self._building = max(0, self._building - 1)
            self._graph = graph
            self._graph_ids_sorted = sorted_ids
            self._watermark = watermark
            self._tombstones = {t for t in self._tombstones if self._in_graph(t)}
            keep = self._delta_ids[: self._delta_n] > watermark
            self._replace_delta(self._delta_ids[: self._delta_n][keep],
                                self._delta_vecs[: self._delta_n][keep])

    def swap_exact(self, ids: I64, vectors: F32, watermark: int) -> None:
        """Drop the graph: search everything exactly (small galleries).

        ids/vectors: the templates with id <= watermark read at the start of the build;
        erasures since then are in the tombstones, enrollments since then in the delta.
        """
        with self._lock:
            self._building = max(0, self._building - 1)
            alive = np.array([t not in self._tombstones for t in ids.tolist()], dtype=bool)
            newer = self._delta_ids[: self._delta_n] > watermark
            all_ids = np.concatenate([ids[alive] if len(ids) else ids,
                                      self._delta_ids[: self._delta_n][newer]])
            all_vecs = np.concatenate([vectors[alive] if len(ids) else vectors,
                                       self._delta_vecs[: self._delta_n][newer]])
            self._graph = None
            self._graph_ids_sorted = np.empty(0, dtype=np.int64)
            self._watermark = 0
            self._tombstones = set()
            self._replace_delta(all_ids, all_vecs)

    def _replace_delta(self, ids: I64, vectors: F32) -> None:
        ids = ids.astype(np.int64).copy()
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(ids), self.dim).copy()
        self._delta_n = 0
        self._reserve(len(ids))
        self._delta_vecs[: len(ids)] = vectors
        self._delta_ids[: len(ids)] = ids
        self._delta_pos = {tid: i for i, tid in enumerate(ids.tolist())}
        self._delta_n = len(ids)

    def set_tombstones(self, ids: I64) -> None:
        with self._lock:
            self._tombstones = {int(t) for t in ids if self._in_graph(int(t))}

    # --- search --------------------------------------------------------------------------

    def search(self, query: F32, k: int) -> list[Hit]:
        """Top k by cosine over graph (minus tombstones) and delta, best first."""
        q = np.asarray(query, dtype=np.float32).reshape(self.dim)
        if k <= 0:
            return []
        with self._lock:
            found: dict[int, float] = {}
            if self._graph is not None:
                found.update(self._search_graph(self._graph, q, k))
            n = self._delta_n
            if n:
                scores = self._delta_vecs[:n] @ q
                top = np.argpartition(-scores, k - 1)[:k] if n > k else np.arange(n)
                for i in top.tolist():
                    found[int(self._delta_ids[i])] = float(scores[i])
        best = sorted(found.items(), key=lambda kv: -kv[1])[:k]
        return [Hit(tid, cos) for tid, cos in best]

    def _search_graph(self, graph: HnswGraph, q: F32, k: int) -> dict[int, float]:
        want = k + min(len(self._tombstones), 4 * k)
        while True:
            ids, cos = graph.knn(q, want)
            hits = {int(t): float(c) for t, c in zip(ids.tolist(), cos.tolist(), strict=True)
                    if t not in self._tombstones}
            if len(hits) >= k or want >= len(graph):
                return hits
            want = min(len(graph), want * 4)

    # --- helpers -------------------------------------------------------------------------

    def _in_graph(self, tid: int) -> bool:
        arr = self._graph_ids_sorted
        pos = int(np.searchsorted(arr, tid))
        return pos < len(arr) and int(arr[pos]) == tid

    def _reserve(self, n: int) -> None:
        cap = len(self._delta_ids)
        if n <= cap:
            return
        new_cap = max(n, 2 * cap)
        vecs = np.empty((new_cap, self.dim), dtype=np.float32)
        ids = np.empty(new_cap, dtype=np.int64)
        vecs[: self._delta_n] = self._delta_vecs[: self._delta_n]
        ids[: self._delta_n] = self._delta_ids[: self._delta_n]
        self._delta_vecs, self._delta_ids = vecs, ids
