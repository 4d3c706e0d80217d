"""Scrubbing erased nodes out of a serialised nmslib graph (storage.hnsw_scrub), repeatedly.

Every scrub leaves a graph that nmslib loads and searches: each surviving vector is still its
own nearest neighbour, no erased position is ever returned and its vector is gone, also after
the entry point was erased again and again (the top level empties, the entry point moves down).
"""

from __future__ import annotations

import struct

import numpy as np
import numpy.typing as npt
import pytest

from storage.hnsw_graph import GraphParams, HnswGraph
from storage.hnsw_scrub import ScrubUnsupported, scrub_graph
from storage.memfile import file_size, memory_file, read_all

DIM = 192
PARAMS = GraphParams(m=8, ef_construction=64, ef_search=64)


def _vectors(n: int, seed: int) -> npt.NDArray[np.float32]:
    x = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _entry(fd: int) -> tuple[int, int]:
    level, entry = struct.unpack_from("<ii", read_all(fd), 32)
    return level, entry


def _check(graph: HnswGraph, x: npt.NDArray[np.float32], dead: set[int], plain: bytes) -> None:
    for i in range(len(x)):
        pos, _ = graph.knn(x[i], 5)
        assert not dead.intersection(pos.tolist())
        if i not in dead:
            assert int(pos[0]) == i
    for d in dead:
        assert x[d].tobytes()[:64] not in plain


def test_scrubbing_the_entry_point_again_and_again() -> None:
    n = 600
    x = _vectors(n, 3)
    ids = np.arange(n, dtype=np.int64)
    dead: set[int] = set()
    levels_seen = []
    with memory_file("test-scrub") as (fd, path):
        HnswGraph.build(ids, x, PARAMS, 1, fd, path)
        for _ in range(12):
            level, entry = _entry(fd)
            levels_seen.append(level)
            scrub_graph(fd, file_size(fd), n, DIM, [entry], scrubbed=sorted(dead))
            dead.add(entry)
            _check(HnswGraph.load(fd, path, ids, PARAMS), x, dead, read_all(fd))
    assert levels_seen[0] > levels_seen[-1]  # the top level emptied on the way


def test_every_survivor_stays_findable_in_graphs_built_on_two_threads() -> None:
    """A two-thread build leaves late-inserted nodes with few ways in, often only through the
    hubs that became entry points: erasing those must not cut them off (a person not found is
    a duplicate registration let through)."""
    n = 200
    ids = np.arange(n, dtype=np.int64)
    params = GraphParams(m=16, ef_construction=100, ef_search=128)
    for seed in range(12):
        x = _vectors(n, 100 + seed)
        dead: set[int] = set()
        with memory_file("test-scrub") as (fd, path):
            HnswGraph.build(ids, x, params, 2, fd, path)
            for _ in range(12):
                _, entry = _entry(fd)
                scrub_graph(fd, file_size(fd), n, DIM, [entry], scrubbed=sorted(dead))
                dead.add(entry)
            _check(HnswGraph.load(fd, path, ids, params), x, dead, read_all(fd))


def test_scrubbing_many_at_once_then_more() -> None:
    n = 800
    x = _vectors(n, 4)
    ids = np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(5)
    with memory_file("test-scrub") as (fd, path):
        HnswGraph.build(ids, x, PARAMS, 1, fd, path)
        first = {int(i) for i in rng.choice(n, 200, replace=False)}
        scrub_graph(fd, file_size(fd), n, DIM, sorted(first))
        second = {int(i) for i in rng.choice(n, 200, replace=False)} - first
        scrub_graph(fd, file_size(fd), n, DIM, sorted(second), scrubbed=sorted(first))
        _check(HnswGraph.load(fd, path, ids, PARAMS), x, first | second, read_all(fd))


def test_an_unknown_layout_changes_nothing() -> None:
    n = 100
    x = _vectors(n, 6)
    ids = np.arange(n, dtype=np.int64)
    with memory_file("test-scrub") as (fd, path):
        HnswGraph.build(ids, x, PARAMS, 1, fd, path)
        before = read_all(fd)
        with pytest.raises(ScrubUnsupported):
            scrub_graph(fd, file_size(fd), n + 1, DIM, [3])  # count does not match
        with pytest.raises(ScrubUnsupported):
            scrub_graph(fd, file_size(fd), n, DIM + 4, [3])  # another dimension
        with pytest.raises(ScrubUnsupported):
            scrub_graph(fd, 40, n, DIM, [3])  # shorter than a header
        assert read_all(fd) == before
    with memory_file("test-empty") as (fd, _):
        with pytest.raises(ScrubUnsupported):
            scrub_graph(fd, 4096, n, DIM, [3])  # cannot be mapped: the file is empty
