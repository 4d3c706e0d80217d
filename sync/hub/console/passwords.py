"""Operator passwords: scrypt (RFC 7914) with a per-password salt, compared in constant time.

    scrypt$N$r$p$<salt, base64>$<key, base64>

N = 2**15, r = 8, p = 1: about 32 MiB and a few tens of milliseconds per check, which is what
makes a stolen table expensive to guess through. The parameters are stored with each hash, so
they can be raised later without invalidating existing passwords.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

N, R, P, KEY_BYTES = 2**15, 8, 1, 32
MIN_LENGTH = 10
MAX_LENGTH = 1024


class PasswordError(ValueError):
    """A password that cannot be used; str() is one line."""


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordError(f"a password has at most {MAX_LENGTH} characters")


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=256 * 1024 * 1024, dklen=KEY_BYTES)


def hash_password(password: str) -> str:
    check_strength(password)
    salt = os.urandom(16)
    key = _derive(password, salt, N, R, P)
    return "$".join(["scrypt", str(N), str(R), str(P), base64.b64encode(salt).decode(),
                     base64.b64encode(key).decode()])


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, key = stored.split("$")
        if kind != "scrypt":
            return False
        expected = base64.b64decode(key)
        got = _derive(password[:MAX_LENGTH], base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(got, expected)


# checked against when the name is unknown, so both answers take as long
DUMMY_HASH = "scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + base64.b64encode(bytes(32)).decode()
