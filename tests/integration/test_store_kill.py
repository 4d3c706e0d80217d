"""kill -9 in the middle of an index rebuild and of a key rotation: nothing is lost.

The child process pauses at a named fault point (POH_FAULT_PAUSE) and is killed there.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from store_helpers import run_until_paused, small_config, unit_vectors

from storage.face_store import FaceStore
from storage.template_store import NewTemplate

N = 1500
VECS = unit_vectors(N + 100, seed=41)


def _populate(home: Path, n: int) -> None:
    with FaceStore.open(small_config(home), home) as store:
        store.add_many([NewTemplate("enrolled", f"p{i}", None, v)
                        for i, v in enumerate(VECS[:n])])


def _all_found(store: FaceStore, ids: range) -> None:
    for i in ids:
        top = store.search(VECS[i], 1).enrolled[0]
        assert (top.vendor_data, round(top.cosine, 4)) == (f"p{i}", 1.0)


REBUILD_CHILD = """
from pathlib import Path
from store_helpers import small_config, unit_vectors
from storage.face_store import FaceStore
home = Path("{home}")
vecs = unit_vectors({n} + 100, seed=41)
with FaceStore.open(small_config(home), home) as store:
    for i in range(300, 340):
        store.enroll(f"p{{i}}", vecs[i])
    store.reindex()
"""


@pytest.mark.parametrize("point", ["rebuild-built", "snapshot-write"])
def test_kill_during_rebuild(tmp_path: Path, point: str) -> None:
    home = tmp_path / "home"
    _populate(home, 300)
    run_until_paused(REBUILD_CHILD.format(home=home, n=N), point, tmp_path)
    with FaceStore.open(small_config(home), home) as store:
        st = store.stats()
        assert st.templates["enrolled"] == 340
        assert st.index_start["enrolled"] == "snapshot"  # the old one, intact
        assert (st.index["enrolled"].graph_size, st.index["enrolled"].delta_size) == (300, 40)
        _all_found(store, range(0, 340, 3))
    assert [p.name for p in (home / "index").iterdir()] == ["faces-enrolled.snap"]


ROTATE_CHILD = """
from pathlib import Path
from storage.face_store import FaceStore
from store_helpers import small_config
home = Path("{home}")
with FaceStore.open(small_config(home), home) as store:
    store.rotate_keys()
"""


def test_kill_during_key_rotation(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _populate(home, N)
    with FaceStore.open(small_config(home), home) as store:
        before = store.protect(VECS[0])
    run_until_paused(ROTATE_CHILD.format(home=home), "rotate-midway", tmp_path)
    with FaceStore.open(small_config(home), home) as store:
        assert store.key_generation == 1
        assert store.stats().templates["enrolled"] == N
        assert (store.protect(VECS[0]) == before).all()
        _all_found(store, range(0, N, 61))
        store.reindex()  # reads every template: all of generation 1
        assert store.rotate_keys() == 2
        _all_found(store, range(0, N, 61))
