"""A booth's provisioning bundle: one file, sealed with a passphrase, that travels on a USB stick.

Layout: a first line `POH-BUNDLE 1`, a second line of JSON (fleet id, device id, scrypt
parameters and salt: shown before the passphrase is asked, so a booth can refuse a bundle made
for another device), then the AES-256-GCM nonce and ciphertext. The key is scrypt(passphrase,
salt) with N=2^16, r=8, p=1 (64 MiB, a fraction of a second here: costly to guess in bulk); the
two header lines are the associated data, so a header that was changed fails to open.

Inside (JSON): the device's client certificate (CN = device id) and its private key, the fleet
CA certificate, the broker URL, the hub's Ed25519 public key (JWK: verifies the hub's acks and
template deltas), the fleet template key and the fleet rotation seed. Without the passphrase the
file is 32 bytes of salt and nonce around ciphertext. The passphrase travels apart from the stick
(read out or on paper): `poh fleet add-device` makes a random 120-bit one unless given one.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from sync.fleet.ca import (
    cert_pem,
    check_device_id,
    check_issued_by,
    common_name,
    issue,
    key_pem,
    load_cert,
    load_key,
)
from sync.fleet.folder import FleetFolder, ca_pair
from sync.strict_json import InputError, parse_json

MAGIC = b"POH-BUNDLE 1\n"
VERSION = 1
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**16, 8, 1
MAX_BUNDLE_BYTES = 256 * 1024
MIN_PASSPHRASE = 12


class BundleError(ValueError):
    """A bundle that cannot be opened or used; str() is one line."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise BundleError(f"bundle: {what} is missing")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise BundleError(f"bundle: {what} is not base64") from None


def new_passphrase() -> str:
    """120 random bits as six groups of four base32 letters: easy to read out and type."""
    text = base64.b32encode(secrets.token_bytes(15)).decode("ascii").lower()
    return "-".join(text[i:i + 4] for i in range(0, 24, 4))


def _key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


@dataclass(frozen=True)
class BundleContents:
    fleet_id: str
    device_id: str
    broker_url: str
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes  # the client's TLS key (the booth stores it encrypted)
    hub_public_jwk: dict[str, str]
    template_key: bytes
    rotation_seed: bytes
    issued_at: int

    def __repr__(self) -> str:  # never the keys
        return f"BundleContents(fleet_id={self.fleet_id!r}, device_id={self.device_id!r})"


def make_bundle(fleet: FleetFolder, device_id: str, passphrase: str) -> bytes:
    """Issue the device's client certificate and seal everything it needs."""
    check_device_id(device_id)
    if len(passphrase) < MIN_PASSPHRASE:
        raise BundleError(f"the passphrase must have at least {MIN_PASSPHRASE} characters")
    ca_key_raw, ca_cert_raw = ca_pair(fleet)
    key, cert = issue(load_key(ca_key_raw), load_cert(ca_cert_raw), device_id, fleet.fleet_id)
    inner = {
        "v": VERSION, "fleet_id": fleet.fleet_id, "device_id": device_id,
        "broker_url": fleet.broker_url, "ca_pem": ca_cert_raw.decode("ascii"),
        "cert_pem": cert_pem(cert).decode("ascii"), "key_pem": key_pem(key).decode("ascii"),
        "hub_public_jwk": fleet.hub_public_jwk(),
        "template_key": _b64(fleet.secret("template.key")),
        "rotation_seed": _b64(fleet.secret("rotation.seed")),
        "issued_at": int(time.time()),
    }
    salt = secrets.token_bytes(16)
    header = json.dumps({"fleet_id": fleet.fleet_id, "device_id": device_id, "kdf": "scrypt",
                         "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt)},
                        sort_keys=True).encode("ascii") + b"\n"
    nonce = os.urandom(12)
    sealed = AESGCM(_key(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)).encrypt(
        nonce, json.dumps(inner).encode("utf-8"), MAGIC + header)
    return MAGIC + header + nonce + sealed


def read_header(raw: bytes) -> dict[str, Any]:
    """The clear header (fleet id, device id, KDF): bytes that are not a bundle are refused."""
    if len(raw) > MAX_BUNDLE_BYTES:
        raise BundleError("not a provisioning bundle (too large)")
    if not raw.startswith(MAGIC):
        raise BundleError("not a provisioning bundle (no POH-BUNDLE header)")
    end = raw.find(b"\n", len(MAGIC))
    if end < 0:
        raise BundleError("provisioning bundle is truncated")
    try:
        header = parse_json(raw[len(MAGIC):end], max_bytes=4096)
    except InputError as exc:
        raise BundleError(f"provisioning bundle header is corrupt ({exc})") from None
    if not isinstance(header, dict) or header.get("kdf") != "scrypt":
        raise BundleError("provisioning bundle header is corrupt")
    for name in ("n", "r", "p"):
        if not isinstance(header.get(name), int) or not 0 < header[name] <= 2**20:
            raise BundleError(f"provisioning bundle header: bad scrypt {name}")
    return header


def open_bundle(raw: bytes, passphrase: str) -> BundleContents:
    header = read_header(raw)
    end = raw.find(b"\n", len(MAGIC)) + 1
    salt = _unb64(header.get("salt"), "salt")
    body = raw[end:]
    if len(body) < 12 + 16:
        raise BundleError("provisioning bundle is truncated")
    try:
        plain = AESGCM(_key(passphrase, salt, header["n"], header["r"], header["p"])).decrypt(
            body[:12], body[12:], raw[:end])
    except InvalidTag:
        raise BundleError("the provisioning bundle does not open with this passphrase (wrong "
                          "passphrase, or the file was changed)") from None
    except (ValueError, MemoryError) as exc:
        raise BundleError(f"provisioning bundle cannot be opened ({exc})") from None
    try:
        doc = parse_json(plain, max_bytes=MAX_BUNDLE_BYTES)
    except InputError as exc:
        raise BundleError(f"provisioning bundle content is corrupt ({exc})") from None
    return _contents(doc, header)


def _contents(doc: Any, header: dict[str, Any]) -> BundleContents:
    if not isinstance(doc, dict) or doc.get("v") != VERSION:
        raise BundleError("provisioning bundle content has an unknown version")
    strs = ("fleet_id", "device_id", "broker_url", "ca_pem", "cert_pem", "key_pem")
    if not all(isinstance(doc.get(k), str) for k in strs) or not isinstance(
            doc.get("hub_public_jwk"), dict) or not isinstance(doc.get("issued_at"), int):
        raise BundleError("provisioning bundle content is incomplete")
    if (doc["fleet_id"], doc["device_id"]) != (header.get("fleet_id"), header.get("device_id")):
        raise BundleError("provisioning bundle header and content disagree")
    check_device_id(doc["device_id"])
    ca, cert = load_cert(doc["ca_pem"].encode()), load_cert(doc["cert_pem"].encode())
    key = load_key(doc["key_pem"].encode())
    check_issued_by(cert, ca)
    if common_name(cert) != doc["device_id"] or key.public_key() != cert.public_key():
        raise BundleError("provisioning bundle: the certificate is not the device's")
    tkey = _unb64(doc.get("template_key"), "template key")
    seed = _unb64(doc.get("rotation_seed"), "rotation seed")
    if len(tkey) != 32 or len(seed) != 32:
        raise BundleError("provisioning bundle: the fleet keys have the wrong size")
    return BundleContents(doc["fleet_id"], doc["device_id"], doc["broker_url"],
                          doc["ca_pem"].encode(), doc["cert_pem"].encode(),
                          doc["key_pem"].encode(), dict(doc["hub_public_jwk"]), tkey, seed,
                          doc["issued_at"])
