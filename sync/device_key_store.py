"""The device key's record in storage's encrypted database (meta table), and loading it.

The record is the encrypted PKCS#8 of sync.device_key, its passphrase derived from the database
key for this purpose only; the database itself is SQLCipher-encrypted as well.
"""

from __future__ import annotations

from storage.database import Database
from storage.keys import derive_key
from sync.device_key import DeviceKey, load_or_create

META_KEY = "device_signing_key"


class MetaKeySlot:
    def __init__(self, db: Database) -> None:
        self._db = db

    def read(self) -> bytes | None:
        with self._db.read("reading the device key") as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (META_KEY,)).fetchone()
        return bytes(row[0]) if row else None

    def write_once(self, record: bytes) -> bytes:
        with self._db.transaction("creating the device key") as conn:
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                         (META_KEY, record))
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (META_KEY,)).fetchone()
        return bytes(row[0])


def load_device_key(db: Database, db_key: bytes, device_id: str | None = None) -> DeviceKey:
    """This device's signing key, created in the database at first run."""
    return load_or_create(MetaKeySlot(db), derive_key(db_key, "device-signing-key"), device_id)
