"""The fleet folder that `poh fleet init` creates: the fleet's root of trust, kept offline.

    FLEET_DIR/fleet.json          fleet id, broker URL, hub identity (public)
    FLEET_DIR/ca/ca.crt, ca.key   the CA that signs the broker's and every client's certificate
    FLEET_DIR/secrets/            template.key (AES-256-GCM key for templates on the wire),
                                  rotation.seed (seed of the fleet's template rotation)
    FLEET_DIR/hub/                the hub's TLS pair (CN "hub"), its Ed25519 signing key and
                                  public JWK, a copy of the CA certificate and the template key
    FLEET_DIR/broker/             what the broker machine needs: CA certificate, server pair,
                                  mosquitto.conf and acl rendered from packaging/mosquitto/
    FLEET_DIR/devices/            provisioning bundles written by `poh fleet add-device`

Every folder is owner-only (0700) and every file 0600, written durably (storage.durable). The
folder holds the fleet's secrets in the clear: keep it on an encrypted, offline disk; only
`broker/` goes to the broker machine and `hub/` to the hub machine.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from storage.durable import make_private_dir, write_new_file
from sync.device_key import public_jwk
from sync.fleet import broker_conf
from sync.fleet.ca import (
    DEVICE_ID_PATTERN,
    HUB_IDENTITY,
    CertificateError,
    cert_pem,
    issue,
    key_pem,
    load_cert,
    load_key,
    new_ca,
)
from sync.strict_json import InputError, read_json_file

FLEET_VERSION = 1
KEY_BYTES = 32


class FleetError(ValueError):
    """A fleet folder or a fleet parameter that cannot be used; str() is one line."""


def check_broker_url(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    try:
        port = parts.port or 8883
    except ValueError:
        raise FleetError(f"broker URL {url!r}: bad port") from None
    if parts.scheme != "mqtts" or not parts.hostname:
        raise FleetError(f"broker URL {url!r}: a fleet broker is mqtts://host[:port] (TLS)")
    return parts.hostname, port


@dataclass(frozen=True)
class FleetFolder:
    """An existing fleet folder, read (secrets are read on demand, never cached)."""

    path: Path
    fleet_id: str
    broker_url: str
    created_at: int

    def file(self, *parts: str) -> Path:
        return self.path.joinpath(*parts)

    def read(self, *parts: str) -> bytes:
        try:
            return self.file(*parts).read_bytes()
        except OSError as exc:
            raise FleetError(f"fleet folder {self.path}: cannot read {'/'.join(parts)} "
                             f"({exc.strerror})") from None

    def secret(self, name: str) -> bytes:
        raw = self.read("secrets", name).decode("ascii", "replace").strip()
        try:
            key = bytes.fromhex(raw)
        except ValueError:
            key = b""
        if len(key) != KEY_BYTES:
            raise FleetError(f"fleet folder {self.path}: secrets/{name} is not a 256-bit key")
        return key

    def hub_signing_key(self) -> Ed25519PrivateKey:
        key = serialization.load_pem_private_key(self.read("hub", "signing.key"), None)
        if not isinstance(key, Ed25519PrivateKey):
            raise FleetError(f"fleet folder {self.path}: hub/signing.key is not Ed25519")
        return key

    def hub_public_jwk(self) -> dict[str, str]:
        return public_jwk(self.hub_signing_key().public_key(), HUB_IDENTITY)


def load_fleet(path: Path) -> FleetFolder:
    try:
        doc = read_json_file(path / "fleet.json", max_bytes=64 * 1024)
    except InputError as exc:
        raise FleetError(f"{path} is not a fleet folder ({exc})") from None
    if (not isinstance(doc, dict) or doc.get("v") != FLEET_VERSION
            or not isinstance(doc.get("fleet_id"), str)
            or not isinstance(doc.get("broker_url"), str)
            or not isinstance(doc.get("created_at"), int)):
        raise FleetError(f"{path}/fleet.json: not a version {FLEET_VERSION} fleet description")
    return FleetFolder(path, doc["fleet_id"], doc["broker_url"], doc["created_at"])


def _write(path: Path, data: bytes) -> None:
    make_private_dir(path.parent)
    write_new_file(path, data)


def init_fleet(path: Path, fleet_id: str, broker_url: str,
               extra_hosts: tuple[str, ...] = ()) -> FleetFolder:
    """Create a new fleet in `path` (which must not exist or be empty)."""
    if not DEVICE_ID_PATTERN.match(fleet_id):
        raise FleetError(f"fleet id {fleet_id!r}: 1-64 letters, digits, '_', '.', '-'")
    host, port = check_broker_url(broker_url)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise FleetError(f"{path} exists and is not an empty folder (nothing was written)")
    make_private_dir(path)
    ca_key, ca_cert = new_ca(fleet_id)
    hosts = tuple(dict.fromkeys((host, "localhost", "127.0.0.1", *extra_hosts)))
    srv_key, srv_cert = issue(ca_key, ca_cert, host, fleet_id, server_hosts=hosts)
    hub_key, hub_cert = issue(ca_key, ca_cert, HUB_IDENTITY, fleet_id)
    signing = Ed25519PrivateKey.generate()
    template_key = secrets.token_bytes(KEY_BYTES)
    _write(path / "ca" / "ca.key", key_pem(ca_key))
    _write(path / "ca" / "ca.crt", cert_pem(ca_cert))
    _write(path / "secrets" / "template.key", (template_key.hex() + "\n").encode())
    _write(path / "secrets" / "rotation.seed",
           (secrets.token_bytes(KEY_BYTES).hex() + "\n").encode())
    _write(path / "hub" / "ca.crt", cert_pem(ca_cert))
    _write(path / "hub" / "hub.crt", cert_pem(hub_cert))
    _write(path / "hub" / "hub.key", key_pem(hub_key))
    _write(path / "hub" / "signing.key", signing.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    _write(path / "hub" / "template.key", (template_key.hex() + "\n").encode())
    _write(path / "broker" / "ca.crt", cert_pem(ca_cert))
    _write(path / "broker" / "server.crt", cert_pem(srv_cert))
    _write(path / "broker" / "server.key", key_pem(srv_key))
    broker_dir = path / "broker"
    _write(broker_dir / "mosquitto.conf",
           broker_conf.render_conf(broker_dir.resolve(), port).encode())
    _write(broker_dir / "acl", broker_conf.render_acl(fleet_id).encode())
    created = int(time.time())
    doc = {"v": FLEET_VERSION, "fleet_id": fleet_id, "broker_url": broker_url,
           "created_at": created, "hub_identity": HUB_IDENTITY}
    folder = FleetFolder(path, fleet_id, broker_url, created)
    _write(path / "hub" / "signing.jwk.json",
           (json.dumps(folder.hub_public_jwk(), indent=2) + "\n").encode())
    # fleet.json last: a folder without it is an interrupted init, never a usable fleet
    _write(path / "fleet.json", (json.dumps(doc, indent=2) + "\n").encode())
    return folder


def ca_pair(folder: FleetFolder) -> tuple[bytes, bytes]:
    """(CA key PEM, CA certificate PEM), checked to belong together."""
    key_raw, cert_raw = folder.read("ca", "ca.key"), folder.read("ca", "ca.crt")
    key, cert = load_key(key_raw), load_cert(cert_raw)
    if key.public_key() != cert.public_key():
        raise CertificateError(f"{folder.path}/ca: the key does not match the certificate")
    return key_raw, cert_raw
