"""Typed storage failures; the CLI maps the "bad input" ones to exit code 2."""

from __future__ import annotations


class StorageError(Exception):
    """Base class of every failure raised by the storage package."""


class DatabaseOpenError(StorageError):
    """The database cannot be opened: wrong key, corrupt file, not a database, missing key."""


class DatabaseCorruptError(DatabaseOpenError):
    """The file opened with the key but a page failed its integrity check."""


class KeyMaterialError(DatabaseOpenError):
    """The key file or POH_DB_KEY is missing, malformed or readable by others."""


class WrongKeyError(DatabaseOpenError):
    """The key is not the one this booth's database was initialised with."""


class DatabaseAccessError(DatabaseOpenError):
    """The operating system refuses access: permission denied or a read-only filesystem."""


class BoothStateError(DatabaseOpenError):
    """The data folder is not in a state to open: never initialised, or an initialised booth
    whose database is missing, empty or replaced. Nothing was created or deleted."""


class NotInitialisedError(BoothStateError):
    """No booth was ever initialised in this data folder (`poh db init`)."""


class DatabaseMissingError(BoothStateError):
    """This booth was initialised, but its database file is missing or empty."""


class DatabaseReplacedError(BoothStateError):
    """The database file opens, but it is not the database this booth was initialised with."""


class StorageFullError(StorageError):
    """The disk (or the database's page limit) is full; the write was rolled back."""


class SnapshotError(StorageError):
    """An index snapshot is unreadable, tampered with or from another key generation."""


class KeyGenerationError(DatabaseCorruptError):
    """Templates of more than one key generation are stored; `poh keys repair` fixes it."""
