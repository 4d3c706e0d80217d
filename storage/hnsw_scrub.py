"""Erase nodes from a serialised nmslib HNSW graph in place, so that a snapshot holds no trace
of an erased template's vector and no edge that leads to it.

nmslib cannot delete; the face index hides erased ids behind tombstones and a rebuild drops them
later. A snapshot written to disk must not keep an erased person's template until then (right to
erasure), and a rebuild per erasure costs minutes at scale. So the serialised graph (plaintext,
in a memory file) is edited before it is sealed again:

- the node's vector is zeroed and its own neighbour lists emptied at every level;
- a node that linked to it keeps its other links and fills its free slots with the erased
  node's surviving neighbours on that level, closest to itself first (the erased node's own
  links are what made its neighbourhood reachable: a late-inserted node often has no other way
  in);
- when it was the entry point, the surviving node of the highest level becomes the entry point;
- every surviving node must still be reachable on level 0 from the entry point: one that is
  not gets a link from its closest reachable node with a free slot (none free: unsupported, the
  caller deletes the snapshot and the next start rebuilds it).

The node keeps its slot (positions are the graph's ids), unreachable. Layout of nmslib 2.x's
optimized index ("cosinesimil", saveIndex(save_data=False)), read as observed and checked field
by field before anything is written: a 68-byte header, then `count` fixed-size records
[object header: id i32, label i32, length u64 | vector f32 x dim | level-0 links: count i32,
maxM0 x i32], then per node a u32 byte size and its upper-level lists [count, maxM x i32] per
level. Anything that does not check out raises ScrubUnsupported and the caller falls back to
deleting the snapshot (the next start rebuilds it from the database).
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

HEADER = 68
_OBJ_HEADER = 16
_FILLER = 0x01010101  # what nmslib leaves in unused link slots (memset 1)
_ROWS = 65536  # level-0 rows scanned at a time (bounded extra memory at a million nodes)


class ScrubUnsupported(Exception):
    """The serialised graph is not in the layout this module knows; nothing was changed."""


@dataclass
class _Layout:
    count: int
    per_object: int
    off_level0: int
    maxlevel: int
    enterpoint: int
    max_m: int
    max_m0: int
    dim: int
    levels: npt.NDArray[np.int64]  # level of each node
    upper: npt.NDArray[np.int64]  # index (in u32 units of the tail) of each node's first list


def _parse(mm: mmap.mmap, size: int, count: int, dim: int) -> _Layout:
    if size < HEADER:
        raise ScrubUnsupported("graph shorter than its header")
    flag, total = struct.unpack_from("<Ii", mm, 0)
    per_object, off_level0, off_data = struct.unpack_from("<QQQ", mm, 8)
    maxlevel, enterpoint = struct.unpack_from("<ii", mm, 32)
    max_m, max_m0 = struct.unpack_from("<QQ", mm, 40)
    if (flag, total, off_data) != (1, count, 0):
        raise ScrubUnsupported(f"unexpected header (flag {flag}, count {total}, data {off_data})")
    if off_level0 != _OBJ_HEADER + 4 * dim or per_object != off_level0 + 4 * (max_m0 + 1):
        raise ScrubUnsupported("unexpected record layout")
    if not (0 < max_m <= 4096 and 0 < max_m0 <= 8192 and 0 <= enterpoint < count):
        raise ScrubUnsupported("implausible graph parameters")
    tail = HEADER + count * per_object
    if tail > size or (size - tail) % 4:
        raise ScrubUnsupported("the graph size does not match its records")
    heads = np.ndarray((count, 4), dtype="<i4", buffer=mm, offset=HEADER,
                       strides=(per_object, 4))
    if not (np.array_equal(heads[:, 0], np.arange(count))
            and np.all(heads[:, 2] == 4 * dim) and np.all(heads[:, 3] == 0)):
        raise ScrubUnsupported("unexpected object headers")
    whole = memoryview(mm)
    words = whole[tail:size].cast("I")
    per_level = max_m + 1
    levels = np.zeros(count, dtype=np.int64)
    upper = np.zeros(count, dtype=np.int64)
    pos = 0
    n_words = len(words)
    try:
        for i in range(count):
            if pos >= n_words:
                raise ScrubUnsupported("upper-level lists end early")
            nbytes = words[pos]
            if nbytes % (4 * per_level):
                raise ScrubUnsupported("an upper-level list has an odd size")
            levels[i] = nbytes // (4 * per_level)
            upper[i] = pos + 1
            pos += 1 + nbytes // 4
    finally:
        words.release()
        whole.release()
    if pos != n_words:
        raise ScrubUnsupported("bytes after the upper-level lists")
    # Equal in a fresh graph; after an entry point was scrubbed the header's top level may be
    # lower than the link lists that the scrubbed node keeps.
    if int(levels[enterpoint]) < maxlevel or int(levels.max(initial=0)) < maxlevel:
        raise ScrubUnsupported("the entry point is not on the top level")
    return _Layout(count, per_object, off_level0, maxlevel, enterpoint, max_m, max_m0, dim,
                   levels, upper)


class _Graph:
    """Views into the mapped graph (level-0 links, vectors, upper-level lists)."""

    def __init__(self, mm: mmap.mmap, size: int, lay: _Layout) -> None:
        self.lay = lay
        self.l0 = np.ndarray((lay.count, lay.max_m0 + 1), dtype="<i4", buffer=mm,
                             offset=HEADER + lay.off_level0, strides=(lay.per_object, 4))
        self.vecs = np.ndarray((lay.count, lay.dim), dtype="<f4", buffer=mm,
                               offset=HEADER + _OBJ_HEADER, strides=(lay.per_object, 4))
        tail = HEADER + lay.count * lay.per_object
        self.tail = np.ndarray(((size - tail) // 4,), dtype="<i4", buffer=mm, offset=tail)

    def upper_list(self, node: int, level: int) -> npt.NDArray[np.int32]:
        """The [count, ids...] slots of `node` at `level` >= 1 (a writable view)."""
        start = int(self.lay.upper[node]) + (level - 1) * (self.lay.max_m + 1)
        return self.tail[start:start + self.lay.max_m + 1]

    def slots(self, node: int, level: int) -> npt.NDArray[np.int32]:
        return self.l0[node] if level == 0 else self.upper_list(node, level)

    def friends(self, node: int, level: int) -> list[int]:
        row = self.slots(node, level)
        n = int(row[0])
        limit = self.lay.max_m0 if level == 0 else self.lay.max_m
        if not 0 <= n <= limit:
            raise ScrubUnsupported(f"node {node} has {n} links at level {level}")
        out = [int(x) for x in row[1:1 + n]]
        if any(not 0 <= x < self.lay.count for x in out):
            raise ScrubUnsupported(f"node {node} links outside the graph")
        return out

    def set_friends(self, node: int, level: int, friends: list[int]) -> None:
        row = self.slots(node, level)
        old = int(row[0])
        row[0] = len(friends)
        row[1:1 + len(friends)] = friends
        row[1 + len(friends):1 + max(old, len(friends))] = _FILLER


def scrub_graph(fd: int, size: int, count: int, dim: int, positions: Iterable[int],
                scrubbed: Iterable[int] = ()) -> None:
    """Erase the nodes at `positions` from the serialised graph in memory file `fd`.

    scrubbed: positions erased by an earlier scrub (never chosen as the new entry point).
    """
    dead = sorted({int(p) for p in positions})
    if not dead:
        return
    earlier = {int(p) for p in scrubbed}
    if dead[0] < 0 or dead[-1] >= count or any(not 0 <= p < count for p in earlier):
        raise ScrubUnsupported("a position outside the graph")
    if size < HEADER:
        raise ScrubUnsupported("graph shorter than its header")
    try:
        mm = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    except (OSError, ValueError) as exc:
        raise ScrubUnsupported(f"cannot map the graph: {exc}") from None
    try:
        _scrub(mm, size, count, dim, dead, earlier)
    finally:
        try:
            mm.close()
        except BufferError:  # a view is still referenced by a traceback: the GC unmaps it
            pass


def _scrub(mm: mmap.mmap, size: int, count: int, dim: int, dead: list[int],
           earlier: set[int]) -> None:
    lay = _parse(mm, size, count, dim)
    g = _Graph(mm, size, lay)
    dead_set = set(dead)
    if len(dead_set | earlier) >= count:
        raise ScrubUnsupported("every node of the graph is erased")
    # 1. Each erased node's surviving neighbours per level: the candidates for its in-links.
    donors: dict[tuple[int, int], list[int]] = {}
    for node in dead:
        for level in range(int(lay.levels[node]) + 1):
            alive = [f for f in g.friends(node, level) if f not in dead_set]
            if alive:
                donors[(node, level)] = alive
    old_entry = np.array(g.vecs[lay.enterpoint], dtype=np.float32)
    # 2. Its own vector and lists go.
    for node in dead:
        g.vecs[node] = 0.0
        for level in range(int(lay.levels[node]) + 1):
            g.set_friends(node, level, [])
    # 3. Nodes that linked to it relink, level 0 in row blocks, then the upper levels.
    dead_arr = np.asarray(dead, dtype=np.int32)
    for start in range(0, count, _ROWS):
        block = g.l0[start:start + _ROWS]
        counts = block[:, 0]
        if np.any((counts < 0) | (counts > lay.max_m0)):
            raise ScrubUnsupported("a level-0 link count out of range")
        valid = np.arange(lay.max_m0)[None, :] < counts[:, None]
        hit = valid & np.isin(block[:, 1:], dead_arr)
        for row in np.flatnonzero(hit.any(axis=1)).tolist():
            _relink(g, start + row, 0, dead_set, donors)
    for level in range(1, lay.maxlevel + 1):
        for node in np.flatnonzero(lay.levels >= level).tolist():
            if node in dead_set:
                continue
            if dead_set.intersection(g.friends(node, level)):
                _relink(g, node, level, dead_set, donors)
    # 4. A new entry point when the old one is erased: a survivor of the highest level.
    entry = lay.enterpoint
    gone = dead_set | earlier
    if entry in dead_set:
        alive_levels = lay.levels.copy()
        alive_levels[sorted(gone)] = -1
        top = int(alive_levels.max())
        candidates = np.flatnonzero(alive_levels == top)
        # the one closest to the old entry point: searches start where they used to
        scores = np.asarray(g.vecs[candidates], dtype=np.float32) @ old_entry
        entry = int(candidates[int(np.argmax(scores))])
        struct.pack_into("<ii", mm, 32, top, entry)
    # 5. Every survivor reachable on level 0.
    _reconnect(g, lay, entry, gone)


def _relink(g: _Graph, node: int, level: int, dead: set[int],
            donors: dict[tuple[int, int], list[int]]) -> None:
    old = g.friends(node, level)
    kept = [f for f in dict.fromkeys(old) if f not in dead]
    offered = {c for f in old if f in dead for c in donors.get((f, level), ())}
    offered -= {node, *kept}
    room = (g.lay.max_m0 if level == 0 else g.lay.max_m) - len(kept)
    if offered and room > 0:
        pool = sorted(offered)
        scores = np.asarray(g.vecs[pool], dtype=np.float32) @ np.asarray(g.vecs[node],
                                                                        dtype=np.float32)
        kept += [pool[i] for i in np.argsort(-scores, kind="stable")[:room].tolist()]
    g.set_friends(node, level, kept)


def _reconnect(g: _Graph, lay: _Layout, entry: int, gone: set[int]) -> None:
    """Link every surviving node that level 0 no longer reaches from the entry point."""
    erased = np.zeros(lay.count, dtype=bool)
    erased[sorted(gone)] = True
    seen = erased.copy()  # an erased node is never visited, never linked to
    _flood(g, [entry], seen)
    for lost in np.flatnonzero(~seen).tolist():
        if seen[lost]:  # reached through one linked before it
            continue
        free = np.flatnonzero(seen & ~erased & (g.l0[:, 0] < lay.max_m0))
        if not len(free):
            raise ScrubUnsupported("no reachable node has room for a link")
        scores = np.asarray(g.vecs[free], dtype=np.float32) @ np.asarray(g.vecs[lost],
                                                                        dtype=np.float32)
        host = int(free[int(np.argmax(scores))])
        g.set_friends(host, 0, [*g.friends(host, 0), lost])
        _flood(g, [lost], seen)


def _flood(g: _Graph, start: list[int], seen: npt.NDArray[np.bool_]) -> None:
    """Mark everything level 0 reaches from `start` (breadth first, a frontier at a time)."""
    frontier = np.asarray([n for n in start if not seen[n]], dtype=np.int64)
    seen[frontier] = True
    slots = np.arange(g.lay.max_m0)[None, :]
    while len(frontier):
        rows = g.l0[frontier]
        links = rows[:, 1:][slots < rows[:, :1]]
        if np.any((links < 0) | (links >= g.lay.count)):
            raise ScrubUnsupported("a level-0 link outside the graph")
        frontier = np.unique(links[~seen[links]]).astype(np.int64)
        seen[frontier] = True


__all__ = ["ScrubUnsupported", "scrub_graph"]
