"""What a failed open or write of the database means, in one accurate line.

The filesystem is examined when SQLite's error may come from it (a read-only mount, a
permission, a full disk), so that an operator is never told "wrong key" about a database that
is fine.
"""

from __future__ import annotations

import os
from pathlib import Path

import sqlcipher3

from storage.errors import (
    DatabaseAccessError,
    DatabaseCorruptError,
    DatabaseOpenError,
    StorageError,
    StorageFullError,
)

_FS_ERRORS = frozenset({"SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_FULL",
                        "SQLITE_PERM", "SQLITE_AUTH"})
_LOW_SPACE = 64 * 1024  # below this many free bytes a failed write is put down to a full disk
_SQLITE_HEADER = b"SQLite format 3\x00"


def translate_error(exc: sqlcipher3.Error, where: str, path: Path | None = None
                    ) -> StorageError:
    """Map an SQLite error to the typed storage error the callers and the CLI understand.

    path: the database file; when the error may come from the filesystem, the folder is
    examined (read-only mount, permissions, free space) so that the message says which."""
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    low = msg.lower()
    name = getattr(exc, "sqlite_errorname", "") or ""
    if path is not None and not name.startswith("SQLITE_NOTADB") and (
            name.startswith(tuple(_FS_ERRORS)) or "readonly" in low or "unable to open" in low
            or "disk i/o" in low or "full" in low):
        found = filesystem_problem(path, where)
        if found is not None:
            return found
    if "disk is full" in low or "database or disk is full" in low:
        return StorageFullError(f"{where}: the disk or the database size limit is full ({msg})")
    if "readonly" in low or name.startswith("SQLITE_READONLY"):
        return DatabaseAccessError(f"{where}: the database can only be read here ({msg})")
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return DatabaseCorruptError(f"{where}: the database file is corrupt ({msg})")
    return StorageError(f"{where}: {msg}")


def _can(target: Path, mode: int) -> bool:
    if os.access in os.supports_effective_ids:
        return os.access(target, mode, effective_ids=True)
    return os.access(target, mode)


def filesystem_problem(path: Path, where: str) -> StorageError | None:
    """Why the operating system refuses the database `path`, if it does: a read-only
    filesystem, a permission, a full disk. None when none of these explains it."""
    folder = path.parent
    try:
        fs = os.statvfs(folder)
    except OSError:
        fs = None
    if fs is not None and fs.f_flag & os.ST_RDONLY:
        return DatabaseAccessError(f"{where}: {folder} is on a read-only filesystem")
    user = f"user {os.geteuid()}" if hasattr(os, "geteuid") else "this user"
    if folder.exists() and not _can(folder, os.W_OK | os.X_OK):
        return DatabaseAccessError(f"{where}: permission denied (the folder {folder} is not "
                                   f"writable by {user})")
    for target in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if target.exists() and not _can(target, os.R_OK | os.W_OK):
            return DatabaseAccessError(f"{where}: permission denied ({target} is not readable "
                                       f"and writable by {user})")
    if fs is not None and fs.f_bavail * fs.f_frsize < _LOW_SPACE:
        free = fs.f_bavail * fs.f_frsize
        return StorageFullError(f"{where}: the disk holding {folder} is full ({free} bytes "
                                f"free)")
    return None


def os_failure(path: Path, exc: OSError, where: str) -> StorageError:
    found = filesystem_problem(path, where)
    if found is not None:
        return found
    if isinstance(exc, PermissionError):
        return DatabaseAccessError(f"{where}: permission denied ({exc.filename})")
    return StorageError(f"{where}: {exc.strerror or exc}")


def open_failure(path: Path, exc: sqlcipher3.Error, where: str,
                  key_is_booths: bool) -> StorageError:
    """One accurate line for a database that does not open."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if not (name.startswith("SQLITE_NOTADB") or "not a database" in str(exc).lower()):
        return translate_error(exc, where, path)
    try:
        with path.open("rb") as fh:
            header = fh.read(len(_SQLITE_HEADER))
    except OSError:
        header = b""
    if header == _SQLITE_HEADER:
        return DatabaseOpenError(f"{where}: it is a plain, unencrypted SQLite file, not a poh "
                                 f"database")
    if key_is_booths:
        return DatabaseCorruptError(f"{where}: the key is this booth's, but the file is corrupt "
                                    f"or not a poh database (restore it from a backup)")
    return DatabaseOpenError(f"{where}: wrong key, or the file is corrupt or not a poh "
                             f"database")
