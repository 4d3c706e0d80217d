"""Reusable Proof-of-Human credential: a compact JWS (EdDSA) and its offline verification.

It states that a live (and, if the workflow searched, unique) human was checked by device D at
time T with liveness method M, valid until E, for a pseudonymous subject: an HMAC of vendor_data
under a secret only the issuing device holds. It carries no biometric data, no image, no score.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sync.device_key import (
    DeviceKey,
    DeviceKeyError,
    b64url,
    b64url_decode,
    key_id,
    public_key_from_jwk,
)
from sync.strict_json import (
    InputError,
    StrictJsonError,
    parse_json,
    read_input_file,
    read_json_file,
)
from sync.vocabulary import LivenessMethod

TOKEN_TYPE = "poh-credential+jwt"
CLAIMS = "poh"
_SUBJECT_PURPOSE = "credential subject v1"
MAX_TOKEN_CHARS = 4096
MAX_KEYS_BYTES = 1_000_000  # a JWK is about 200 bytes: thousands of issuers fit
MAX_REVOCATIONS_BYTES = 16_000_000  # some 300,000 revoked ids
MAX_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z: beyond it no date can be shown


class CredentialError(ValueError):
    """A credential is refused (expired, revoked, unknown key, forged, malformed); one line."""


@dataclass(frozen=True)
class Credential:
    """The verified content of a credential."""

    token: str
    jti: str
    issuer: str  # device id
    key_id: str
    subject: str
    method: LivenessMethod
    unique: bool
    issued_at: int
    expires_at: int
    workflow: str
    age_over: int | None
    verdict_sequence: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"jti": self.jti, "issuer": self.issuer, "key_id": self.key_id,
                "subject": self.subject, "method": self.method.value, "live": True,
                "unique": self.unique, "issued_at": self.issued_at,
                "expires_at": self.expires_at, "workflow": self.workflow,
                "age_over": self.age_over, "verdict_sequence": self.verdict_sequence}


def subject_id(key: DeviceKey, vendor_data: str) -> str:
    """Pseudonymous, stable per device: HMAC-SHA256 of vendor_data under a device secret."""
    mac = hmac.new(key.derive_secret(_SUBJECT_PURPOSE), vendor_data.encode("utf-8"),
                   hashlib.sha256)
    return b64url(mac.digest()[:18])


def issue_credential(key: DeviceKey, *, vendor_data: str, method: LivenessMethod, unique: bool,
                     workflow: str, validity_seconds: int, age_over: int | None = None,
                     verdict_sequence: int | None = None, now: float | None = None) -> str:
    iat = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "iss": key.device_id, "sub": subject_id(key, vendor_data), "iat": iat, "nbf": iat,
        "exp": iat + int(validity_seconds), "jti": str(uuid.uuid4()),
        CLAIMS: {"live": True, "unique": unique, "method": method.value, "workflow": workflow},
    }
    if age_over is not None:
        claims[CLAIMS]["age_over"] = int(age_over)
    if verdict_sequence is not None:
        claims[CLAIMS]["verdict_seq"] = int(verdict_sequence)
    return key.encode_jws(claims, TOKEN_TYPE)


@dataclass(frozen=True)
class IssuerKey:
    key_id: str
    device_id: str | None
    public: Ed25519PublicKey


def load_issuer_keys(doc: Any) -> dict[str, IssuerKey]:
    """Trusted issuers from a JWKS ({"keys": [...]}), one JWK, or `poh keys show` output."""
    if isinstance(doc, dict) and isinstance(doc.get("public_key"), dict):
        doc = doc["public_key"]
    jwks = doc["keys"] if isinstance(doc, dict) and "keys" in doc else [doc]
    if not isinstance(jwks, list) or not jwks:
        raise CredentialError("issuer keys: expected a JWK set with at least one key")
    out: dict[str, IssuerKey] = {}
    for i, jwk in enumerate(jwks):
        try:
            pub = public_key_from_jwk(jwk)
        except DeviceKeyError as exc:
            raise CredentialError(f"issuer keys: key {i}: {exc}") from exc
        kid = key_id(pub)
        if jwk.get("kid") not in (None, kid):
            raise CredentialError(f"issuer keys: key {i}: kid {jwk.get('kid')} is not the "
                                  f"fingerprint of its key ({kid})")
        device = jwk.get("device_id")
        if device is not None and not isinstance(device, str):
            raise CredentialError(f"issuer keys: key {i}: device_id must be a string")
        if kid in out:
            # which of the two (and its device binding) would count is not for us to guess
            raise CredentialError(f"issuer keys: key {i}: key {kid} is listed twice")
        out[kid] = IssuerKey(kid, device, pub)
    return out


def load_issuer_keys_file(path: Path) -> dict[str, IssuerKey]:
    """Trusted issuer keys from a file, read with the project's strict JSON reader."""
    try:
        doc = read_json_file(path, max_bytes=MAX_KEYS_BYTES)
    except InputError as exc:
        raise CredentialError(f"issuer keys: {exc}") from exc
    return load_issuer_keys(doc)


def load_revocations_file(path: Path) -> frozenset[str]:
    """A revocation list: {"revoked": ["<jti>", ...]} (a bare JSON list is accepted too).

    Strictly read: `{"revoked": ["<jti>"], "revoked": []}` is refused, never read as "nothing
    revoked"; so is any other key beside "revoked" (a misspelt "revokd" would revoke nothing)."""
    try:
        doc = read_json_file(path, max_bytes=MAX_REVOCATIONS_BYTES)
    except InputError as exc:
        raise CredentialError(f"revocations: {exc}") from exc
    if isinstance(doc, dict) and set(doc) != {"revoked"}:
        raise CredentialError(f"revocations: {path}: expected {{\"revoked\": [\"<jti>\", ...]}} "
                              f"and no other key")
    items = doc.get("revoked") if isinstance(doc, dict) else doc
    if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
        raise CredentialError(f"revocations: {path}: expected {{\"revoked\": [\"<jti>\", ...]}}")
    return frozenset(items)


def read_token_file(path: Path) -> str:
    """A credential kept in a file (at most MAX_TOKEN_CHARS and a newline)."""
    try:
        raw = read_input_file(path, max_bytes=MAX_TOKEN_CHARS + 2)
    except InputError as exc:
        raise CredentialError(str(exc)) from exc
    try:
        return raw.decode("ascii").strip()
    except UnicodeDecodeError as exc:
        raise CredentialError(f"{path}: not a compact JWS (not ASCII)") from exc


def _segment(part: str, what: str) -> dict[str, Any]:
    """A JWS header or payload, read with the strict reader: PyJWT's json.loads would keep the
    last of two equal claims, and another verifier might keep the first."""
    try:
        doc = parse_json(b64url_decode(part), max_bytes=MAX_TOKEN_CHARS, max_depth=4)
    except (DeviceKeyError, StrictJsonError) as exc:
        raise CredentialError(f"malformed token {what}: {exc}") from exc
    if not isinstance(doc, dict):
        raise CredentialError(f"malformed token {what}: not a JSON object")
    return doc


def _timestamp(claims: dict[str, Any], name: str) -> int:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TIMESTAMP:
        raise CredentialError(f"{name} must be a whole number of seconds since 1970 (up to "
                              f"year 9999)")
    return value


def verify_credential(token: str, issuers: dict[str, IssuerKey],
                      revoked: frozenset[str] = frozenset(), now: float | None = None,
                      leeway_seconds: int = 0) -> Credential:
    """Verify offline: known issuer key, valid signature, in its validity window, not revoked."""
    token = token.strip()
    if not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 2:
        raise CredentialError("not a compact JWS (three base64url parts)")
    for part in token.split("."):
        try:
            b64url_decode(part)  # strict: one token string per signed content, no variants
        except DeviceKeyError as exc:
            raise CredentialError(f"malformed token: {exc}") from exc
    head, body_part, _ = token.split(".")
    header = _segment(head, "header")
    strict_claims = _segment(body_part, "claims")
    if header.get("alg") != "EdDSA" or header.get("typ") != TOKEN_TYPE:
        raise CredentialError(f"not a Proof-of-Human credential (alg {header.get('alg')}, "
                              f"typ {header.get('typ')})")
    kid = header.get("kid")
    issuer = issuers.get(kid) if isinstance(kid, str) else None
    if issuer is None or not isinstance(kid, str):
        raise CredentialError(f"signed by an unknown key ({kid})")
    at = time.time() if now is None else now
    try:
        # exp/nbf are checked here against `at`, not the wall clock, so tests and audits can
        # verify "as of" a moment
        claims = jwt.decode(token, issuer.public, algorithms=["EdDSA"],
                            options={"require": ["iss", "sub", "iat", "nbf", "exp", "jti"],
                                     "verify_exp": False, "verify_nbf": False,
                                     "verify_iat": False})
    except jwt.InvalidSignatureError as exc:
        raise CredentialError("signature does not match the token") from exc
    except jwt.InvalidTokenError as exc:
        raise CredentialError(f"invalid token: {exc}") from exc
    if claims != strict_claims:  # cannot happen once the strict read passed; never trust one
        raise CredentialError("malformed token claims: read two ways")
    exp, nbf, iat = (_timestamp(claims, n) for n in ("exp", "nbf", "iat"))
    for name in ("iss", "sub", "jti"):
        if not isinstance(claims[name], str):
            raise CredentialError(f"{name} must be a string")
    if at >= exp + leeway_seconds:
        raise CredentialError(f"expired at {_utc(exp)}")
    if at < nbf - leeway_seconds:
        raise CredentialError(f"not valid before {_utc(nbf)}")
    if claims["jti"] in revoked:
        raise CredentialError(f"revoked ({claims['jti']})")
    if issuer.device_id is not None and claims["iss"] != issuer.device_id:
        raise CredentialError(f"issuer {claims['iss']} does not own key {kid}")
    body = claims.get(CLAIMS)
    if not isinstance(body, dict) or body.get("live") is not True:
        raise CredentialError("token does not state a live human")
    try:
        method = LivenessMethod(str(body.get("method")))
    except ValueError as exc:
        raise CredentialError(f"unknown liveness method {body.get('method')}") from exc
    age_over = body.get("age_over")
    seq = body.get("verdict_seq")
    return Credential(token=token, jti=str(claims["jti"]), issuer=str(claims["iss"]),
                      key_id=kid, subject=str(claims["sub"]), method=method,
                      unique=body.get("unique") is True, issued_at=iat,
                      expires_at=exp, workflow=str(body.get("workflow", "")),
                      age_over=age_over if _count(age_over) else None,
                      verdict_sequence=seq if _count(seq) else None)


def _count(value: Any) -> bool:
    """A whole number as a claim carries it (JSON true is not 1)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _utc(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
