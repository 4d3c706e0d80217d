"""A database that does not open says why, in one line: wrong key, not a poh database,
permission denied, read-only filesystem, disk full. An operator must never be told "wrong key,
or the file is corrupt" about a database that is fine, and SQLCipher's own log lines must not
follow ours on stderr."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from store_helpers import disk_state

from app.cli import main
from app.kiosk.storage import init_home
from storage.booth import marker_path
from storage.config import StorageConfig

REPO = Path(__file__).resolve().parents[2]
CLI = "import sys\nfrom app.cli.main import run\nsys.exit(run(sys.argv[1:]))"
OTHER_KEY = "ab" * 32


def _booth(home: Path) -> None:
    init_home(home, StorageConfig())


def _cli_child(home: Path, *args: str, env: dict[str, str] | None = None,
               without_root_powers: bool = False) -> tuple[int, str]:
    """`poh ARGS` in a child process (stderr at the file-descriptor level, where SQLCipher
    writes). without_root_powers: as root, drop the capabilities that bypass file modes."""
    prefix: list[str] = []
    if without_root_powers and os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: file modes cannot be enforced")
        prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search"]
    proc = subprocess.run([*prefix, sys.executable, "-c", CLI, *args], cwd=REPO, text=True,
                          capture_output=True, timeout=120,
                          env=os.environ | {"POH_HOME": str(home), "PYTHONPATH": str(REPO)}
                          | (env or {}))
    return proc.returncode, proc.stderr


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("marker", [True, False], ids=["booth marker", "database only"])
def test_wrong_key_is_one_line_without_sqlcipher_noise(tmp_path: Path, marker: bool) -> None:
    home = tmp_path / "home"
    _booth(home)
    if not marker:  # a database from before markers: SQLCipher itself finds the key wrong
        marker_path(home / "poh.db").unlink()
    before = disk_state(home)
    code, err = _cli_child(home, "db", "stats", env={"POH_DB_KEY": OTHER_KEY})
    assert code == 2
    assert "wrong key" in _one_line(err)  # no "ERROR CORE sqlcipher_page_cipher" lines
    assert disk_state(home) == before


def test_a_plain_sqlite_file_is_named_as_such(tmp_path: Path, capfd: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    _booth(home)
    db = home / "poh.db"
    db.unlink()
    sqlite3.connect(db).execute("CREATE TABLE t (x)").connection.close()
    monkeypatch.setenv("POH_HOME", str(home))
    assert main.run(["db", "stats"]) == 2
    line = _one_line(capfd.readouterr().err)
    assert "plain, unencrypted SQLite file" in line and "wrong key" not in line


def test_a_file_that_is_not_a_database_is_not_called_a_wrong_key(
        tmp_path: Path, capfd: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    _booth(home)
    (home / "poh.db").write_bytes(os.urandom(64 * 1024))
    monkeypatch.setenv("POH_HOME", str(home))
    before = disk_state(home)
    assert main.run(["db", "stats"]) == 2
    line = _one_line(capfd.readouterr().err)
    # the marker proves the key is this booth's: the file is what is wrong
    assert "corrupt or not a poh database" in line and "wrong key" not in line
    assert disk_state(home) == before


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs (needs root; a read-only remount and a full disk are real there)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small filesystem needs root")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mnt)],
                      capture_output=True, check=False).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, check=False)


def test_a_read_only_filesystem_is_named(small_disk: Path, capfd: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    home = small_disk / "home"
    _booth(home)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    monkeypatch.setenv("POH_HOME", str(home))
    for args in (["db", "stats"], ["keys", "show", "--public"], ["verdict", "outbox"]):
        assert main.run(args) == 2
        line = _one_line(capfd.readouterr().err)
        assert f"{home} is on a read-only filesystem" in line and "wrong key" not in line


def test_a_full_disk_at_open_is_named(small_disk: Path, capfd: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    home = small_disk / "home"
    _booth(home)
    with (small_disk / "filler").open("wb", buffering=0) as fh:  # nothing left to flush
        try:
            while True:
                fh.write(b"\0" * 4096)
        except OSError:
            pass
    monkeypatch.setenv("POH_HOME", str(home))
    assert main.run(["db", "stats"]) == 1
    line = _one_line(capfd.readouterr().err)
    assert f"the disk holding {home} is full" in line and "wrong key" not in line


def test_permission_denied_on_the_database_is_named(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _booth(home)
    (home / "poh.db").chmod(0o000)
    try:
        code, err = _cli_child(home, "db", "stats", without_root_powers=True)
    finally:
        (home / "poh.db").chmod(0o600)
    assert code == 2
    line = _one_line(err)
    assert "permission denied" in line and "poh.db is not readable and writable" in line
    assert "wrong key" not in line


def test_a_data_folder_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _booth(home)
    home.chmod(0o500)  # the database opens, its journal (-wal) cannot be made
    try:
        code, err = _cli_child(home, "db", "stats", without_root_powers=True)
    finally:
        home.chmod(0o700)
    assert code == 2
    line = _one_line(err)
    assert f"permission denied (the folder {home} is not writable" in line


def test_a_data_folder_that_cannot_be_created_is_named(tmp_path: Path) -> None:
    parent = tmp_path / "srv"
    parent.mkdir(mode=0o500)
    try:
        code, err = _cli_child(parent / "poh" / "home", "db", "init", without_root_powers=True)
    finally:
        parent.chmod(0o700)
    assert code == 2
    assert "permission denied: cannot create or open the data folder" in _one_line(err)
    assert list(parent.iterdir()) == []
