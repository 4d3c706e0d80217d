"""A folder tree as data, to prove that running something again changed nothing."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

Entry = tuple[str, int, int, int, str, int | None]


def tree(root: Path, *, mtimes: bool = False) -> dict[str, Entry]:
    """Every entry under root: kind, mode, owner, group, content (file hash, link target) and,
    with mtimes, the modification time in ns (a rewrite of the same bytes shows too)."""
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        if stat.S_ISLNK(st.st_mode):
            kind, content = "link", os.readlink(p)
        elif stat.S_ISDIR(st.st_mode):
            kind, content = "dir", ""
        else:
            kind, content = "file", hashlib.sha256(p.read_bytes()).hexdigest()
        out[str(p.relative_to(root))] = (kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
                                         content, st.st_mtime_ns if mtimes else None)
    return out
