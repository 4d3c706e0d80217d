"""Disk full while writing: the database write rolls back whole, the old snapshot survives."""

from __future__ import annotations

from pathlib import Path

import pytest
from store_helpers import run_child, small_config, unit_vectors

from storage.errors import StorageFullError
from storage.face_store import FaceStore
from storage.template_store import NewTemplate

VECS = unit_vectors(700, seed=31)


def test_database_full_leaves_no_partial_enrollment(tmp_path: Path) -> None:
    cfg = small_config(tmp_path)
    with FaceStore.open(cfg, tmp_path) as store:
        store.add_many([NewTemplate("enrolled", f"p{i}", None, v)
                        for i, v in enumerate(VECS[:100])])
        with store.db.read() as conn:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {pages + 2}")
        batch = [NewTemplate("enrolled", f"q{i}", None, VECS[i]) for i in range(100, 600)]
        with pytest.raises(StorageFullError, match="full"):
            store.add_many(batch)
        st = store.stats()
        assert st.templates["enrolled"] == 100
        assert st.index["enrolled"].delta_size == 0
        assert store.search(VECS[300], 1).enrolled[0].vendor_data != "q300"
        with store.db.read() as conn:
            conn.execute("PRAGMA max_page_count = 1073741823")
        store.add_many(batch[:10])  # room again: the store still works
    with FaceStore.open(cfg, tmp_path) as store:
        assert store.stats().templates["enrolled"] == 110
        assert store.search(VECS[105], 1).enrolled[0].vendor_data == "q105"


# The file-size limit is set just before the snapshot file is written (the graph's memory
# file counts against RLIMIT_FSIZE too); the write itself then fails for real with EFBIG.
CHILD = """
import resource
from pathlib import Path
from store_helpers import small_config, unit_vectors
from storage import index_manager
from storage.errors import StorageFullError
from storage.face_store import FaceStore
home = Path("{home}")
vecs = unit_vectors(700, seed=31)
real_write = index_manager._write_snapshot
def limited_write(*args, **kwargs):
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))
    return real_write(*args, **kwargs)
index_manager._write_snapshot = limited_write
with FaceStore.open(small_config(home), home) as store:
    for i in range(100, 150):
        store.enroll(f"late{{i}}", vecs[i])
    try:
        store.reindex()
    except StorageFullError as exc:
        print("FULL", exc)
"""


def test_snapshot_write_on_full_disk_keeps_the_old_snapshot(tmp_path: Path) -> None:
    cfg = small_config(tmp_path)
    with FaceStore.open(cfg, tmp_path) as store:
        store.add_many([NewTemplate("enrolled", f"p{i}", None, v)
                        for i, v in enumerate(VECS[:100])])
    snap = tmp_path / "index" / "faces-enrolled.snap"
    before = snap.read_bytes()
    assert len(before) > 4096
    proc = run_child(CHILD.format(home=tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("FULL disk full while writing the index snapshot")
    assert snap.read_bytes() == before
    assert list(snap.parent.iterdir()) == [snap]  # no partial temp file
    with FaceStore.open(cfg, tmp_path) as store:
        st = store.stats()
        assert st.index_start["enrolled"] == "snapshot"
        assert (st.index["enrolled"].graph_size, st.index["enrolled"].delta_size) == (100, 50)
        assert store.search(VECS[120], 1).enrolled[0].vendor_data == "late120"
