"""The state of a booth's data folder: never initialised, initialised, or the remains of a
booth whose database is gone; the lock that lets only one process initialise it; setting an
old booth's files aside (never deleting them) before `poh db init --force` starts a new one.

Initialised means the booth marker exists (storage.booth), or a database from before markers
(it gets its marker when it is next opened). Remains are what an initialised booth leaves
behind and a new booth must not silently inherit or throw away: the key file, an empty
database file, journal files, encrypted index snapshots, kept challenge recordings.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.kiosk.camera_record import record_path as camera_record_path
from storage import booth
from storage.config import StorageConfig, StoragePaths
from storage.durable import fsync_dir, make_private_dir
from storage.errors import (
    BoothStateError,
    DatabaseAccessError,
    NotInitialisedError,
    StorageError,
)

log = logging.getLogger(__name__)

EVIDENCE_DIR = "evidence"
SET_ASIDE_PREFIX = "set-aside-"
JOURNALS = ("-wal", "-shm", "-journal")


def evidence_dir(home: Path) -> Path:
    return home / EVIDENCE_DIR


def _files(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_file())
    except FileNotFoundError:
        return []
    except NotADirectoryError:
        return [folder]


@dataclass(frozen=True)
class HomeState:
    """What a data folder holds, read without changing anything."""

    home: Path
    paths: StoragePaths
    marker: booth.BoothMarker | None
    db_bytes: int | None  # None: no database file
    remains: tuple[str, ...]

    @property
    def initialised(self) -> bool:
        """A booth was initialised here (or a database from before markers is here)."""
        return self.marker is not None or bool(self.db_bytes)

    @property
    def pristine(self) -> bool:
        """Nothing of a booth at all: a first initialisation cannot hide a lost one."""
        return not self.initialised and not self.remains


def inspect_home(home: Path, config: StorageConfig) -> HomeState:
    paths = config.paths(home)
    try:
        marker = booth.read_marker(paths.db)
        db_bytes = paths.db.stat().st_size if paths.db.exists() else None
        remains = []
        if paths.key_file.exists():
            remains.append(f"key file {paths.key_file}")
        if db_bytes == 0:
            remains.append(f"empty database file {paths.db}")
        journals = [j for j in JOURNALS if paths.db.with_name(paths.db.name + j).exists()]
        if journals:
            remains.append(f"database journal ({', '.join(journals)})")
        if snaps := _files(paths.snapshot_dir):
            remains.append(f"{len(snaps)} index snapshot file(s) in {paths.snapshot_dir}")
        if kept := _files(evidence_dir(paths.home)):
            remains.append(f"{len(kept)} kept recording file(s) in {evidence_dir(paths.home)}")
    except PermissionError as exc:
        raise DatabaseAccessError(f"permission denied reading the data folder {home} "
                                  f"({exc.filename})") from None
    return HomeState(paths.home, paths, marker, db_bytes, tuple(remains))


def remains_error(state: HomeState) -> BoothStateError:
    return BoothStateError(
        f"{state.home} holds an earlier booth's {'; '.join(state.remains)} but no database: "
        f"restore the database, or run `poh db init --force` to set these aside and start a "
        f"new booth (nothing was changed)")


def require_initialised(state: HomeState) -> None:
    """For commands that only read: never create anything in a data folder."""
    if state.initialised:
        return
    if state.remains:
        raise remains_error(state)
    raise NotInitialisedError(f"not initialised: no booth in {state.home}; run `poh db init` "
                              f"(nothing was created)")


@contextmanager
def home_lock(home: Path) -> Iterator[None]:
    """An exclusive lock on the data folder (flock on the folder itself, so no lock file is
    left behind): two processes never initialise or set aside at the same time. Released by
    the kernel if the holder dies."""
    try:
        make_private_dir(home)
        fd = os.open(home, os.O_RDONLY)
    except PermissionError:
        raise DatabaseAccessError(f"permission denied: cannot create or open the data folder "
                                  f"{home}") from None
    except OSError as exc:
        raise DatabaseAccessError(f"cannot create or open the data folder {home}: "
                                  f"{exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _move(src: Path, dest: Path) -> None:
    make_private_dir(dest.parent)
    shutil.move(str(src), str(dest))


def set_aside(state: HomeState) -> Path | None:
    """Move everything of the booth in `state` into HOME/set-aside-<UTC time>/ (mode 0700):
    database and journals, marker, provisioned camera, index snapshots, kept recordings, and a
    copy of the key file (the key stays in place, so the files set aside stay readable with
    it). Returns the folder, or None when there was nothing to set aside. Call under
    home_lock."""
    paths = state.paths
    moves: list[tuple[Path, Path]] = []
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    dest = state.home / f"{SET_ASIDE_PREFIX}{stamp}"
    n = 1
    while dest.exists():
        n += 1
        dest = state.home / f"{SET_ASIDE_PREFIX}{stamp}-{n}"
    for suffix in ("", *JOURNALS):
        p = paths.db.with_name(paths.db.name + suffix)
        if p.exists():
            moves.append((p, dest / p.name))
    marker = booth.marker_path(paths.db)
    if marker.exists():
        moves.append((marker, dest / "keys" / marker.name))
    camera = camera_record_path(paths.db)  # the old booth's camera: a new booth provisions anew
    if camera.exists():
        moves.append((camera, dest / "keys" / camera.name))
    if _files(paths.snapshot_dir):
        moves.append((paths.snapshot_dir, dest / "index"))
    if _files(evidence_dir(paths.home)):
        moves.append((evidence_dir(paths.home), dest / EVIDENCE_DIR))
    if not moves:
        return None
    src = paths.key_file
    try:
        make_private_dir(dest)
        if paths.key_file.exists():
            key_copy = dest / "keys" / paths.key_file.name
            make_private_dir(key_copy.parent)
            shutil.copy2(paths.key_file, key_copy)
            os.chmod(key_copy, 0o600)
        for src, target in moves:
            _move(src, target)
            log.info("set aside %s -> %s", src, target)
    except OSError as exc:
        raise StorageError(f"setting the old booth aside in {dest} failed at {src}: "
                           f"{exc.strerror or exc} (what was moved is there; nothing was "
                           f"deleted)") from None
    for folder in {state.home, paths.db.parent, marker.parent, dest, dest / "keys"}:
        if folder.is_dir():
            fsync_dir(folder)
    return dest
