"""The booth marker: proof, outside the database, that a booth was initialised in this folder.

An empty, missing or swapped database must never pass for a new booth: that would start a new
gallery (a person enrolled before is Approved again), a new device key and new verdict sequence
numbers, and the face index of the old gallery would be thrown away as not matching. So when a
database is first created (or an older one is first opened), a random booth id is written into
it (meta table) and into a small marker file next to the key file, `keys/<db name>.booth`
(mode 0600, written once with link(), never overwritten, synced). Every later open checks it:

- marker present, database file missing or empty: DatabaseMissingError (nothing is created);
- marker present, the database's booth id differs: DatabaseReplacedError;
- marker present, the key does not match the marker's key check: WrongKeyError (the marker
  holds an HMAC of the booth id under a key derived from the database key, never the key);
- no marker: the data folder was never initialised (the application layer decides whether the
  command may initialise it, see app.kiosk.storage).

Only an explicit re-initialisation (`poh db init --force`) moves a marker away, together with
everything of the old booth (set aside, never deleted).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from storage.durable import create_file_once, make_private_dir
from storage.errors import (
    BoothStateError,
    DatabaseAccessError,
    DatabaseMissingError,
    DatabaseReplacedError,
    StorageError,
    WrongKeyError,
)
from storage.keys import derive_key

log = logging.getLogger(__name__)

MARKER_VERSION = 1
MARKER_SUFFIX = ".booth"
META_BOOTH_ID = "booth_id"
_MAX_MARKER_BYTES = 4096


def marker_path(db_path: Path) -> Path:
    """Where the marker of the database `db_path` lives: `keys/<db name>.booth` beside it."""
    return db_path.parent / "keys" / (db_path.name + MARKER_SUFFIX)


def new_booth_id() -> str:
    return secrets.token_hex(16)


def key_check(db_key: bytes, booth_id: str) -> str:
    """A tag that tells the right key from a wrong one without revealing it."""
    return hmac.new(derive_key(db_key, "booth-marker"), booth_id.encode("ascii"),
                    hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True)
class BoothMarker:
    booth_id: str
    database: str
    created_at: str
    key_check: str
    version: int = MARKER_VERSION

    def key_matches(self, db_key: bytes) -> bool:
        return hmac.compare_digest(self.key_check, key_check(db_key, self.booth_id))

    def describe(self) -> str:
        return f"booth {self.booth_id}, initialised {self.created_at}"


def read_marker(db_path: Path) -> BoothMarker | None:
    """The marker of `db_path`, or None when there is none. An unreadable or malformed marker
    is an error (fail closed): it is never taken for "not initialised"."""
    path = marker_path(db_path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None
    except PermissionError:
        raise DatabaseAccessError(f"permission denied reading the booth marker {path}"
                                  ) from None
    except OSError as exc:
        raise BoothStateError(f"cannot read the booth marker {path}: {exc.strerror}") from None
    try:
        raw = os.read(fd, _MAX_MARKER_BYTES + 1)
    except OSError as exc:
        raise BoothStateError(f"cannot read the booth marker {path}: {exc.strerror}") from None
    finally:
        os.close(fd)
    try:
        doc = json.loads(raw.decode("utf-8"))
        marker = BoothMarker(booth_id=str(doc["booth_id"]), database=str(doc["database"]),
                             created_at=str(doc["created_at"]),
                             key_check=str(doc["key_check"]), version=int(doc["version"]))
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise BoothStateError(f"the booth marker {path} is malformed: restore it from a backup "
                              f"(nothing was changed)") from None
    if marker.version != MARKER_VERSION or len(raw) > _MAX_MARKER_BYTES:
        raise BoothStateError(f"the booth marker {path} has an unknown format")
    return marker


def write_marker(db_path: Path, marker: BoothMarker) -> BoothMarker:
    """Write the marker once (never over another one); returns the marker that is on disk."""
    path = marker_path(db_path)
    make_private_dir(path.parent)
    # never over another marker: if another process wrote one meanwhile, that one stands
    create_file_once(path, (json.dumps(asdict(marker), indent=2) + "\n").encode("utf-8"))
    stored = read_marker(db_path)
    if stored is None:
        raise StorageError(f"the booth marker {path} vanished after it was written")
    return stored


def new_marker(db_path: Path, db_key: bytes, booth_id: str) -> BoothMarker:
    return BoothMarker(booth_id=booth_id, database=db_path.name,
                       created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       key_check=key_check(db_key, booth_id))


def check_database_file(db_path: Path, marker: BoothMarker) -> None:
    """An initialised booth's database file must be there and not empty."""
    what = ("restore it from a backup, or run `poh db init --force` to set this booth's data "
            "aside and start a new booth (nothing was changed)")
    try:
        size = db_path.stat().st_size
    except FileNotFoundError:
        raise DatabaseMissingError(
            f"database {db_path} is missing, but this data folder holds an initialised booth "
            f"({marker.describe()}): {what}") from None
    except PermissionError:
        raise DatabaseAccessError(f"permission denied: cannot reach database {db_path}"
                                  ) from None
    if size == 0:
        raise DatabaseMissingError(
            f"database {db_path} is empty (0 bytes), but this data folder holds an initialised "
            f"booth ({marker.describe()}): {what}")


def check_key(db_path: Path, marker: BoothMarker, db_key: bytes) -> None:
    if not marker.key_matches(db_key):
        raise WrongKeyError(
            f"cannot open database {db_path}: wrong key (the key from the key file or "
            f"POH_DB_KEY is not the one booth {marker.booth_id} was initialised with on "
            f"{marker.created_at})")


def check_before_open(db_path: Path, marker: BoothMarker, db_key: bytes) -> None:
    """An initialised booth: its database file must be there, not empty, and the key must be
    the booth's. Raises before SQLite touches anything."""
    check_database_file(db_path, marker)
    check_key(db_path, marker, db_key)


def check_booth_id(db_path: Path, marker: BoothMarker, found: str | None) -> None:
    if found != marker.booth_id:
        raise DatabaseReplacedError(
            f"database {db_path} is not this booth's database (expected booth "
            f"{marker.booth_id}, found {found or 'no booth id'}): restore the right file, or "
            f"run `poh db init --force` to set it aside and start a new booth (nothing was "
            f"changed)")
