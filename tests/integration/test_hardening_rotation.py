"""Key rotation against writers in other processes: no enrolment, blocklist entry or search of a
long-running kiosk can leave or use templates of a retired key generation, and a database that
holds mixed generations (made by an older program) is repaired by `poh keys repair`.

Two FaceStore objects on one data folder stand for two processes: each has its own database
connection, locks, protector and face index, exactly like the kiosk and a `poh` command.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from store_helpers import run_child, small_config, unit_vectors

from app.cli import main
from storage.database import Database
from storage.errors import KeyGenerationError
from storage.face_store import FaceStore
from storage.keys import load_db_key
from storage.protection import load_protector
from storage.template_store import NewTemplate

VECS = unit_vectors(400, seed=77)


def _populate(home: Path, n: int = 120) -> None:
    with FaceStore.open(small_config(home), home) as store:
        store.add_many([NewTemplate("enrolled", f"p{i}", None, v)
                        for i, v in enumerate(VECS[:n])])


def _generations(home: Path) -> dict[int, int]:
    """{key_generation: templates} read straight from the database."""
    cfg = small_config(home)
    paths = cfg.paths(home)
    db = Database(paths.db, load_db_key(paths.key_file, True))
    try:
        with db.read() as conn:
            return {int(g): int(n) for g, n in conn.execute(
                "SELECT key_generation, count(*) FROM templates GROUP BY key_generation")}
    finally:
        db.close()


def _top(store: FaceStore, i: int, kind: str = "enrolled") -> tuple[str | None, float]:
    hits = store.search(VECS[i], 1)
    best = (hits.enrolled if kind == "enrolled" else hits.blocklist)[0]
    return best.vendor_data, round(best.cosine, 4)


@contextmanager
def _kiosk(home: Path) -> Iterator[FaceStore]:
    """The long-running process: opened before the rotation, kept open across it."""
    store = FaceStore.open(small_config(home), home, background_rebuild=True)
    try:
        yield store
    finally:
        store.close()


def test_enrolment_after_another_process_rotated_is_stored_under_the_new_generation(
        tmp_path: Path) -> None:
    home = tmp_path / "home"
    _populate(home)
    with _kiosk(home) as kiosk:
        assert kiosk.key_generation == 1
        with FaceStore.open(small_config(home), home) as operator:
            assert operator.rotate_keys() == 2
        # The kiosk has not looked at the database since: its enrolment must notice.
        kiosk.enroll("late", VECS[300], session_id="s-late")
        assert kiosk.key_generation == 2
        assert _top(kiosk, 300) == ("late", 1.0)
        assert _top(kiosk, 7) == ("p7", 1.0)
    assert _generations(home) == {2: 121}
    # Every later command still works, and rotating again too.
    with FaceStore.open(small_config(home), home) as store:
        assert _top(store, 300) == ("late", 1.0)
        assert store.rotate_keys() == 3
        assert _top(store, 300) == ("late", 1.0)
    assert _generations(home) == {3: 121}


def test_blocklist_add_and_bulk_import_after_a_rotation_elsewhere(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _populate(home)
    with _kiosk(home) as kiosk:
        with FaceStore.open(small_config(home), home) as operator:
            operator.rotate_keys()
        kiosk.add_blocklist(VECS[301], "fraud", vendor_data="mallory")
        assert _top(kiosk, 301, "blocklist") == ("mallory", 1.0)
        with FaceStore.open(small_config(home), home) as operator:
            operator.rotate_keys()
        kiosk.bulk_import([[NewTemplate("enrolled", f"b{i}", None, VECS[i])
                            for i in range(310, 330)]])
        assert kiosk.key_generation == 3
        assert _top(kiosk, 315) == ("b315", 1.0)
    assert _generations(home) == {3: 141}
    with FaceStore.open(small_config(home), home) as store:
        assert _top(store, 301, "blocklist") == ("mallory", 1.0)
        assert _top(store, 320) == ("b320", 1.0)


def test_search_in_a_long_running_process_follows_a_rotation_elsewhere(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _populate(home)
    with _kiosk(home) as kiosk:
        old_query = kiosk.protect(VECS[3])
        with FaceStore.open(small_config(home), home) as operator:
            operator.rotate_keys()
            operator.enroll("after", VECS[302])
            new_query = operator.protect(VECS[3])
        # The kiosk now searches with the new generation's key over the new generation's
        # templates, and sees what was enrolled under it.
        assert _top(kiosk, 3) == ("p3", 1.0)
        assert kiosk.key_generation == 2
        assert np.array_equal(kiosk.protect(VECS[3]), new_query)
        assert not np.allclose(old_query, new_query)
        assert _top(kiosk, 302) == ("after", 1.0)


def test_rotation_from_a_stale_process_starts_from_the_stored_generation(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _populate(home)
    with _kiosk(home) as kiosk:
        with FaceStore.open(small_config(home), home) as operator:
            assert operator.rotate_keys() == 2
        assert kiosk.rotate_keys() == 3  # not "2 again" from its stale generation 1
        assert _top(kiosk, 11) == ("p11", 1.0)
    assert _generations(home) == {3: 120}


def test_forget_in_a_stale_process_after_a_rotation(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _populate(home)
    with _kiosk(home) as kiosk:
        with FaceStore.open(small_config(home), home) as operator:
            operator.rotate_keys()
        assert kiosk.forget("p5").templates == 1
        kiosk.enroll("q", VECS[303])
    with FaceStore.open(small_config(home), home) as store:
        assert store.search(VECS[5], 1).enrolled[0].vendor_data != "p5"
        assert _top(store, 303) == ("q", 1.0)
    assert _generations(home) == {2: 120}


# --- a database that already holds two generations (written by an older program) -----------

def _make_mixed(home: Path) -> None:
    """What the old code did: rotate, then a stale process inserts under the old generation."""
    _populate(home)
    _make_mixed_after_populate(home)
    assert _generations(home) == {1: 1, 2: 120}


def _make_mixed_after_populate(home: Path) -> None:
    cfg = small_config(home)
    paths = cfg.paths(home)
    key = load_db_key(paths.key_file, True)
    db = Database(paths.db, key)
    try:
        with db.transaction() as conn:
            stale = load_protector(conn, key)
            assert stale is not None
            stale_vec = stale.protect(VECS[304])
    finally:
        db.close()
    with FaceStore.open(cfg, home) as operator:
        operator.rotate_keys()
    db = Database(paths.db, key)
    try:
        with db.transaction() as conn:
            conn.execute("INSERT INTO sessions (id, vendor_data, status) VALUES (?, ?, ?)",
                         ("s-stale", "stale", "Approved"))
            conn.execute(
                "INSERT INTO templates (vendor_data, session_id, kind, template, key_generation)"
                " VALUES (?, ?, 'enrolled', ?, 1)",
                ("stale", "s-stale", stale_vec.astype("<f4").tobytes()))
    finally:
        db.close()


def test_mixed_database_is_not_dead_and_keys_repair_brings_it_back(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _make_mixed(home)
    # Search and enrolment refuse (fail closed) and name the repair; erasure and stats work.
    with FaceStore.open(small_config(home), home) as store:
        with pytest.raises(KeyGenerationError, match="poh keys repair"):
            store.search(VECS[0], 1)
        with pytest.raises(KeyGenerationError, match="poh keys repair"):
            store.enroll("x", VECS[305])
        assert store.stats().stray_templates == 1
        assert store.forget("p1").templates == 1
        report = store.repair_key_generations(dry_run=True)
        assert [(s.vendor_data, s.key_generation) for s in report.dropped] == [("stale", 1)]
        assert _generations(home) == {1: 1, 2: 119}
        report = store.repair_key_generations()
        assert report.key_generation == 2 and len(report.dropped) == 1
        assert report.dropped[0].session_id == "s-stale"
        assert _top(store, 0) == ("p0", 1.0)
        store.enroll("x", VECS[305])
        assert store.stats().stray_templates == 0
    assert _generations(home) == {2: 120}
    with FaceStore.open(small_config(home), home) as store:
        assert store.rotate_keys() == 3
        assert _top(store, 305) == ("x", 1.0)


def _poh(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    code = main.run([*args, "--json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 and out.strip() else None), err


def test_cli_keys_repair_on_a_mixed_database(_isolated_home: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    home = _isolated_home
    _make_mixed(home)
    code, stats, err = _poh(capsys, "db", "stats")
    assert code == 0, err
    assert stats["stray_templates"] == 1
    code, _, err = _poh(capsys, "keys", "rotate")
    assert code == 2 and "poh keys repair" in err and len(err.strip().splitlines()) == 1
    code, r, err = _poh(capsys, "keys", "repair", "--dry-run")
    assert code == 0, err
    assert r["dropped"] == [{"template_id": 121, "kind": "enrolled", "vendor_data": "stale",
                             "reason": None, "session_id": "s-stale", "key_generation": 1}]
    assert r["dry_run"] is True and _generations(home) == {1: 1, 2: 120}
    code, r, err = _poh(capsys, "keys", "repair")
    assert code == 0, err
    assert (r["key_generation"], len(r["dropped"]), r["dry_run"]) == (2, 1, False)
    assert _generations(home) == {2: 120}
    code, r, err = _poh(capsys, "keys", "rotate")
    assert (code, r["key_generation"], r["templates"]) == (0, 3, 120), err
    code, r, _ = _poh(capsys, "keys", "repair")
    assert (code, r["dropped"]) == (0, [])


def test_rotation_in_another_real_process_while_the_kiosk_runs(tmp_path: Path) -> None:
    """The scenario of the report, with a real second process for `poh keys rotate`."""
    home = tmp_path / "home"
    _populate(home)
    with _kiosk(home) as kiosk:
        kiosk.search(VECS[0], 1)
        child = run_child(f"""
            from pathlib import Path
            from store_helpers import small_config
            from storage.face_store import FaceStore
            home = Path({str(home)!r})
            with FaceStore.open(small_config(home), home) as store:
                print(store.rotate_keys())
        """)
        assert child.returncode == 0, child.stderr
        assert child.stdout.strip() == "2"
        kiosk.enroll("during-days-long-session", VECS[306], session_id="s1")
    assert _generations(home) == {2: 121}
    with FaceStore.open(small_config(home), home) as store:
        assert _top(store, 306) == ("during-days-long-session", 1.0)


def test_a_running_kiosk_meets_a_mixed_database_fails_closed_and_recovers_after_repair(
        tmp_path: Path) -> None:
    home = tmp_path / "home"
    _populate(home)
    with _kiosk(home) as kiosk:
        assert _top(kiosk, 8) == ("p8", 1.0)
        _make_mixed_after_populate(home)  # rotation + an old program's stray, elsewhere
        with pytest.raises(KeyGenerationError, match="poh keys repair"):
            kiosk.enroll("y", VECS[307])  # refused before anything is stored
        assert _generations(home) == {1: 1, 2: 120}
        for _ in range(2):  # refused every time, never answered from a mixed gallery
            with pytest.raises(KeyGenerationError, match="poh keys repair"):
                kiosk.search(VECS[8], 1)
        with FaceStore.open(small_config(home), home) as operator:
            assert len(operator.repair_key_generations().dropped) == 1
        assert _top(kiosk, 8) == ("p8", 1.0)
        assert kiosk.key_generation == 2
        kiosk.enroll("y", VECS[307])
    assert _generations(home) == {2: 121}


def test_a_search_that_first_meets_a_mixed_database_refuses(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _populate(home)
    with _kiosk(home) as kiosk:
        _make_mixed_after_populate(home)
        with pytest.raises(KeyGenerationError, match="poh keys repair"):
            kiosk.search(VECS[8], 1)
        with pytest.raises(KeyGenerationError, match="poh keys repair"):
            kiosk.add_blocklist(VECS[308], "fraud")
    assert _generations(home) == {1: 1, 2: 120}


def test_reindex_in_a_stale_process_follows_the_stored_generation(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _populate(home)
    with _kiosk(home) as kiosk:
        with FaceStore.open(small_config(home), home) as operator:
            operator.rotate_keys()
        kiosk.reindex()
        assert kiosk.key_generation == 2
        assert kiosk.stats().index["enrolled"].graph_size == 120
