"""Operator mode's gate: a PIN kept as a salted scrypt hash in the configuration, a lockout
after too many wrong tries that survives a restart, and an automatic lock when idle.

The hash is `scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>` (standard base64, padded); `poh operator
set-pin` writes it into the `operator` section. The lockout state (failures, locked until) is a
small 0600 JSON file in the data folder, written atomically; its times are wall-clock epochs so
that a restart resets nothing. A file that cannot be read counts as a lockout (fail closed).
Qt-free: the operator screen drives an OperatorGate.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.errors import BadInputError
from storage.durable import replace_file

log = logging.getLogger(__name__)

PIN_RE = re.compile(r"^[0-9]{4,12}$")
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32
MAX_N = 2**17  # a hash naming more work than this is refused (a configuration is not a DoS)
STATE_FILE = "operator-lock.json"


class PinError(BadInputError):
    """A PIN that is not 4 to 12 digits, or a malformed PIN hash."""


@dataclass(frozen=True)
class PinHash:
    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def parse_pin_hash(text: str) -> PinHash:
    """The parts of a PIN hash; PinError (one line) for anything else."""
    parts = text.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise PinError("operator PIN hash: expected scrypt$n$r$p$salt$hash")
    if not all(re.fullmatch(r"[0-9]{1,7}", x) for x in parts[1:4]):
        raise PinError("operator PIN hash: n, r and p must be small decimal numbers")
    n, r, p = (int(x) for x in parts[1:4])
    try:
        salt = base64.b64decode(parts[4], validate=True)
        digest = base64.b64decode(parts[5], validate=True)
    except (ValueError, binascii.Error):
        raise PinError("operator PIN hash: salt and hash must be base64") from None
    if not (2 <= n <= MAX_N and n & (n - 1) == 0):
        raise PinError(f"operator PIN hash: n must be a power of two up to {MAX_N}")
    if not (1 <= r <= 32 and 1 <= p <= 16):
        raise PinError("operator PIN hash: r must be 1-32 and p 1-16")
    if len(salt) < SALT_BYTES or not 16 <= len(digest) <= 64:
        raise PinError("operator PIN hash: salt of at least 16 bytes, hash of 16-64 bytes")
    return PinHash(n, r, p, salt, digest)


def _scrypt(pin: str, h: PinHash | tuple[int, int, int, bytes, int]) -> bytes:
    n, r, p, salt, size = (h.n, h.r, h.p, h.salt, len(h.digest)) if isinstance(h, PinHash) else h
    return hashlib.scrypt(pin.encode("ascii"), salt=salt, n=n, r=r, p=p, dklen=size,
                          maxmem=128 * r * n * (p + 2) + 1_048_576)


def hash_pin(pin: str) -> str:
    """A fresh salted scrypt hash of a PIN of 4 to 12 digits (PinError for anything else)."""
    if not PIN_RE.match(pin):
        raise PinError("the operator PIN must be 4 to 12 digits")
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(pin, (SCRYPT_N, SCRYPT_R, SCRYPT_P, salt, HASH_BYTES))
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_pin(pin: str, pin_hash: str) -> bool:
    """Whether `pin` matches the hash (constant-time compare); a non-PIN is simply False."""
    h = parse_pin_hash(pin_hash)
    if not PIN_RE.match(pin):
        return False
    return hmac.compare_digest(_scrypt(pin, h), h.digest)


class OperatorConfig(BaseModel):
    """The `operator` section: the PIN hash (None: operator mode cannot be opened), the tries
    before a lockout, its length and the idle time after which an open operator mode locks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pin_hash: str | None = None
    max_attempts: int = Field(default=5, ge=1, le=100)
    lockout_seconds: float = Field(default=300.0, gt=0, le=86_400)
    idle_lock_seconds: float = Field(default=120.0, gt=0, le=3_600)

    @field_validator("pin_hash")
    @classmethod
    def _valid_hash(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                parse_pin_hash(v)
            except PinError as exc:
                raise ValueError(str(exc)) from None
        return v


class UnlockOutcome(enum.Enum):
    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"
    NOT_SET = "not_set"


@dataclass(frozen=True)
class UnlockResult:
    outcome: UnlockOutcome
    remaining_tries: int | None = None  # WRONG: tries left before the lockout
    seconds_left: float | None = None  # LOCKED: until another try is taken

    @property
    def ok(self) -> bool:
        return self.outcome is UnlockOutcome.OK


class OperatorLockedError(BadInputError):
    """An operator action was asked for while operator mode is locked."""


class OperatorGate:
    """Thread-safe: locked -> (right PIN) -> unlocked -> (lock(), idle timeout) -> locked.

    `max_attempts` wrong PINs in a row lock it for `lockout_seconds`; during a lockout even the
    right PIN is refused. `monotonic` (idle timeout) and `wall` (lockout, persisted) are
    injectable clocks; `state_path` None keeps the lockout in memory only (tests, the lab).
    """

    def __init__(self, config: OperatorConfig, state_path: Path | None = None, *,
                 monotonic: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self._config = config
        self._path = state_path
        self._mono = monotonic
        self._wall = wall
        self._lock = threading.Lock()
        self._unlocked_at: float | None = None  # monotonic time of the last activity
        self._failures, self._locked_until = self._load()

    # ---- persistence -------------------------------------------------------------------------
    def _load(self) -> tuple[int, float]:
        if self._path is None:
            return 0, 0.0
        try:
            raw = json.loads(self._path.read_bytes())
            failures, until = raw["failures"], raw["locked_until"]
            if (not isinstance(failures, int) or isinstance(failures, bool) or failures < 0
                    or not isinstance(until, int | float) or isinstance(until, bool)):
                raise ValueError("bad types")
            return failures, float(until)
        except FileNotFoundError:
            return 0, 0.0
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("operator lock state %s unreadable (%s): locked", self._path, exc)
            until = self._wall() + self._config.lockout_seconds
            self._save(self._config.max_attempts, until)
            return self._config.max_attempts, until

    def _save(self, failures: int, locked_until: float) -> None:
        if self._path is None:
            return
        replace_file(self._path,
                     json.dumps({"failures": failures, "locked_until": locked_until}).encode())

    # ---- the state machine -------------------------------------------------------------------
    def _lock_left(self) -> float:
        # a wall clock set back cannot stretch a lockout beyond its configured length
        return min(self._locked_until - self._wall(), self._config.lockout_seconds)

    def unlock(self, pin: str) -> UnlockResult:
        with self._lock:
            if self._config.pin_hash is None:
                return UnlockResult(UnlockOutcome.NOT_SET)
            left = self._lock_left()
            if left > 0:
                return UnlockResult(UnlockOutcome.LOCKED, seconds_left=left)
            if self._locked_until:  # a lockout that ran out: a fresh round of tries
                self._failures, self._locked_until = 0, 0.0
                self._save(0, 0.0)
            if verify_pin(pin, self._config.pin_hash):
                if self._failures:
                    self._save(0, 0.0)
                self._failures = 0
                self._unlocked_at = self._mono()
                log.info("operator mode unlocked")
                return UnlockResult(UnlockOutcome.OK)
            self._unlocked_at = None
            failures = self._failures + 1
            max_attempts = self._config.max_attempts
            until = self._wall() + self._config.lockout_seconds if failures >= max_attempts \
                else 0.0
            self._save(failures, until)  # on disk before the answer: a restart resets nothing
            self._failures, self._locked_until = failures, until
            if until:
                log.warning("operator PIN: %d wrong tries, locked for %.0f s", failures,
                            self._config.lockout_seconds)
                return UnlockResult(UnlockOutcome.LOCKED,
                                    seconds_left=self._config.lockout_seconds)
            return UnlockResult(UnlockOutcome.WRONG, remaining_tries=max_attempts - failures)

    def lock(self) -> None:
        with self._lock:
            self._unlocked_at = None

    def _is_unlocked(self) -> bool:
        if self._unlocked_at is None:
            return False
        if self._mono() - self._unlocked_at >= self._config.idle_lock_seconds:
            self._unlocked_at = None
            log.info("operator mode locked after being idle")
            return False
        return True

    @property
    def unlocked(self) -> bool:
        with self._lock:
            return self._is_unlocked()

    def touch(self) -> None:
        """Operator activity: restart the idle timer (nothing when locked)."""
        with self._lock:
            if self._is_unlocked():
                self._unlocked_at = self._mono()

    def require(self) -> None:
        """Raise OperatorLockedError unless unlocked; counts as activity."""
        with self._lock:
            if not self._is_unlocked():
                raise OperatorLockedError("operator mode is locked: enter the operator PIN")
            self._unlocked_at = self._mono()

    @property
    def failures(self) -> int:
        with self._lock:
            return self._failures


def gate_for(config: OperatorConfig, home: Path) -> OperatorGate:
    """The gate of the booth whose data folder is `home` (lockout state kept there)."""
    return OperatorGate(config, home / STATE_FILE)
