"""Right to erasure reaches the disk: when `forget` returns, no encrypted index snapshot holds the
person's template or template id, whichever process wrote the snapshot and whenever.

Each test decrypts every snapshot on disk with the real key and looks for the erased template
without assuming nmslib's layout: any 192 consecutive float32 values (at any 4-byte offset of the
plaintext) with cosine >= 0.999 to it count as "still there".
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from store_helpers import run_until_paused, small_config, unit_vectors

from storage import hnsw_scrub, index_manager
from storage.database import Database
from storage.face_store import FaceStore
from storage.keys import derive_key, load_db_key
from storage.memfile import memory_file, read_all
from storage.snapshot import read_meta, read_snapshot
from storage.template_store import NewTemplate

VECS = unit_vectors(400, seed=91)
N = 200


def _populate(home: Path, n: int = N, blocklist: int = 0) -> None:
    with FaceStore.open(small_config(home), home) as store:
        store.add_many([NewTemplate("enrolled", f"p{i}", None, v)
                        for i, v in enumerate(VECS[:n])])
        if blocklist:
            store.add_many([NewTemplate("blocklist", f"b{i}", "fraud", VECS[i])
                            for i in range(300, 300 + blocklist)])


def _key(home: Path) -> bytes:
    paths = small_config(home).paths(home)
    return derive_key(load_db_key(paths.key_file, True), "index-snapshot")


def _stored(home: Path, vendor_data: str) -> list[tuple[int, npt.NDArray[np.float32]]]:
    """(id, protected template) of a person, straight from the database."""
    paths = small_config(home).paths(home)
    db = Database(paths.db, load_db_key(paths.key_file, True))
    try:
        with db.read() as conn:
            rows = conn.execute("SELECT id, template FROM templates WHERE vendor_data = ?",
                                (vendor_data,)).fetchall()
    finally:
        db.close()
    return [(int(r[0]), np.frombuffer(bytes(r[1]), dtype="<f4").copy()) for r in rows]


def _decrypted(home: Path) -> Iterator[tuple[Path, npt.NDArray[np.int64], bytes]]:
    """(path, ids, graph plaintext) of every snapshot (and partial snapshot) on disk."""
    key = _key(home)
    for path in sorted((home / "index").glob("*")):
        if path.is_dir():
            continue
        with memory_file("test-snapshot") as (fd, _):
            _, ids = read_snapshot(path, key, fd)
            yield path, ids, read_all(fd)


def _holds(plain: bytes, template: npt.NDArray[np.float32]) -> bool:
    raw = np.frombuffer(plain[: len(plain) // 4 * 4], dtype="<u4")
    # graph bytes read as floats hold NaN patterns; a signalling NaN raises the invalid flag in
    # the float32 -> float64 cast, so zero every NaN and infinity (exponent all ones) first
    finite = (raw & 0x7F800000) != 0x7F800000
    floats = np.where(finite, raw, 0).astype("<u4").view("<f4").astype(np.float64)
    windows = np.lib.stride_tricks.sliding_window_view(floats, template.shape[0])
    dots = windows @ template.astype(np.float64)
    norms = np.sqrt(np.maximum(
        np.convolve(floats * floats, np.ones(template.shape[0]), mode="valid"), 1e-30))
    return bool(np.any(dots / norms >= 0.999))


def _assert_erased(home: Path, gone: list[tuple[int, npt.NDArray[np.float32]]]) -> int:
    """No snapshot holds any of `gone`; returns how many snapshots were checked."""
    checked = 0
    for path, ids, plain in _decrypted(home):
        checked += 1
        for tid, template in gone:
            assert tid not in ids.tolist(), f"{path.name} still names template {tid}"
            assert not _holds(plain, template), f"{path.name} still holds template {tid}"
    return checked


def _assert_present(home: Path, present: list[tuple[int, npt.NDArray[np.float32]]]) -> None:
    """The check above can see a template: the same test on one that was not erased."""
    found = [any(tid in ids.tolist() and _holds(plain, t) for _, ids, plain in _decrypted(home))
             for tid, t in present]
    assert all(found)


def _all_found(store: FaceStore, people: range, erased: set[int]) -> None:
    for i in people:
        top = store.search(VECS[i], 1).enrolled[0]
        if i in erased:
            assert top.vendor_data != f"p{i}"
        else:
            assert (top.vendor_data, round(top.cosine, 4)) == (f"p{i}", 1.0)


def test_forget_scrubs_the_snapshot_before_it_returns(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _populate(home)
    gone = _stored(home, "p9") + _stored(home, "p150")
    _assert_present(home, gone + _stored(home, "p10"))
    with FaceStore.open(small_config(home), home) as store:
        assert store.forget("p9").templates == 1
        assert store.forget("p150").templates == 1
        assert _assert_erased(home, gone) == 1
        _all_found(store, range(0, N, 7), {9, 150})
    _assert_present(home, _stored(home, "p10"))
    with FaceStore.open(small_config(home), home) as store:
        st = store.stats()
        assert st.index_start["enrolled"] == "snapshot"  # scrubbed, not deleted
        assert st.index["enrolled"].graph_size == N and st.index["enrolled"].tombstones == 2
        _all_found(store, range(N), {9, 150})


def test_forget_removes_blocklist_entries_from_their_snapshot(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _populate(home, n=60, blocklist=60)
    gone = _stored(home, "b310")
    _assert_present(home, gone)
    with FaceStore.open(small_config(home), home) as store:
        assert store.forget("b310").templates == 1
    assert _assert_erased(home, gone) == 2
    with FaceStore.open(small_config(home), home) as store:
        assert store.search(VECS[311], 1).blocklist[0].vendor_data == "b311"
        assert store.search(VECS[310], 1).blocklist[0].vendor_data != "b310"


def _entry_point(home: Path) -> tuple[str, int]:
    """The person whose node is the graph's entry point, and the graph's top level (nmslib
    2.x header: int32 top level at 32, int32 entry point at 36)."""
    ((_, ids, plain),) = list(_decrypted(home))
    level, entry = struct.unpack_from("<ii", plain, 32)
    tid = int(ids[entry])
    return f"p{tid - 1}", level  # ids 1..N were given to p0..p{N-1} in order


def _entry_point_person(home: Path) -> str:
    return _entry_point(home)[0]


def test_erasing_the_entry_point_and_many_others_keeps_the_rest_searchable(
        tmp_path: Path) -> None:
    home = tmp_path / "home"
    _populate(home)
    victim = _entry_point_person(home)
    others = [f"p{i}" for i in range(3, N, 4)]
    names = sorted({victim, *others})
    gone = [t for name in names for t in _stored(home, name)]
    with FaceStore.open(small_config(home), home) as store:
        for name in names:
            store.forget(name)
    _assert_erased(home, gone)
    erased = {int(name[1:]) for name in names}
    with FaceStore.open(small_config(home), home) as store:
        assert store.stats().index_start["enrolled"] == "snapshot"
        _all_found(store, range(N), erased)


def test_erasing_the_entry_point_again_and_again(tmp_path: Path) -> None:
    """The top level empties and the entry point moves down; the snapshot stays scrubbed
    (not deleted for want of a layout it no longer recognises)."""
    home = tmp_path / "home"
    _populate(home)
    names: list[str] = []
    levels: list[int] = []
    with FaceStore.open(small_config(home), home) as store:
        while len(set(levels)) < 2 or len(names) < 3:  # until the top level has emptied
            assert len(names) < 40, f"entry point stuck at {names[-3:]} (level {levels[-1]})"
            name, level = _entry_point(home)
            assert name not in names, f"an erased node ({name}) became the entry point"
            names.append(name)
            levels.append(level)
            store.forget(name)
            assert (home / "index" / "faces-enrolled.snap").exists()
    gone = {int(name[1:]) for name in names}
    with FaceStore.open(small_config(home), home) as store:
        assert store.stats().index_start["enrolled"] == "snapshot"
        _all_found(store, range(N), gone)


def test_a_snapshot_that_cannot_be_scrubbed_is_deleted(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    _populate(home)

    def unsupported(*args: object, **kwargs: object) -> None:
        raise hnsw_scrub.ScrubUnsupported("test: another nmslib layout")

    with monkeypatch.context() as patch:
        patch.setattr(index_manager, "scrub_graph", unsupported)
        with FaceStore.open(small_config(home), home) as store:
            store.forget("p4")
            assert not (home / "index" / "faces-enrolled.snap").exists()
            _all_found(store, range(0, N, 9), {4})
    with FaceStore.open(small_config(home), home) as store:
        assert store.stats().index_start["enrolled"] == "built: no snapshot"
        _all_found(store, range(N), {4})


FORGET_CHILD = """
from pathlib import Path
from store_helpers import small_config
from storage.face_store import FaceStore
home = Path("{home}")
with FaceStore.open(small_config(home), home) as store:
    store.forget("p9")
"""


def test_crash_between_commit_and_scrub_is_finished_at_the_next_open(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _populate(home)
    gone = _stored(home, "p9")
    run_until_paused(FORGET_CHILD.format(home=home), "forget-committed", tmp_path)
    assert _stored(home, "p9") == []  # committed
    _assert_present(home, gone)  # the crash window: still in the snapshot
    with FaceStore.open(small_config(home), home) as store:
        _assert_erased(home, gone)
        _all_found(store, range(0, N, 5), {9})


@contextmanager
def _at_rebuild_built(monkeypatch: pytest.MonkeyPatch, action: Callable[[], None]
                      ) -> Iterator[None]:
    """Run `action` once, when a rebuild has read the database and built its graph."""
    done = []

    def hook(name: str) -> None:
        if name == "rebuild-built" and not done:
            done.append(name)
            action()

    monkeypatch.setattr(index_manager, "fault_point", hook)
    yield
    assert done, "no rebuild reached the hook"


def test_a_rebuild_that_read_before_an_erasure_does_not_write_it_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    _populate(home)
    with FaceStore.open(small_config(home), home) as kiosk:
        kiosk.enroll("late", VECS[350])
        gone = _stored(home, "p20") + _stored(home, "late")

        def forget_elsewhere() -> None:
            with FaceStore.open(small_config(home), home) as operator:
                operator.forget("p20")
                operator.forget("late")

        with _at_rebuild_built(monkeypatch, forget_elsewhere):
            kiosk.reindex()  # read p20 and late before the erasures, writes after them
        _assert_erased(home, gone)
    with FaceStore.open(small_config(home), home) as store:
        assert store.stats().index["enrolled"].graph_size == N + 1
        _all_found(store, range(0, N, 3), {20})


def test_forget_while_a_rotation_rebuilds(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    _populate(home)
    with FaceStore.open(small_config(home), home) as rotator:
        def forget_elsewhere() -> None:
            with FaceStore.open(small_config(home), home) as kiosk:
                kiosk.forget("p33")

        with _at_rebuild_built(monkeypatch, forget_elsewhere):
            assert rotator.rotate_keys() == 2
        gone = [(1 + 33, rotator.protect(VECS[33]))]  # as generation 2 would store it
        assert _assert_erased(home, gone) == 1
        assert read_meta(home / "index" / "faces-enrolled.snap")[0].key_generation == 2
    with FaceStore.open(small_config(home), home) as store:
        _all_found(store, range(0, N, 4), {33})


def test_a_stale_process_does_not_write_a_retired_generation_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    _populate(home)
    snap = home / "index" / "faces-enrolled.snap"
    with FaceStore.open(small_config(home), home) as kiosk:
        retired = [(i + 1, kiosk.protect(VECS[i])) for i in range(0, N, 17)]

        def rotate_elsewhere() -> None:
            with FaceStore.open(small_config(home), home) as operator:
                operator.rotate_keys()

        with _at_rebuild_built(monkeypatch, rotate_elsewhere):
            kiosk.reindex()  # built from generation 1, finishes after the rotation
        assert read_meta(snap)[0].key_generation == 2
        for _, _, plain in _decrypted(home):
            assert not any(_holds(plain, t) for _, t in retired)
    with FaceStore.open(small_config(home), home) as store:
        assert store.stats().index_start["enrolled"] == "snapshot"
        _all_found(store, range(0, N, 6), set())


SNAPSHOT_WRITE_CHILD = """
from pathlib import Path
from store_helpers import small_config
from storage.face_store import FaceStore
home = Path("{home}")
with FaceStore.open(small_config(home), home) as store:
    store.reindex()
"""


def test_forget_in_a_long_running_process_removes_partial_snapshots(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _populate(home)
    with FaceStore.open(small_config(home), home, background_rebuild=True) as kiosk:
        run_until_paused(SNAPSHOT_WRITE_CHILD.format(home=home), "snapshot-write", tmp_path)
        assert len(list((home / "index").glob(".*.tmp-*"))) == 1
        kiosk.forget("p2")
        assert sorted(p.name for p in (home / "index").iterdir()) == ["faces-enrolled.snap"]
