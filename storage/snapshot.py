"""Encrypted face-index snapshots: AES-256-GCM in authenticated chunks.

Layout: b"POHSNAP1", a 4-byte header length, a JSON header, then chunks of ciphertext.
Chunk i is sealed with nonce = prefix(8 random bytes) || i and AAD = header || i || last,
so a changed header (version, count, key generation), a reordered, truncated or extended
chunk list, or a flipped bit all fail authentication. Plaintext: the template ids (int64)
followed by the nmslib graph; the graph is decrypted into a memory file, never to disk.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import struct
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.durable import fsync_dir, write_all
from storage.errors import SnapshotError, StorageError, StorageFullError
from storage.faults import fault_point

log = logging.getLogger(__name__)

MAGIC = b"POHSNAP1"
FORMAT_VERSION = 1
CHUNK = 16 * 1024 * 1024
MIN_CHUNK = 4096
MAX_CHUNK = 256 * 1024 * 1024
_TAG = 16
_FULL_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}


@dataclass(frozen=True)
class SnapshotMeta:
    """What a snapshot covers; all of it is authenticated."""

    kind: str
    key_generation: int
    count: int  # templates in the graph
    watermark: int  # every template with id <= watermark at build time is in the graph
    dim: int
    graph_bytes: int
    params: dict[str, int]
    version: int = FORMAT_VERSION


def _header_bytes(meta: SnapshotMeta, nonce_prefix: bytes, chunk: int) -> bytes:
    obj = asdict(meta) | {"nonce_prefix": nonce_prefix.hex(), "chunk": chunk}
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def _aad(header: bytes, index: int, last: bool) -> bytes:
    return header + struct.pack(">IB", index, 1 if last else 0)


def _plain_chunks(ids: npt.NDArray[np.int64], graph_fd: int | None,
                  graph_len: int, chunk: int) -> Iterator[bytes]:
    """Yield the plaintext in chunk-sized pieces without holding it all at once."""
    pending = bytearray(ids.astype("<i8").tobytes())
    offset = 0
    while True:
        while len(pending) < chunk and graph_fd is not None and offset < graph_len:
            piece = os.pread(graph_fd, min(chunk, graph_len - offset), offset)
            if not piece:
                raise StorageError("the index memory file ended early")
            pending += piece
            offset += len(piece)
        if len(pending) <= chunk and (graph_fd is None or offset >= graph_len):
            yield bytes(pending)
            return
        yield bytes(pending[:chunk])
        del pending[:chunk]


def write_snapshot(path: Path, key: bytes, meta: SnapshotMeta, ids: npt.NDArray[np.int64],
                   graph_fd: int | None, chunk: int = CHUNK) -> None:
    """Atomically replace `path` (temp file, fsync, rename); a failure leaves the old file."""
    if len(ids) != meta.count:
        raise ValueError("snapshot ids do not match the count in its header")
    if not MIN_CHUNK <= chunk <= MAX_CHUNK:
        raise ValueError(f"chunk size {chunk} out of range")
    prefix = os.urandom(8)
    header = _header_bytes(meta, prefix, chunk)
    aes = AESGCM(key)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            write_all(fd, MAGIC + struct.pack(">I", len(header)) + header)
            fault_point("snapshot-write")
            chunks = _plain_chunks(ids, graph_fd, meta.graph_bytes, chunk)
            current = next(chunks)
            index = 0
            for following in chunks:
                write_all(fd, aes.encrypt(prefix + struct.pack(">I", index), current,
                                           _aad(header, index, False)))
                current, index = following, index + 1
            write_all(fd, aes.encrypt(prefix + struct.pack(">I", index), current,
                                       _aad(header, index, True)))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno in _FULL_ERRNOS:
            raise StorageFullError(f"disk full while writing the index snapshot {path}") from None
        raise StorageError(f"cannot write the index snapshot {path}: {exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def remove_stale_temp_files(path: Path) -> None:
    """Delete temp files left by a writer that was killed (its pid is gone)."""
    if not path.parent.is_dir():
        return
    for tmp in path.parent.glob(f".{path.name}.tmp-*"):
        try:
            pid = int(tmp.name.rsplit("-", 1)[1])
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError):
            tmp.unlink(missing_ok=True)
            log.info("removed a partial index snapshot %s left by a killed writer", tmp)
        except PermissionError:
            continue


def read_meta(path: Path) -> tuple[SnapshotMeta, bytes, int, int]:
    """Parse the header (not yet authenticated: callers must decrypt before trusting it)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(len(MAGIC) + 4)
            if len(head) != len(MAGIC) + 4 or head[: len(MAGIC)] != MAGIC:
                raise SnapshotError(f"{path} is not a poh index snapshot")
            (hlen,) = struct.unpack(">I", head[len(MAGIC):])
            if hlen > 1 << 16:
                raise SnapshotError(f"{path} has an implausible header")
            header = fh.read(hlen)
    except OSError as exc:
        raise SnapshotError(f"cannot read {path}: {exc.strerror}") from None
    try:
        obj = json.loads(header)
        prefix = bytes.fromhex(obj.pop("nonce_prefix"))
        chunk = int(obj.pop("chunk"))
        if not MIN_CHUNK <= chunk <= MAX_CHUNK or len(prefix) != 8:
            raise SnapshotError(f"{path} has an implausible chunk layout")
        meta = SnapshotMeta(**obj)
    except (ValueError, TypeError, KeyError, AttributeError):
        raise SnapshotError(f"{path} has a malformed header") from None
    if meta.version != FORMAT_VERSION:
        raise SnapshotError(f"{path} has snapshot format {meta.version}")
    return meta, header, len(MAGIC) + 4 + hlen, chunk


@dataclass(frozen=True)
class _Layout:
    meta: SnapshotMeta
    header: bytes
    start: int  # offset of the first sealed chunk
    chunk: int
    ids_len: int
    total: int  # plaintext bytes: ids, then the graph
    n_chunks: int


def _layout(path: Path) -> _Layout:
    meta, header, start, chunk = read_meta(path)
    ids_len = 8 * meta.count
    total = ids_len + meta.graph_bytes
    n_chunks = max(1, -(-total // chunk))
    if path.stat().st_size != start + total + n_chunks * _TAG:
        raise SnapshotError(f"{path} is truncated or extended")
    return _Layout(meta, header, start, chunk, ids_len, total, n_chunks)


def _plaintext(path: Path, key: bytes, lay: _Layout, chunks: int) -> Iterator[bytes]:
    """The first `chunks` chunks, each decrypted and authenticated (with the header)."""
    prefix = bytes.fromhex(json.loads(lay.header)["nonce_prefix"])
    aes = AESGCM(key)
    try:
        with path.open("rb") as fh:
            fh.seek(lay.start)
            for index in range(chunks):
                size = min(lay.chunk, lay.total - index * lay.chunk) + _TAG
                yield aes.decrypt(prefix + struct.pack(">I", index), fh.read(size),
                                  _aad(lay.header, index, index == lay.n_chunks - 1))
    except InvalidTag:
        raise SnapshotError(f"{path} fails authentication (tampered, corrupt or another key)"
                            ) from None
    except OSError as exc:
        raise SnapshotError(f"cannot read {path}: {exc.strerror}") from None


def read_snapshot(path: Path, key: bytes, graph_fd: int) -> tuple[SnapshotMeta,
                                                                   npt.NDArray[np.int64]]:
    """Decrypt and authenticate; the graph is written into `graph_fd` (a memory file)."""
    lay = _layout(path)
    ids_buf = bytearray()
    written = 0
    try:
        for plain in _plaintext(path, key, lay, lay.n_chunks):
            need = lay.ids_len - len(ids_buf)
            if need > 0:
                ids_buf += plain[:need]
                plain = plain[need:]
            if plain:
                _write_all_at(graph_fd, plain, written)
                written += len(plain)
    except OSError as exc:
        raise SnapshotError(f"cannot read {path}: {exc.strerror}") from None
    if written != lay.meta.graph_bytes or len(ids_buf) != lay.ids_len:
        raise SnapshotError(f"{path} holds fewer bytes than its header says")
    return lay.meta, np.frombuffer(bytes(ids_buf), dtype="<i8").astype(np.int64)


def read_ids(path: Path, key: bytes) -> tuple[SnapshotMeta, npt.NDArray[np.int64]]:
    """The template ids a snapshot holds, authenticated, without decrypting its graph.

    Only the chunks that cover the ids (the start of the plaintext) are decrypted; their tags
    also authenticate the header. Erasure checks use this to learn cheaply whether a snapshot
    still holds an erased id.
    """
    lay = _layout(path)
    ids_buf = bytearray()
    for plain in _plaintext(path, key, lay, max(1, -(-lay.ids_len // lay.chunk))):
        ids_buf += plain[:lay.ids_len - len(ids_buf)]
    if len(ids_buf) != lay.ids_len:
        raise SnapshotError(f"{path} holds fewer bytes than its header says")
    return lay.meta, np.frombuffer(bytes(ids_buf), dtype="<i8").astype(np.int64)


def temp_files(path: Path) -> list[Path]:
    """Partial snapshots (of `path`) that a writer left behind."""
    if not path.parent.is_dir():
        return []
    return sorted(path.parent.glob(f".{path.name}.tmp-*"))


def _write_all_at(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view = view[n:]
        offset += n
