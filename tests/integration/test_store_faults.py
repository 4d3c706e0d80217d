"""Opening failures: wrong key, corrupt file, not a database, bad key material.

Each must raise a typed one-line error and leave every file exactly as it was.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from store_helpers import disk_state, small_config, unit_vectors

from app.cli import store_cmd
from app.errors import BadInputError
from storage.errors import DatabaseCorruptError, DatabaseOpenError, KeyMaterialError
from storage.face_store import FaceStore
from storage.template_store import NewTemplate


def _populated(home: Path, n: int = 120) -> None:
    with FaceStore.open(small_config(home), home) as store:
        store.add_many([NewTemplate("enrolled", f"p{i}", None, v)
                        for i, v in enumerate(unit_vectors(n, seed=11))])


def _open_fails(home: Path, error: type[Exception]) -> str:
    before = disk_state(home)
    with pytest.raises(error) as info:
        FaceStore.open(small_config(home), home)
    assert disk_state(home) == before
    message = str(info.value)
    assert "\n" not in message
    return message


def test_wrong_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _populated(tmp_path)
    monkeypatch.setenv("POH_DB_KEY", os.urandom(32).hex())
    assert "wrong key" in _open_fails(tmp_path, DatabaseOpenError)


def test_not_a_database(tmp_path: Path) -> None:
    _populated(tmp_path)
    (tmp_path / "poh.db").write_text("hello, I am a text file\n" * 100)
    assert "not a poh database" in _open_fails(tmp_path, DatabaseOpenError)


def test_corrupt_page(tmp_path: Path) -> None:
    _populated(tmp_path, n=400)  # several 16 KiB pages
    db = tmp_path / "poh.db"
    assert not (tmp_path / "poh.db-wal").exists() or (tmp_path / "poh.db-wal").stat().st_size == 0
    data = bytearray(db.read_bytes())
    assert len(data) > 4 * 16384
    data[3 * 16384 + 500] ^= 0xFF
    db.write_bytes(bytes(data))
    assert "corrupt" in _open_fails(tmp_path, DatabaseCorruptError)


def test_truncated_database(tmp_path: Path) -> None:
    _populated(tmp_path, n=400)
    db = tmp_path / "poh.db"
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 2 + 1000])
    _open_fails(tmp_path, DatabaseOpenError)


def test_key_file_readable_by_others(tmp_path: Path) -> None:
    _populated(tmp_path)
    (tmp_path / "keys" / "db.key").chmod(0o644)
    assert "chmod 600" in _open_fails(tmp_path, KeyMaterialError)


def test_missing_key_file_is_not_replaced(tmp_path: Path) -> None:
    _populated(tmp_path)
    (tmp_path / "keys" / "db.key").unlink()
    assert "key file" in _open_fails(tmp_path, KeyMaterialError)
    assert not (tmp_path / "keys" / "db.key").exists()


def test_malformed_env_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _populated(tmp_path)
    monkeypatch.setenv("POH_DB_KEY", "not-hex")
    _open_fails(tmp_path, KeyMaterialError)


def test_cli_maps_open_failures_to_bad_input(monkeypatch: pytest.MonkeyPatch,
                                              _isolated_home: Path) -> None:
    _populated(_isolated_home)
    monkeypatch.setenv("POH_DB_KEY", os.urandom(32).hex())
    with pytest.raises(BadInputError, match="wrong key"):
        store_cmd.db_stats(as_json=True)


def test_background_check_fails_closed_on_a_corrupt_page(tmp_path: Path) -> None:
    """A large gallery checks its pages on a thread; a bad page then stops reads and writes."""
    _populated(tmp_path, n=400)
    db = tmp_path / "poh.db"
    data = bytearray(db.read_bytes())
    data[3 * 16384 + 500] ^= 0xFF
    db.write_bytes(bytes(data))
    before = disk_state(tmp_path)
    cfg = small_config(tmp_path).model_copy(update={"integrity_check": "background"})
    with pytest.raises(DatabaseCorruptError):
        store = FaceStore.open(cfg, tmp_path)
        try:
            assert store.db.wait_integrity() == "corrupt"
            store.search(unit_vectors(1, seed=11)[0], 1)
        finally:
            store.close()
    assert disk_state(tmp_path) == before


def test_background_check_passes_a_sound_database(tmp_path: Path) -> None:
    _populated(tmp_path, n=200)
    cfg = small_config(tmp_path).model_copy(update={"integrity_check": "background"})
    with FaceStore.open(cfg, tmp_path) as store:
        assert store.db.wait_integrity() == "ok"
        assert store.search(unit_vectors(1, seed=11)[0], 1).enrolled[0].vendor_data == "p0"
