"""Durable file writes: every byte written, then the folder synced so that a rename or a new
name survives a power cut (key files, the booth marker, the device key, index snapshots, sealed
files, operator state and exports); and private folders (mode 0700) for everything the kiosk
keeps."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PRIVATE_DIR_MODE = 0o700


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_new_file(path: Path, data: bytes, *, sync: bool = True) -> None:
    """Create `path` (mode 0600; an existing file is never overwritten) holding `data`."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        write_all(fd, data)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def _temp_beside(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def replace_file(path: Path, data: bytes) -> None:
    """Atomically replace `path` (mode 0600) with `data`: readers see the old or the new file,
    whole, also after a power cut."""
    tmp = _temp_beside(path)
    write_new_file(tmp, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def create_file_once(path: Path, data: bytes) -> bool:
    """Create `path` (mode 0600) holding `data` unless it exists; whole or not at all, and never
    over a file another process created meanwhile. True if this call created it."""
    tmp = _temp_beside(path)
    write_new_file(tmp, data)
    try:
        os.link(tmp, path)  # fails if the file exists: never overwrite
        created = True
    except FileExistsError:
        created = False
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)
    return created


def fsync_dir(folder: Path) -> None:
    dfd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def make_private_dir(folder: Path) -> Path:
    """Create `folder` and every missing parent with mode 0700 (owner only).

    Path.mkdir(parents=True, mode=0o700) gives the parents the default mode (0755 under the
    usual umask): a data folder created that way shows its file names to every local user.
    A folder that exists already keeps its mode (the operator chose it).
    """
    missing = []
    p = folder
    while not p.is_dir():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            if not d.is_dir():
                raise
            continue
        os.chmod(d, PRIVATE_DIR_MODE)  # the umask cannot widen it, but may have narrowed it
    return folder
