"""What a booth keeps of its fleet after `poh fleet join`: POH_HOME/fleet/.

    membership.json   fleet id, device id, broker URL, the hub's public key (JWK), join time
    ca.crt            the fleet CA (verifies the broker)
    client.crt        this booth's certificate (CN = device id)
    client.key.enc    its private key as encrypted PKCS#8, the passphrase derived from the
                      database key: no plaintext key on disk

The fleet template key and the fleet rotation live in the encrypted database (storage). For a
connection the key is decrypted into an anonymous memory file (memfd) that paho reads once while
it builds its TLS context, then closed.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from storage.durable import fsync_dir, make_private_dir, write_all, write_new_file
from storage.keys import derive_key
from storage.memfile import memory_file
from sync.device_key import DeviceKeyError, public_key_from_jwk
from sync.fleet.bundle import BundleContents
from sync.fleet.ca import key_pem, load_key
from sync.strict_json import InputError, read_json_file

FLEET_DIR = "fleet"
VERSION = 1


class MembershipError(ValueError):
    """A booth's fleet files that cannot be used; str() is one line."""


def _key_password(db_key: bytes) -> bytes:
    return derive_key(db_key, "fleet-tls-client-key").hex().encode("ascii")


@dataclass(frozen=True)
class Membership:
    folder: Path
    fleet_id: str
    device_id: str
    broker_url: str
    hub_public_jwk: dict[str, str]
    joined_at: int

    @property
    def ca(self) -> Path:
        return self.folder / "ca.crt"

    @property
    def cert(self) -> Path:
        return self.folder / "client.crt"

    def hub_key(self) -> Ed25519PublicKey:
        try:
            return public_key_from_jwk(self.hub_public_jwk)
        except DeviceKeyError as exc:
            raise MembershipError(f"{self.folder}: the hub key is unusable ({exc})") from None

    def topic(self, leaf: str) -> str:
        """This booth's own topic poh/v1/{fleet}/{device}/{leaf}."""
        return f"poh/v1/{self.fleet_id}/{self.device_id}/{leaf}"

    @contextmanager
    def client_key_file(self, db_key: bytes) -> Iterator[Path]:
        """The plaintext client key as a memory file, for as long as the TLS set-up reads it."""
        try:
            pem = (self.folder / "client.key.enc").read_bytes()
        except OSError as exc:
            raise MembershipError(f"{self.folder}: cannot read client.key.enc "
                                  f"({exc.strerror})") from None
        plain = key_pem(load_key(pem, _key_password(db_key)))
        with memory_file("poh-tls-client-key") as (fd, path):
            write_all(fd, plain)
            yield Path(path)


def membership_dir(home: Path) -> Path:
    return home / FLEET_DIR


def load_membership(home: Path) -> Membership | None:
    """The booth's fleet membership, or None when it never joined one."""
    folder = membership_dir(home)
    if not (folder / "membership.json").exists():
        return None
    try:
        doc = read_json_file(folder / "membership.json", max_bytes=64 * 1024)
    except InputError as exc:
        raise MembershipError(f"{folder}/membership.json: {exc}") from None
    if (not isinstance(doc, dict) or doc.get("v") != VERSION
            or not all(isinstance(doc.get(k), str)
                       for k in ("fleet_id", "device_id", "broker_url"))
            or not isinstance(doc.get("hub_public_jwk"), dict)
            or not isinstance(doc.get("joined_at"), int)):
        raise MembershipError(f"{folder}/membership.json is not a version {VERSION} membership")
    return Membership(folder, doc["fleet_id"], doc["device_id"], doc["broker_url"],
                      dict(doc["hub_public_jwk"]), doc["joined_at"])


def install(home: Path, contents: BundleContents, db_key: bytes) -> Membership:
    """Write the membership files (into a fresh folder, swapped in whole: a crash leaves the
    old membership or the new one, never half of each)."""
    folder = membership_dir(home)
    stage = home / f".{FLEET_DIR}.{os.getpid()}.new"
    if stage.exists():
        shutil.rmtree(stage)
    make_private_dir(stage)
    enc_key = key_pem(load_key(contents.key_pem), _key_password(db_key))
    doc = {"v": VERSION, "fleet_id": contents.fleet_id, "device_id": contents.device_id,
           "broker_url": contents.broker_url, "hub_public_jwk": contents.hub_public_jwk,
           "joined_at": int(time.time())}
    write_new_file(stage / "ca.crt", contents.ca_pem)
    write_new_file(stage / "client.crt", contents.cert_pem)
    write_new_file(stage / "client.key.enc", enc_key)
    write_new_file(stage / "membership.json", (json.dumps(doc, indent=2) + "\n").encode())
    fsync_dir(stage)
    old = home / f".{FLEET_DIR}.{os.getpid()}.old"
    if folder.exists():
        os.replace(folder, old)
    os.replace(stage, folder)
    fsync_dir(home)
    if old.exists():
        shutil.rmtree(old)
    loaded = load_membership(home)
    if loaded is None:
        raise MembershipError(f"{folder}: the membership vanished after installing it")
    return loaded
