"""Anonymous in-memory files (memfd) for libraries that insist on a path.

nmslib saves and loads an index only through a file name. A memfd lives in RAM, has no
directory entry, and disappears when its descriptor closes; /proc/self/fd/N names it. So a
plaintext index never reaches a real disk (the machine has no swap; a deployment with swap
must encrypt it, as the README says).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def memory_file(name: str) -> Iterator[tuple[int, str]]:
    """Yield (fd, path) of an empty memory-backed file; closed (and freed) on exit."""
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    try:
        yield fd, f"/proc/self/fd/{fd}"
    finally:
        os.close(fd)


def file_size(fd: int) -> int:
    return os.fstat(fd).st_size


def read_all(fd: int) -> bytes:
    size = file_size(fd)
    out = bytearray(size)
    view = memoryview(out)
    done = 0
    while done < size:
        n = os.preadv(fd, [view[done:]], done)
        if n <= 0:
            raise OSError(f"short read from memory file ({done} of {size} bytes)")
        done += n
    return bytes(out)
