"""The device's Ed25519 signing key: created at first run, stored encrypted, never logged.

The private key is kept as encrypted PKCS#8 (PBES2, AES-256) whose passphrase is derived from a
deployment secret (the database key) with HKDF, inside a small JSON record that also holds the
device id. Where the record lives is a `KeySlot`: a file here, the encrypted database's meta
table once storage offers one. Creation is write-once, so two processes starting together still
end with a single key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from storage.durable import create_file_once
from sync.strict_json import StrictJsonError, parse_json

log = logging.getLogger(__name__)

RECORD_VERSION = 1


class DeviceKeyError(ValueError):
    """A key record or a public key cannot be read (wrong secret, corrupt, wrong format)."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding: a string that does not re-encode identically is refused.

    (The last character of a 32- or 64-byte value carries unused bits; without this check two
    different strings would decode to the same key or signature.)
    """
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise DeviceKeyError("not base64url") from exc
    if b64url(raw) != text:
        raise DeviceKeyError("not canonical base64url")
    return raw


def key_id(public: Ed25519PublicKey) -> str:
    """A short fingerprint of the public key: the first 16 bytes of SHA-256, base64url."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return b64url(hashlib.sha256(raw).digest()[:16])


def public_jwk(public: Ed25519PublicKey, device_id: str | None = None) -> dict[str, str]:
    """RFC 8037 JWK of the public key (kty OKP, crv Ed25519)."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw), "kid": key_id(public),
           "alg": "EdDSA", "use": "sig"}
    if device_id is not None:
        jwk["device_id"] = device_id
    return jwk


def public_key_from_jwk(jwk: object) -> Ed25519PublicKey:
    if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise DeviceKeyError("not an Ed25519 JWK (kty OKP, crv Ed25519)")
    x = jwk.get("x")
    if not isinstance(x, str):
        raise DeviceKeyError("JWK has no x")
    raw = b64url_decode(x)
    if len(raw) != 32:
        raise DeviceKeyError(f"Ed25519 public key must be 32 bytes, got {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """A public key given as a JWK (or a one-key JWKS), a PEM block, or raw base64url."""
    text = text.strip()
    if text.startswith("{"):
        try:
            doc = parse_json(text, max_bytes=64 * 1024)  # the project's one strict reader
        except StrictJsonError as exc:
            raise DeviceKeyError(f"public key JSON: {exc}") from exc
        if isinstance(doc, dict) and isinstance(doc.get("keys"), list):
            if len(doc["keys"]) != 1:
                raise DeviceKeyError("a key set with several keys: pass the one JWK to use")
            doc = doc["keys"][0]
        if isinstance(doc, dict) and isinstance(doc.get("public_key"), dict):
            doc = doc["public_key"]  # the output of `poh keys show --public --json`
        return public_key_from_jwk(doc)
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode("ascii"))
        except ValueError as exc:
            raise DeviceKeyError("PEM does not hold a public key") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise DeviceKeyError("PEM key is not Ed25519")
        return key
    raw = b64url_decode(text)
    if len(raw) != 32:
        raise DeviceKeyError(f"Ed25519 public key must be 32 bytes, got {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def verify_signature(public: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        public.verify(signature, data)
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class DeviceKey:
    """The device id and its signing key. repr() never shows the private key."""

    device_id: str
    created_at: int
    _private: Ed25519PrivateKey

    def __repr__(self) -> str:
        return f"DeviceKey(device_id={self.device_id!r}, key_id={self.key_id!r})"

    @property
    def public(self) -> Ed25519PublicKey:
        return self._private.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public)

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)

    def public_jwk(self) -> dict[str, str]:
        return public_jwk(self.public, self.device_id)

    def encode_jws(self, claims: dict[str, Any], typ: str) -> str:
        """A compact JWS (EdDSA) of the claims, with this key's kid in the header."""
        return jwt.encode(claims, self._private, algorithm="EdDSA",
                          headers={"kid": self.key_id, "typ": typ})

    def derive_secret(self, purpose: str) -> bytes:
        """A 32-byte secret bound to this key (e.g. for pseudonymous subject ids)."""
        raw = self._private.private_bytes(serialization.Encoding.Raw,
                                          serialization.PrivateFormat.Raw,
                                          serialization.NoEncryption())
        return HKDF(hashes.SHA256(), 32, salt=b"poh-kiosk device key",
                    info=purpose.encode("utf-8")).derive(raw)

    @classmethod
    def generate(cls, device_id: str | None = None) -> DeviceKey:
        return cls(device_id or f"poh-{secrets.token_hex(6)}", int(time.time()),
                   Ed25519PrivateKey.generate())

    # ---- the encrypted record ----------------------------------------------------------------
    def to_record(self, secret: bytes) -> bytes:
        pem = self._private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(_passphrase(secret)))
        return json.dumps({"version": RECORD_VERSION, "device_id": self.device_id,
                           "created_at": self.created_at, "key_id": self.key_id,
                           "pkcs8": pem.decode("ascii")}, sort_keys=True).encode("utf-8")

    @classmethod
    def from_record(cls, record: bytes, secret: bytes) -> DeviceKey:
        try:
            doc = parse_json(record, max_bytes=64 * 1024)  # the project's one strict reader
        except StrictJsonError as exc:
            raise DeviceKeyError(f"device key record is corrupt ({exc})") from exc
        if not isinstance(doc, dict):
            raise DeviceKeyError("device key record is corrupt (not a JSON object)")
        if doc.get("version") != RECORD_VERSION:
            raise DeviceKeyError(f"device key record version {doc.get('version')} unknown")
        device_id, created_at, pkcs8 = doc.get("device_id"), doc.get("created_at"), doc.get("pkcs8")
        if (not isinstance(device_id, str) or not isinstance(pkcs8, str)
                or not isinstance(created_at, int) or isinstance(created_at, bool)):
            raise DeviceKeyError("device key record is corrupt (device_id, created_at, pkcs8)")
        try:
            key = serialization.load_pem_private_key(pkcs8.encode("ascii"),
                                                     password=_passphrase(secret))
        except ValueError as exc:  # cryptography: wrong password or bad data; non-ASCII PEM
            raise DeviceKeyError("device key record cannot be decrypted with this secret") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise DeviceKeyError("device key record does not hold an Ed25519 key")
        dk = cls(device_id, created_at, key)
        if doc.get("key_id") != dk.key_id:
            raise DeviceKeyError("device key record's key_id does not match its key")
        return dk


def _passphrase(secret: bytes) -> bytes:
    if len(secret) < 16:
        raise DeviceKeyError("the secret protecting the device key is too short")
    # the PKCS#8 PBKDF runs on top; HKDF only separates this use of the secret from others
    return b64url(HKDF(hashes.SHA256(), 32, salt=b"poh-kiosk",
                       info=b"device signing key v1").derive(secret)).encode("ascii")


class KeySlot(Protocol):
    """Where the encrypted key record lives."""

    def read(self) -> bytes | None: ...

    def write_once(self, record: bytes) -> bytes:
        """Store the record unless one exists; return the stored one (which may be another's)."""
        ...


class FileKeySlot:
    """The record in a file (mode 0600), created atomically with O_EXCL semantics."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None

    def write_once(self, record: bytes) -> bytes:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        create_file_once(self.path, record)  # another process may have won the race
        stored = self.read()
        if stored is None:
            raise DeviceKeyError(f"{self.path}: device key vanished after creation")
        return stored


def load_or_create(slot: KeySlot, secret: bytes, device_id: str | None = None) -> DeviceKey:
    """This device's key: read it, or create it on first run."""
    record = slot.read()
    if record is None:
        fresh = DeviceKey.generate(device_id)
        record = slot.write_once(fresh.to_record(secret))
        dk = DeviceKey.from_record(record, secret)
        if dk.key_id == fresh.key_id:
            log.info("created device key %s for device %s", dk.key_id, dk.device_id)
        return dk
    return DeviceKey.from_record(record, secret)
