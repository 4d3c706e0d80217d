"""Encrypted index snapshots: a corrupt or tampered one is rebuilt from the database, loudly."""

from __future__ import annotations

import json
import logging
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from store_helpers import small_config, unit_vectors

from storage.face_store import FaceStore
from storage.template_store import NewTemplate

VECS = unit_vectors(150, seed=21)


def _build(home: Path) -> Path:
    with FaceStore.open(small_config(home), home) as store:
        store.add_many([NewTemplate("enrolled", f"p{i}", None, v)
                        for i, v in enumerate(VECS[:120])])
        store.enroll("delta", VECS[140])
        store.forget("p9")
    snap = home / "index" / "faces-enrolled.snap"
    assert snap.exists()
    return snap


def _flip_ciphertext(snap: Path) -> None:
    data = bytearray(snap.read_bytes())
    data[len(data) // 2] ^= 0x01
    snap.write_bytes(bytes(data))


def _raise_count_in_header(snap: Path) -> None:
    data = snap.read_bytes()
    (hlen,) = struct.unpack(">I", data[8:12])
    header = json.loads(data[12:12 + hlen])
    header["count"] -= 1
    header["watermark"] -= 1
    new = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    snap.write_bytes(data[:8] + struct.pack(">I", len(new)) + new + data[12 + hlen:])


def _truncate(snap: Path) -> None:
    snap.write_bytes(snap.read_bytes()[:-100])


def _garbage(snap: Path) -> None:
    snap.write_bytes(b"\x00" * 5000)


@pytest.mark.parametrize("damage", [_flip_ciphertext, _raise_count_in_header, _truncate,
                                    _garbage], ids=lambda f: f.__name__.strip("_"))
def test_damaged_snapshot_is_rebuilt_with_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: Callable[[Path], None]) -> None:
    snap = _build(tmp_path)
    damage(snap)
    with caplog.at_level(logging.WARNING, logger="storage"):
        with FaceStore.open(small_config(tmp_path), tmp_path) as store:
            st = store.stats()
            assert st.index_start["enrolled"] == "rebuilt: snapshot corrupt"
            assert st.index["enrolled"].graph_size == 120  # 119 enrolled + "delta", p9 erased
            for i in (0, 50, 119):
                assert store.search(VECS[i], 1).enrolled[0].vendor_data == f"p{i}"
            assert store.search(VECS[140], 1).enrolled[0].vendor_data == "delta"
            assert store.search(VECS[9], 1).enrolled[0].vendor_data != "p9"
    assert any("corrupt or was tampered" in r.getMessage() for r in caplog.records)
    with FaceStore.open(small_config(tmp_path), tmp_path) as store:  # rewritten, valid again
        assert store.stats().index_start["enrolled"] == "snapshot"


def test_snapshot_of_another_deployment_is_refused(tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    snap_a = _build(a)
    _build(b)
    (b / "index" / "faces-enrolled.snap").write_bytes(snap_a.read_bytes())
    with caplog.at_level(logging.WARNING, logger="storage"):
        with FaceStore.open(small_config(b), b) as store:
            assert store.stats().index_start["enrolled"] == "rebuilt: snapshot corrupt"
            assert store.search(VECS[3], 1).enrolled[0].cosine == pytest.approx(1.0, abs=1e-5)
    assert any("tampered" in r.getMessage() for r in caplog.records)


def test_snapshot_round_trip_matches_fresh_graph(tmp_path: Path) -> None:
    _build(tmp_path)
    q = VECS[130]
    with FaceStore.open(small_config(tmp_path), tmp_path) as store:
        assert store.stats().index_start["enrolled"] == "snapshot"
        from_snapshot = [(m.vendor_data, round(m.cosine, 5)) for m in store.search(q, 10).enrolled]
        store.reindex()
        rebuilt = [(m.vendor_data, round(m.cosine, 5)) for m in store.search(q, 10).enrolled]
    exact = np.argsort(-(VECS[:120] @ q))
    assert from_snapshot[0][0] == rebuilt[0][0] == f"p{exact[0]}"
