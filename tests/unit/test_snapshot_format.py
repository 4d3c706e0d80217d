"""The encrypted snapshot format: multi-chunk round trip, and every kind of tampering refused."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest

from storage.errors import SnapshotError
from storage.memfile import memory_file, read_all
from storage.snapshot import SnapshotMeta, read_snapshot, write_snapshot

KEY = bytes(range(32))
CHUNK = 4096
TAG = 16


def _write(path: Path, graph: bytes, ids: np.ndarray, key: bytes = KEY) -> SnapshotMeta:
    meta = SnapshotMeta(kind="enrolled", key_generation=3, count=len(ids), watermark=99,
                        dim=192, graph_bytes=len(graph), params={"m": 16, "ef_construction": 100})
    with memory_file("test-graph") as (fd, _):
        os.write(fd, graph)
        write_snapshot(path, key, meta, ids, fd, chunk=CHUNK)
    return meta


def _read(path: Path, key: bytes = KEY) -> tuple[SnapshotMeta, np.ndarray, bytes]:
    with memory_file("test-read") as (fd, _):
        meta, ids = read_snapshot(path, key, fd)
        return meta, ids, read_all(fd)


def _body_start(data: bytes) -> int:
    (hlen,) = struct.unpack(">I", data[8:12])
    return 12 + hlen


@pytest.fixture
def snap(tmp_path: Path) -> tuple[Path, bytes, np.ndarray]:
    graph = os.urandom(5 * CHUNK + 123)  # several chunks plus a partial one
    ids = np.arange(1, 301, dtype=np.int64) * 7
    path = tmp_path / "faces.snap"
    _write(path, graph, ids)
    return path, graph, ids


def test_round_trip_over_many_chunks(snap: tuple[Path, bytes, np.ndarray]) -> None:
    path, graph, ids = snap
    meta, got_ids, got_graph = _read(path)
    assert (meta.key_generation, meta.watermark, meta.count) == (3, 99, 300)
    assert np.array_equal(got_ids, ids) and got_graph == graph
    assert graph[:64] not in path.read_bytes()  # encrypted at rest
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_empty_graph_round_trip(tmp_path: Path) -> None:
    _write(tmp_path / "s", b"", np.empty(0, dtype=np.int64))
    meta, ids, graph = _read(tmp_path / "s")
    assert (meta.count, len(ids), graph) == (0, 0, b"")


def _swap_two_chunks(data: bytes) -> bytes:
    start = _body_start(data)
    size = CHUNK + TAG
    a, b = data[start:start + size], data[start + size:start + 2 * size]
    return data[:start] + b + a + data[start + 2 * size:]


def _drop_last_chunk(data: bytes) -> bytes:
    body = len(data) - _body_start(data)
    last = body % (CHUNK + TAG) or CHUNK + TAG
    return data[:-last]


def _append_chunk(data: bytes) -> bytes:
    return data + os.urandom(CHUNK + TAG)


def _flip_bit(data: bytes) -> bytes:
    out = bytearray(data)
    out[_body_start(data) + 3 * CHUNK + 5] ^= 0x10
    return bytes(out)


def _edit_header(data: bytes) -> bytes:
    return data.replace(b'"key_generation":3', b'"key_generation":4', 1)


@pytest.mark.parametrize("damage", [_swap_two_chunks, _drop_last_chunk, _append_chunk,
                                    _flip_bit, _edit_header], ids=lambda f: f.__name__)
def test_tampering_is_detected(snap: tuple[Path, bytes, np.ndarray], damage) -> None:  # type: ignore[no-untyped-def]
    path = snap[0]
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(SnapshotError):
        _read(path)


def test_wrong_key_is_detected(snap: tuple[Path, bytes, np.ndarray]) -> None:
    with pytest.raises(SnapshotError, match="authentication"):
        _read(snap[0], key=bytes(32))
