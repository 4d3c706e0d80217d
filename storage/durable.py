"""Durable file writes: every byte written, then the folder synced so that a rename or a new
name survives a power cut (used by the key file, index snapshots and sealed files); and
private folders (mode 0700) for everything the kiosk keeps."""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_DIR_MODE = 0o700


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


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
