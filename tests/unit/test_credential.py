"""Reusable credentials: issue, verify offline, refuse expired, revoked, unknown-key and forged."""

from __future__ import annotations

import json
from pathlib import Path

import jwt
import pytest

from sync.credential import (
    CredentialError,
    issue_credential,
    load_issuer_keys,
    load_issuer_keys_file,
    load_revocations_file,
    subject_id,
    verify_credential,
)
from sync.device_key import DeviceKey
from sync.vocabulary import LivenessMethod

T0 = 1_750_000_000


def _token(key: DeviceKey, **kw: object) -> str:
    args: dict[str, object] = dict(vendor_data="voter-0042", method=LivenessMethod.PASSIVE,
                                   unique=True, workflow="poh-default@1", validity_seconds=3600,
                                   age_over=18, verdict_sequence=5, now=T0)
    args.update(kw)
    return issue_credential(key, **args)  # type: ignore[arg-type]


def test_issue_and_verify() -> None:
    key = DeviceKey.generate()
    token = _token(key)
    cred = verify_credential(token, load_issuer_keys({"keys": [key.public_jwk()]}), now=T0 + 10)
    assert cred.issuer == key.device_id and cred.key_id == key.key_id
    assert cred.method is LivenessMethod.PASSIVE and cred.unique and cred.age_over == 18
    assert cred.expires_at == T0 + 3600
    assert cred.subject == subject_id(key, "voter-0042") != "voter-0042"
    claims = jwt.decode(token, options={"verify_signature": False})
    text = json.dumps(claims)
    assert "voter-0042" not in text  # pseudonymous: vendor_data never appears
    assert set(claims) == {"iss", "sub", "iat", "nbf", "exp", "jti", "poh"}
    assert set(claims["poh"]) <= {"live", "unique", "method", "workflow", "age_over",
                                  "verdict_seq"}  # no template, no image, no score


def test_expired_and_not_yet_valid() -> None:
    key = DeviceKey.generate()
    keys = load_issuer_keys(key.public_jwk())
    token = _token(key)
    with pytest.raises(CredentialError, match="expired"):
        verify_credential(token, keys, now=T0 + 3600)
    with pytest.raises(CredentialError, match="not valid before"):
        verify_credential(token, keys, now=T0 - 1)


def test_revoked(tmp_path: Path) -> None:
    key = DeviceKey.generate()
    keys = load_issuer_keys(key.public_jwk())
    token = _token(key)
    jti = verify_credential(token, keys, now=T0).jti
    path = tmp_path / "revoked.json"
    path.write_text(json.dumps({"revoked": ["other", jti]}))
    with pytest.raises(CredentialError, match="revoked"):
        verify_credential(token, keys, load_revocations_file(path), now=T0)


def test_unknown_key_and_forgery(tmp_path: Path) -> None:
    key, stranger = DeviceKey.generate(), DeviceKey.generate()
    token = _token(key)
    path = tmp_path / "issuers.json"
    path.write_text(json.dumps({"keys": [stranger.public_jwk()]}))
    with pytest.raises(CredentialError, match="unknown key"):
        verify_credential(token, load_issuer_keys_file(path), now=T0)
    # a token signed by a stranger but naming the trusted key's kid
    forged = jwt.encode(jwt.decode(token, options={"verify_signature": False}),
                        stranger._private, algorithm="EdDSA",
                        headers={"kid": key.key_id, "typ": "poh-credential+jwt"})
    with pytest.raises(CredentialError, match="signature"):
        verify_credential(forged, load_issuer_keys(key.public_jwk()), now=T0)


def test_any_changed_character_fails() -> None:
    key = DeviceKey.generate()
    keys = load_issuer_keys(key.public_jwk())
    token = _token(key)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for i, ch in enumerate(token):
        if ch == ".":
            continue
        repl = alphabet[(alphabet.index(ch) + 1) % len(alphabet)]
        with pytest.raises(CredentialError):
            verify_credential(token[:i] + repl + token[i + 1:], keys, now=T0)


def test_issuer_key_set_checks() -> None:
    key = DeviceKey.generate()
    jwk = key.public_jwk()
    with pytest.raises(CredentialError, match="kid"):
        load_issuer_keys({**jwk, "kid": "not-the-fingerprint"})
    with pytest.raises(CredentialError):
        load_issuer_keys({"keys": []})
    # a key listed for another device id cannot vouch for this issuer
    keys = load_issuer_keys({**jwk, "device_id": "someone-else"})
    with pytest.raises(CredentialError, match="does not own"):
        verify_credential(_token(key), keys, now=T0)
