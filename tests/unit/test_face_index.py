"""FaceIndex bookkeeping: delta, tombstones and the swap of a graph built concurrently."""

from __future__ import annotations

import numpy as np

from storage.face_index import FaceIndex
from storage.hnsw_graph import GraphParams, HnswGraph
from storage.memfile import memory_file

DIM = 192


def _vecs(n: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _graph(ids: np.ndarray, vecs: np.ndarray) -> HnswGraph:
    with memory_file("test") as (fd, path):
        return HnswGraph.build(ids, vecs, GraphParams(16, 100, 100), 1, fd, path)


def _top(index: FaceIndex, v: np.ndarray) -> int | None:
    hits = index.search(v, 1)
    return hits[0].template_id if hits else None


VECS = _vecs(400, seed=1)
IDS = np.arange(1, 401, dtype=np.int64)


def test_erasure_during_a_build_stays_hidden_after_the_swap() -> None:
    index = FaceIndex(DIM)
    index.add(IDS[:300], VECS[:300])  # all in the delta (exact)
    index.begin_build()  # the build reads ids 1..300 (watermark 300)
    graph = _graph(IDS[:300], VECS[:300])
    index.remove([42])  # erased while the build ran: still inside the new graph
    index.add(IDS[300:310], VECS[300:310])  # enrolled while the build ran
    index.swap(graph, watermark=300)
    assert _top(index, VECS[41]) != 42
    assert index.stats().tombstones == 1
    assert _top(index, VECS[305]) == 306  # the delta kept what came after the watermark
    assert _top(index, VECS[10]) == 11
    assert (index.stats().graph_size, index.stats().delta_size) == (300, 10)


def test_late_add_of_an_id_below_the_watermark_is_not_duplicated() -> None:
    index = FaceIndex(DIM)
    index.swap(_graph(IDS[:100], VECS[:100]), watermark=100)
    index.add(IDS[99:101], VECS[99:101])  # 100 is in the graph already, 101 is new
    assert index.stats().delta_size == 1
    assert [h.template_id for h in index.search(VECS[99], 2)][0] == 100


def test_exact_swap_drops_erased_and_keeps_newer() -> None:
    index = FaceIndex(DIM)
    index.begin_build()
    index.remove([5])
    index.add(IDS[50:52], VECS[50:52])
    index.swap_exact(IDS[:50], VECS[:50], watermark=50)
    assert len(index) == 51
    assert _top(index, VECS[4]) != 5
    assert _top(index, VECS[51]) == 52


def test_tombstones_inside_the_top_k_are_skipped() -> None:
    index = FaceIndex(DIM)
    index.swap(_graph(IDS, VECS), watermark=400)
    near = [h.template_id for h in index.search(VECS[0], 10)]
    index.remove(near[:8])
    got = [h.template_id for h in index.search(VECS[0], 5)]
    assert len(got) == 5 and not set(got) & set(near[:8])
