"""Template store on a real SQLCipher file: enroll, search, erase, snapshots, protection."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import numpy as np
import pytest
from store_helpers import small_config, unit_vectors

import storage
from storage.face_store import FaceStore
from storage.template_store import NewTemplate


def _enroll(store: FaceStore, vecs: np.ndarray, prefix: str = "p") -> np.ndarray:
    return store.add_many([NewTemplate("enrolled", f"{prefix}{i}", None, v)
                           for i, v in enumerate(vecs)])


def test_enrolled_is_searchable_at_once_and_erased_is_hidden_at_once(tmp_path: Path) -> None:
    vecs = unit_vectors(300, seed=1)
    with FaceStore.open(small_config(tmp_path), tmp_path) as store:
        _enroll(store, vecs[:200])  # 200 >= min_graph_size: an HNSW graph is built
        assert store.stats().index["enrolled"].graph_size == 200
        store.enroll("late", vecs[250])  # delta (exact search)
        assert store.search(vecs[250], 1).enrolled[0].vendor_data == "late"
        assert store.search(vecs[17], 1).enrolled[0].vendor_data == "p17"
        store.forget("p17")  # inside the graph: a tombstone hides it
        store.forget("late")  # in the delta: removed
        assert "p17" not in {m.vendor_data for m in store.search(vecs[17], 5).enrolled}
        assert "late" not in {m.vendor_data for m in store.search(vecs[250], 5).enrolled}


def test_cosine_is_preserved_by_the_rotation(tmp_path: Path) -> None:
    vecs = unit_vectors(60, seed=2)
    q = vecs[0] * 0.8 + vecs[1] * 0.6
    q /= np.linalg.norm(q)
    with FaceStore.open(small_config(tmp_path), tmp_path) as store:
        _enroll(store, vecs)
        hits = store.search(q, 3).enrolled
    exact = vecs @ q
    for h in hits:
        i = int(h.vendor_data[1:])  # type: ignore[index]
        assert h.cosine == pytest.approx(float(exact[i]), abs=1e-4)
    assert [h.vendor_data for h in hits] == [f"p{i}" for i in np.argsort(-exact)[:3]]


def test_reopen_from_snapshot_keeps_delta_and_erasures(tmp_path: Path) -> None:
    vecs = unit_vectors(120, seed=3)
    cfg = small_config(tmp_path)
    with FaceStore.open(cfg, tmp_path) as store:
        _enroll(store, vecs[:100])
        store.enroll("after-build", vecs[110])
        store.forget("p5")
    with FaceStore.open(cfg, tmp_path) as store:
        st = store.stats()
        assert st.index_start["enrolled"] == "snapshot"
        assert (st.index["enrolled"].graph_size, st.index["enrolled"].delta_size,
                st.index["enrolled"].tombstones) == (100, 1, 1)
        assert store.search(vecs[110], 1).enrolled[0].vendor_data == "after-build"
        assert store.search(vecs[5], 1).enrolled[0].vendor_data != "p5"
        assert store.search(vecs[6], 1).enrolled[0].vendor_data == "p6"


def test_background_rebuild_folds_the_delta_in(tmp_path: Path) -> None:
    vecs = unit_vectors(200, seed=4)
    cfg = small_config(tmp_path, rebuild_delta=20)
    store = FaceStore.open(cfg, tmp_path, background_rebuild=True)
    try:
        _enroll(store, vecs[:60])
        store.index_manager.wait()
        for i in range(60, 90):  # crosses rebuild_delta: a rebuild starts on a thread
            store.enroll(f"p{i}", vecs[i])
            assert store.search(vecs[i], 1).enrolled[0].vendor_data == f"p{i}"
        store.forget("p3")
        store.index_manager.wait()
        store.forget("p70")
        for i in range(90):
            top = store.search(vecs[i], 1).enrolled
            if i in (3, 70):
                assert not top or top[0].vendor_data != f"p{i}"
            else:
                assert top[0].vendor_data == f"p{i}"
        assert store.stats().index["enrolled"].graph_size >= 60
    finally:
        store.close()


def test_blocklist_is_searched_apart_from_enrollments(tmp_path: Path) -> None:
    vecs = unit_vectors(10, seed=5)
    with FaceStore.open(small_config(tmp_path), tmp_path) as store:
        _enroll(store, vecs[:5])
        store.add_blocklist(vecs[7], "fraud")
        hits = store.search(vecs[7], 3)
        assert hits.blocklist[0].reason == "fraud"
        assert hits.blocklist[0].cosine == pytest.approx(1.0, abs=1e-5)
        assert all(m.kind == "enrolled" for m in hits.enrolled)


def test_no_plaintext_template_on_disk_and_key_file_private(tmp_path: Path) -> None:
    vecs = unit_vectors(80, seed=6)
    with FaceStore.open(small_config(tmp_path), tmp_path) as store:
        _enroll(store, vecs, prefix="vendor-data-that-stays-secret-")
        protected = store.protect(vecs[0])
    blobs = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    for needle in (vecs[0].tobytes()[:32], protected.tobytes()[:32],
                   b"vendor-data-that-stays-secret", b"CREATE TABLE"):
        assert needle not in blobs
    key_file = tmp_path / "keys" / "db.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "poh.db").stat().st_mode) == 0o600
    with pytest.raises(sqlite3.DatabaseError):  # plain SQLite cannot read it
        sqlite3.connect(tmp_path / "poh.db").execute("SELECT * FROM sqlite_master").fetchall()


def test_two_deployments_store_unlinkable_templates(tmp_path: Path) -> None:
    v = unit_vectors(1, seed=7)[0]
    a, b = tmp_path / "a", tmp_path / "b"
    with FaceStore.open(small_config(a), a) as sa, FaceStore.open(small_config(b), b) as sb:
        ta, tb = sa.protect(v), sb.protect(v)
    assert abs(float(ta @ tb)) < 0.4  # random rotations: unrelated vectors
    assert abs(float(ta @ v)) < 0.4


def test_key_rotation_rekeys_and_keeps_every_match(tmp_path: Path) -> None:
    vecs = unit_vectors(150, seed=8)
    cfg = small_config(tmp_path)
    with FaceStore.open(cfg, tmp_path) as store:
        _enroll(store, vecs[:120])
        store.enroll("late", vecs[130])
        old = store.protect(vecs[0])
        assert store.rotate_keys() == 2
        assert not np.allclose(store.protect(vecs[0]), old)
        assert store.search(vecs[130], 1).enrolled[0].vendor_data == "late"
    with FaceStore.open(cfg, tmp_path) as store:
        assert store.key_generation == 2
        for i in range(0, 120, 7):
            top = store.search(vecs[i], 1).enrolled[0]
            assert (top.vendor_data, round(top.cosine, 4)) == (f"p{i}", 1.0)


def test_db_key_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POH_DB_KEY", os.urandom(32).hex())
    with FaceStore.open(small_config(tmp_path), tmp_path) as store:
        store.enroll("x", unit_vectors(1, seed=9)[0])
    assert not (tmp_path / "keys" / "db.key").exists()
    with FaceStore.open(small_config(tmp_path), tmp_path) as store:
        assert store.stats().templates["enrolled"] == 1


def test_schema_version_and_tables(tmp_path: Path) -> None:
    with FaceStore.open(small_config(tmp_path), tmp_path) as store:
        with store.db.read() as conn:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master "
                                                "WHERE type = 'table'")}
            version = conn.execute("SELECT max(version) FROM schema_version").fetchone()[0]
            page = conn.execute("PRAGMA cipher_page_size").fetchone()[0]
            journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
            fks = conn.execute("PRAGMA foreign_keys").fetchone()[0]
    assert {"templates", "sessions", "verdicts", "outbox", "meta", "schema_version"} <= names
    migrations = Path(storage.__file__).parent / "migrations"  # every one applied
    latest = max(int(p.name.split("_")[0]) for p in migrations.glob("[0-9]*.sql"))
    assert (version, int(page), journal, fks) == (latest, 16384, "wal", 1)


def test_forget_erases_sessions_verdicts_and_outbox_of_that_person_only(tmp_path: Path) -> None:
    vecs = unit_vectors(2, seed=10)
    with FaceStore.open(small_config(tmp_path), tmp_path) as store:
        store.enroll("alice", vecs[0], session_id="s-alice")
        store.enroll("bob", vecs[1], session_id="s-bob")
        with store.db.transaction() as conn:
            for n, who in enumerate(("alice", "bob"), 1):
                conn.execute("INSERT INTO sessions (id, vendor_data, status) VALUES (?, ?, ?)",
                             (f"s-{who}", who, "Approved"))
                cur = conn.execute(
                    "INSERT INTO verdicts (session_id, sequence, idempotency_key, verdict_json) "
                    "VALUES (?, ?, ?, '{}')", (f"s-{who}", n, f"k-{who}"))
                conn.execute("INSERT INTO outbox (verdict_id, topic, payload, idempotency_key) "
                             "VALUES (?, 't', x'00', ?)", (cur.lastrowid, f"k-{who}"))
        res = store.forget("alice")
        assert (res.templates, res.sessions, res.verdicts) == (1, 1, 1)
        assert store.search(vecs[1], 1).enrolled[0].session_id == "s-bob"
        with store.db.read() as conn:
            left = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                    for t in ("templates", "sessions", "verdicts", "outbox")]
        assert left == [1, 1, 1, 1]


def test_forget_erases_kept_files_before_commit_and_keeps_the_person_if_that_fails(
        tmp_path: Path) -> None:
    vecs = unit_vectors(1, seed=11)
    seen: list[tuple[str, ...]] = []

    def failing(session_ids: tuple[str, ...]) -> None:
        seen.append(session_ids)
        raise OSError("disk went away")

    with FaceStore.open(small_config(tmp_path), tmp_path) as store:
        store.enroll("carol", vecs[0], session_id="s-carol")
        with store.db.transaction() as conn:
            conn.execute("INSERT INTO sessions (id, vendor_data, status) VALUES (?, ?, ?)",
                         ("s-carol", "carol", "Approved"))
        with pytest.raises(OSError):
            store.forget("carol", failing)
        assert seen == [("s-carol",)]
        assert store.search(vecs[0], 1).enrolled[0].session_id == "s-carol"  # rolled back
        with store.db.read() as conn:
            assert conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 1
        res = store.forget("carol", seen.append)
        assert res.sessions == 1 and seen[-1] == ("s-carol",)
        assert not store.search(vecs[0], 1).enrolled
