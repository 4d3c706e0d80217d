"""The hub's fleet index: every booth's protected template, searchable 1:N.

The booths' own index code (storage.face_index: an HNSW graph over the bulk, an exact numpy
delta for what arrived since, tombstones for erasures), keyed by the fleet sequence number of
each template's addition. The templates are protected under the fleet rotation, which every
booth of the fleet shares, so the hub compares them as they are and never sees a raw one.
The index lives in memory only; at start the hub reads the (sealed) templates from its
database and builds the graph once the fleet holds `min_graph_size` of them.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import numpy.typing as npt

from storage.config import IndexConfig
from storage.face_index import FaceIndex, Hit
from storage.hnsw_graph import GraphParams, HnswGraph
from storage.memfile import memory_file
from storage.protection import DIM

log = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]


class FleetIndex:
    def __init__(self, cfg: IndexConfig | None = None, dim: int = DIM) -> None:
        self.cfg = cfg or IndexConfig()
        self.dim = dim
        self._index = FaceIndex(dim)
        self.build_seconds = 0.0

    def load(self, ids: I64, vectors: F32) -> None:
        """Start-up: everything stored at the hub; a graph when there are enough."""
        if len(ids) >= max(1, self.cfg.min_graph_size):
            self._build(ids, vectors)
        elif len(ids):
            self._index.add(ids, vectors)

    def _build(self, ids: I64, vectors: F32) -> None:
        started = time.perf_counter()
        self._index.begin_build()
        with memory_file("poh-fleet-index") as (fd, path):
            graph = HnswGraph.build(ids, vectors, GraphParams.from_config(self.cfg),
                                    self.cfg.build_threads, fd, path)
        self._index.swap(graph, int(ids.max()))
        self.build_seconds = time.perf_counter() - started
        log.info("fleet index: graph of %d templates built in %.1f s", len(ids),
                 self.build_seconds)

    def add(self, index_id: int, vector: F32) -> None:
        self._index.add(np.array([index_id], dtype=np.int64),
                        np.asarray(vector, dtype=np.float32).reshape(1, self.dim))

    def remove(self, index_ids: list[int]) -> None:
        self._index.remove(index_ids)

    def search(self, vector: F32, k: int) -> list[Hit]:
        return self._index.search(np.asarray(vector, dtype=np.float32), k)

    def __len__(self) -> int:
        return len(self._index)
