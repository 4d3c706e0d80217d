"""Small encrypted files (AES-256-GCM): evidence kept for review, never plaintext on disk.

Layout: b"POHSEAL1", 12-byte nonce, ciphertext with its tag. The key is derived from the
database key for one purpose, and the purpose and file name are authenticated, so a file
cannot be swapped for another session's or read with another purpose's key. Written to a
temporary file (mode 0600), synced, then renamed: a power cut leaves the old file or the new,
never half of one.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.durable import fsync_dir, write_all
from storage.errors import StorageError
from storage.keys import derive_key

log = logging.getLogger(__name__)

MAGIC = b"POHSEAL1"
_NONCE = 12


class SealedFileError(StorageError):
    """The file is not a sealed file, was altered, or the key is not the one it was sealed with."""


def _aad(purpose: str, name: str) -> bytes:
    return MAGIC + f"{purpose}\x00{name}".encode()


def seal_file(path: Path, db_key: bytes, purpose: str, plaintext: bytes) -> None:
    nonce = secrets.token_bytes(_NONCE)
    blob = MAGIC + nonce + AESGCM(derive_key(db_key, purpose)).encrypt(
        nonce, plaintext, _aad(purpose, path.name))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        write_all(fd, blob)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def open_sealed_file(path: Path, db_key: bytes, purpose: str) -> bytes:
    blob = path.read_bytes()
    if len(blob) < len(MAGIC) + _NONCE + 16 or not blob.startswith(MAGIC):
        raise SealedFileError(f"{path.name}: not a sealed file")
    nonce = blob[len(MAGIC):len(MAGIC) + _NONCE]
    try:
        return AESGCM(derive_key(db_key, purpose)).decrypt(
            nonce, blob[len(MAGIC) + _NONCE:], _aad(purpose, path.name))
    except InvalidTag as exc:
        raise SealedFileError(f"{path.name}: altered, or sealed with another key") from exc
