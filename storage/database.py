"""The SQLCipher database: open with the raw key, check it, set pragmas, run migrations.

Opening never writes before the key has been proven on page 1, so a wrong key, a corrupt
header or a file that is not a database leaves the disk exactly as it was. An initialised
booth's database is checked against its marker first (storage.booth): a missing, empty or
swapped database is an error, never a new empty one. A failure to open says what failed (one
line): permission denied, read-only filesystem, disk full, wrong key, not a poh database.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeAlias

import sqlcipher3

from storage import booth
from storage.db_errors import open_failure, os_failure, translate_error
from storage.durable import make_private_dir
from storage.errors import (
    DatabaseAccessError,
    DatabaseCorruptError,
    DatabaseOpenError,
    StorageError,
)

log = logging.getLogger(__name__)

CIPHER_PAGE_SIZE = 16384
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

Connection: TypeAlias = Any  # sqlcipher3 ships no type hints




def _migrations() -> list[tuple[int, str, str]]:
    folder = resources.files("storage") / "migrations"
    found = []
    for entry in folder.iterdir():
        m = _MIGRATION_NAME.match(entry.name)
        if m:
            found.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if versions != list(range(1, len(found) + 1)):
        raise StorageError(f"migration files are not numbered 1..n without gaps: {versions}")
    return found


def _statements(script: str) -> Iterator[str]:
    """Split a migration into statements so that all run inside one transaction.

    executescript() would commit first and defeat the all-or-nothing migration.
    """
    buf = ""
    for line in script.splitlines(keepends=True):
        if not buf and (not line.strip() or line.lstrip().startswith("--")):
            continue
        buf += line
        if sqlcipher3.complete_statement(buf):
            yield buf
            buf = ""
    if buf.strip():
        raise StorageError("a migration ends in an incomplete statement")


IntegrityCheck = Literal["auto", "open", "background"]
AUTO_CHECK_LIMIT = 256 * 1024 * 1024  # "auto": check at open up to this size, else background


class Database:
    """One connection to the encrypted database, shared by threads under a lock.

    Transactions are explicit (`with db.transaction() as conn:`); writes are serialised by the
    lock, and SQLCipher's WAL lets a second connection (the index rebuild) read meanwhile.

    Every page is authenticated when it is read. The full check of every page (about 30 s per
    GB on this CPU) runs before open returns ("open"), or on a thread after it ("background",
    so a large gallery starts in seconds); once it finds a bad page every later read or write
    raises DatabaseCorruptError (fail closed). "auto": open up to 256 MB, background above.
    """

    def __init__(self, path: Path, key: bytes, create: bool = True,
                 integrity_check: IntegrityCheck = "auto") -> None:
        """Open (create: or create) the database at `path` with the raw 256-bit `key`.

        A database is created only where no booth was initialised: if the booth marker exists
        (storage.booth), a missing or empty file is DatabaseMissingError, another booth's
        database DatabaseReplacedError, another key WrongKeyError, all before SQLite opens
        anything. A database without a marker (new, or from before markers) is given one.
        """
        self.path = path
        self._key = key
        self.lock = threading.RLock()
        marker = booth.read_marker(path)
        if marker is not None:
            booth.check_before_open(path, marker, key)
        try:
            size = path.stat().st_size if path.is_file() else 0
        except PermissionError:
            raise DatabaseAccessError(f"cannot open database {path}: permission denied "
                                      f"(cannot reach {path.parent})") from None
        background = integrity_check == "background" or (
            integrity_check == "auto" and size > AUTO_CHECK_LIMIT)
        self.conn = connect(path, key, create=create and marker is None, check=not background,
                            key_is_booths=marker is not None)
        self.integrity = "unchecked" if background else "ok"
        self._integrity_error: DatabaseCorruptError | None = None
        self._checker: threading.Thread | None = None
        self._checker_conn: Connection | None = None
        try:
            if marker is not None:  # before migrating: never write into another booth's file
                booth.check_booth_id(path, marker, self._stored_booth_id())
            self.schema_version = _migrate(self.conn, path)
            self.booth_id = self._claim(marker)
        except BaseException:
            self.conn.close()
            raise
        if background and size:
            self._checker_conn = self.reader()
            self._checker = threading.Thread(target=self._check_in_background,
                                             name="poh-db-integrity", daemon=True)
            self._checker.start()

    def _stored_booth_id(self) -> str | None:
        try:
            if not self.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                     "name = 'meta'").fetchone():
                return None
            row = self.conn.execute("SELECT value FROM meta WHERE key = ?",
                                    (booth.META_BOOTH_ID,)).fetchone()
        except sqlcipher3.Error as exc:
            raise translate_error(exc, f"reading the booth id of {self.path}", self.path
                                  ) from None
        return bytes(row[0]).decode("ascii", "replace") if row else None

    def _claim(self, marker: booth.BoothMarker | None) -> str:
        """This database's booth id (checked against the marker already); a database without
        a marker (just created, or from before markers) gets an id and its marker now."""
        if marker is not None:
            return marker.booth_id
        found = self._stored_booth_id()
        with self.transaction("recording the booth id") as conn:
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                         (booth.META_BOOTH_ID, booth.new_booth_id().encode("ascii")))
            row = conn.execute("SELECT value FROM meta WHERE key = ?",
                               (booth.META_BOOTH_ID,)).fetchone()
        booth_id = bytes(row[0]).decode("ascii")
        try:
            stored = booth.write_marker(self.path, booth.new_marker(self.path, self._key,
                                                                    booth_id))
        except PermissionError:
            raise DatabaseAccessError(
                f"permission denied writing the booth marker {booth.marker_path(self.path)}"
            ) from None
        except OSError as exc:
            raise StorageError(f"cannot write the booth marker "
                               f"{booth.marker_path(self.path)}: {exc.strerror}") from None
        booth.check_booth_id(self.path, stored, booth_id)  # a racing process wrote the same
        if found is None:
            log.info("database %s: new booth id %s", self.path, booth_id)
        else:
            log.info("database %s (booth %s) had no marker: wrote one", self.path, booth_id)
        return booth_id

    def _check_in_background(self) -> None:
        conn = self._checker_conn
        if conn is None:
            return
        t0 = time.perf_counter()
        try:
            _check_pages(conn, self.path)
            self.integrity = "ok"
            log.info("database %s: every page authenticated (%.1f s)", self.path,
                     time.perf_counter() - t0)
        except DatabaseCorruptError as exc:
            self._integrity_error = exc
            self.integrity = "corrupt"
            log.error("%s; refusing further reads and writes", exc)
        except sqlcipher3.Error as exc:  # interrupted by close()
            self.integrity = "unchecked"
            log.debug("background integrity check stopped: %s", exc)
        finally:
            conn.close()

    def wait_integrity(self) -> str:
        """Block until the background check (if any) has finished; return its state."""
        if self._checker is not None:
            self._checker.join()
        return self.integrity

    def _fail_if_corrupt(self) -> None:
        if self._integrity_error is not None:
            raise self._integrity_error

    def reader(self) -> Connection:
        """A second connection for another thread (e.g. the background index rebuild)."""
        return connect(self.path, self._key, create=False)

    @contextmanager
    def transaction(self, what: str = "database write") -> Iterator[Connection]:
        """BEGIN IMMEDIATE ... COMMIT; any failure rolls back and raises a typed error."""
        self._fail_if_corrupt()
        with self.lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlcipher3.Error as exc:
                raise translate_error(exc, what, self.path) from None
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except sqlcipher3.Error as exc:
                self._rollback()
                raise translate_error(exc, what, self.path) from None
            except BaseException:
                self._rollback()
                raise

    def _rollback(self) -> None:
        try:
            self.conn.execute("ROLLBACK")
        except sqlcipher3.Error:
            log.debug("rollback after a failed transaction raised", exc_info=True)

    @contextmanager
    def read(self, what: str = "database read") -> Iterator[Connection]:
        self._fail_if_corrupt()
        with self.lock:
            try:
                yield self.conn
            except sqlcipher3.Error as exc:
                raise translate_error(exc, what, self.path) from None

    def close(self) -> None:
        checker, conn = self._checker, self._checker_conn
        if checker is not None and checker.is_alive() and conn is not None:
            conn.interrupt()
            checker.join()
        with self.lock:
            self.conn.close()


def connect(path: Path, key: bytes, create: bool, check: bool = False,
            key_is_booths: bool = False) -> Connection:
    """Open, key and verify the database; raise a typed error without touching the file.

    check: authenticate every page now (else only page 1 and the pages read later).
    key_is_booths: the booth marker has confirmed the key, so a page 1 that does not decrypt
    means a corrupt or foreign file, not a wrong key.
    """
    where = f"cannot open database {path}"
    try:
        exists = path.exists()
    except PermissionError:
        raise DatabaseAccessError(f"{where}: permission denied (cannot reach {path.parent})"
                                  ) from None
    if exists and not path.is_file():
        raise DatabaseOpenError(f"{path} is not a regular file")
    if not exists and not create:
        raise DatabaseOpenError(f"database {path} does not exist")
    if not exists:
        try:
            make_private_dir(path.parent)
        except OSError as exc:
            raise os_failure(path, exc, where) from None
    try:
        conn = sqlcipher3.connect(str(path), isolation_level=None, check_same_thread=False,
                                  timeout=10.0)
    except sqlcipher3.Error as exc:
        raise open_failure(path, exc, where, key_is_booths) from None
    try:
        if not exists and path.exists():
            # Owner only (SQLite gives its -wal and -shm files the same mode).
            os.chmod(path, 0o600)
        # SQLCipher's own log lines (a wrong key prints three) would follow ours on stderr.
        conn.execute("PRAGMA cipher_log_level = "
                     + ("WARN" if log.isEnabledFor(logging.DEBUG) else "NONE"))
        # Raw 256-bit key: no passphrase KDF, the key file already holds full entropy.
        conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        conn.execute(f"PRAGMA cipher_page_size = {CIPHER_PAGE_SIZE}")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        if exists and check:
            _check_pages(conn, path)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA secure_delete = ON")
    except sqlcipher3.Error as exc:
        conn.close()
        raise open_failure(path, exc, where, key_is_booths) from None
    except OSError as exc:
        conn.close()
        raise os_failure(path, exc, where) from None
    except BaseException:
        conn.close()
        raise
    return conn


def _check_pages(conn: Connection, path: Path) -> None:
    """Fail at open, not mid-session, when a page does not authenticate.

    quick_check reads every page of every table and index through the pager, so SQLCipher
    verifies each page's HMAC, and it sees the WAL: after a crash mid-checkpoint a torn page in
    the main file is still valid in the WAL (cipher_integrity_check, which reads the main file
    only, would call that corrupt). About a second per gigabyte.
    """
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlcipher3.DatabaseError as exc:
        raise DatabaseCorruptError(f"database {path} is corrupt: {exc}") from None
    if [tuple(r) for r in rows] != [("ok",)]:
        raise DatabaseCorruptError(f"database {path} is corrupt: {rows[0][0]}")


def _schema_version(conn: Connection) -> int:
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_version'"
    ).fetchone()
    if not has_table:
        return 0
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def _migrate(conn: Connection, path: Path) -> int:
    """Apply the missing migrations, each in its own transaction.

    The version is read again inside each transaction: two processes opening a new database at
    once both see version 0 first, and the second must skip what the first has applied."""
    migrations = _migrations()
    try:
        current = _schema_version(conn)
    except sqlcipher3.Error as exc:
        raise translate_error(exc, f"reading the schema version of {path}", path) from None
    if current > len(migrations):
        raise DatabaseOpenError(
            f"database {path} has schema version {current}, newer than this program "
            f"({len(migrations)})"
        )
    for version, name, script in migrations[current:]:
        try:
            conn.execute("BEGIN IMMEDIATE")
            if _schema_version(conn) >= version:  # another process applied it meanwhile
                conn.execute("COMMIT")
                current = version
                continue
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                "name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT "
                "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))"
            )
            for stmt in _statements(script):
                conn.execute(stmt)
            conn.execute("INSERT INTO schema_version (version, name) VALUES (?, ?)",
                         (version, name))
            conn.execute("COMMIT")
        except sqlcipher3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise translate_error(exc, f"applying migration {name}", path) from None
        log.info("applied migration %s to %s", name, path)
        current = version
    return current
