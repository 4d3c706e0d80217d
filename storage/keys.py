"""The database key: 256 random bits in an owner-only file, or hex in POH_DB_KEY.

The key never goes into configuration or logs. Other secrets (snapshot and rotation-matrix
wrapping keys) are derived from it with HKDF so that one secret protects everything at rest.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from storage.durable import create_file_once, make_private_dir
from storage.errors import KeyMaterialError

log = logging.getLogger(__name__)

KEY_BYTES = 32
ENV_KEY = "POH_DB_KEY"


def _parse_hex_key(text: str, origin: str) -> bytes:
    cleaned = text.strip()
    if len(cleaned) != 2 * KEY_BYTES:
        raise KeyMaterialError(f"{origin} must hold {2 * KEY_BYTES} hex digits (a 256-bit key)")
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise KeyMaterialError(f"{origin} is not hexadecimal") from None


def _read_key_file(path: Path) -> bytes:
    try:
        st = path.stat()
    except OSError as exc:
        raise KeyMaterialError(f"cannot read key file {path}: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise KeyMaterialError(f"key file {path} is not a regular file")
    if st.st_mode & 0o077:
        raise KeyMaterialError(
            f"key file {path} is readable by group or others (mode {st.st_mode & 0o777:o}); "
            "run chmod 600 on it"
        )
    if st.st_uid != os.geteuid():
        raise KeyMaterialError(f"key file {path} belongs to another user")
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        raise KeyMaterialError(f"cannot read key file {path}") from None
    return _parse_hex_key(text, f"key file {path}")


def _create_key_file(path: Path) -> bytes:
    key = secrets.token_bytes(KEY_BYTES)
    make_private_dir(path.parent)
    if not create_file_once(path, (key.hex() + "\n").encode("ascii")):
        return _read_key_file(path)  # another process created the key meanwhile
    log.info("created a new database key file at %s", path)
    return key


def load_db_key(key_file: Path, db_exists: bool, env: Mapping[str, str] | None = None, *,
                may_create: bool = True) -> bytes:
    """The 32-byte database key from POH_DB_KEY, else the key file, else a new key file.

    A new key is made only when the database does not exist yet, when the caller may create
    state (may_create; read-only commands may not) and when no booth marker sits in the key
    file's folder: generating one for an existing database, or for an initialised booth whose
    files went missing, would only turn "missing key" into a confusing "wrong key" (or a
    silently new booth).
    """
    environ = os.environ if env is None else env
    if environ.get(ENV_KEY):
        return _parse_hex_key(environ[ENV_KEY], ENV_KEY)
    try:
        present = key_file.exists()
    except PermissionError:
        raise KeyMaterialError(f"cannot read key file {key_file}: permission denied") from None
    if present:
        return _read_key_file(key_file)
    if db_exists:
        raise KeyMaterialError(
            f"the database exists but its key file {key_file} is missing (and {ENV_KEY} is unset)"
        )
    if not may_create:
        raise KeyMaterialError(f"key file {key_file} is missing (and {ENV_KEY} is unset)")
    markers = _booth_markers(key_file.parent)
    if markers:
        raise KeyMaterialError(
            f"key file {key_file} is missing, but {markers[0]} says a booth was initialised "
            f"here: restore the key file (or set {ENV_KEY}); nothing was changed")
    return _create_key_file(key_file)


def _booth_markers(folder: Path) -> list[Path]:
    from storage.booth import MARKER_SUFFIX  # storage.booth imports this module

    try:
        return sorted(folder.glob("*" + MARKER_SUFFIX))
    except OSError:
        return []


def derive_key(db_key: bytes, purpose: str) -> bytes:
    """A 256-bit key for one purpose (e.g. "index-snapshot"), independent of the others."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None,
                info=f"poh-kiosk/{purpose}/v1".encode())
    return hkdf.derive(db_key)
