"""Operator PIN: scrypt hash, wrong tries, lockout (fake clocks), persistence, config check."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from app.errors import BadInputError
from app.kiosk.config import parse_config
from app.kiosk.operator import (
    OperatorConfig,
    OperatorGate,
    OperatorLockedError,
    PinError,
    UnlockOutcome,
    hash_pin,
    parse_pin_hash,
    verify_pin,
)


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def pin_hash() -> str:
    return hash_pin("2468")


def gate(pin_hash: str | None, clock: Clock, path: Path | None = None, **kw: float
         ) -> OperatorGate:
    cfg = OperatorConfig(pin_hash=pin_hash, **kw)  # type: ignore[arg-type]
    return OperatorGate(cfg, path, monotonic=clock, wall=clock)


def test_hash_and_verify(pin_hash: str) -> None:
    h = parse_pin_hash(pin_hash)
    assert (h.n, h.r, h.p, len(h.salt), len(h.digest)) == (2**14, 8, 1, 16, 32)
    assert verify_pin("2468", pin_hash)
    assert not verify_pin("2469", pin_hash)
    assert not verify_pin("24680", pin_hash)
    assert not verify_pin("abcd", pin_hash)
    assert hash_pin("2468") != pin_hash  # salted


@pytest.mark.parametrize("pin", ["123", "1234567890123", "12a4", " 1234", "１２３４", ""])
def test_bad_pins_refused(pin: str) -> None:
    with pytest.raises(PinError):
        hash_pin(pin)


@pytest.mark.parametrize("bad", [
    "scrypt$16384$8$1$AAAA$AAAA",  # salt and hash too short
    "bcrypt$16384$8$1$" + "A" * 24 + "$" + "A" * 44,
    "scrypt$1000$8$1$" + "A" * 24 + "$" + "A" * 44,  # n not a power of two
    "scrypt$16384$8$1$" + "A" * 24 + "$not-base64!",
    "scrypt$16384$8$1$" + "A" * 24,
    "2468",
])
def test_config_refuses_a_bad_hash(bad: str) -> None:
    with pytest.raises(BadInputError, match="operator"):
        parse_config(json.dumps({"operator": {"pin_hash": bad}}))


def test_config_takes_a_good_hash(pin_hash: str) -> None:
    cfg = parse_config(json.dumps({"operator": {"pin_hash": pin_hash, "max_attempts": 3}}))
    assert cfg.operator.pin_hash == pin_hash and cfg.operator.max_attempts == 3
    assert parse_config("{}").operator.pin_hash is None
    with pytest.raises(BadInputError):
        parse_config(json.dumps({"operator": {"pin": "1234"}}))


def test_not_set() -> None:
    g = gate(None, Clock())
    assert g.unlock("1234").outcome is UnlockOutcome.NOT_SET
    assert not g.unlocked


def test_unlock_lock_and_idle(pin_hash: str) -> None:
    clock = Clock()
    g = gate(pin_hash, clock, idle_lock_seconds=120)
    with pytest.raises(OperatorLockedError):
        g.require()
    assert g.unlock("2468").ok and g.unlocked
    clock.t += 100
    g.require()  # activity restarts the idle timer
    clock.t += 100
    assert g.unlocked
    clock.t += 21
    assert not g.unlocked
    assert g.unlock("2468").ok
    g.lock()
    assert not g.unlocked


def test_wrong_tries_lock_out_even_the_right_pin(pin_hash: str) -> None:
    clock = Clock()
    g = gate(pin_hash, clock, lockout_seconds=300)
    for left in (4, 3, 2, 1):
        r = g.unlock("0000")
        assert r.outcome is UnlockOutcome.WRONG and r.remaining_tries == left
    r = g.unlock("0000")
    assert r.outcome is UnlockOutcome.LOCKED and r.seconds_left == 300
    clock.t += 200
    r = g.unlock("2468")
    assert r.outcome is UnlockOutcome.LOCKED and r.seconds_left == pytest.approx(100)
    assert not g.unlocked
    clock.t += 101
    assert g.unlock("2468").ok
    assert g.failures == 0


def test_right_pin_resets_the_count(pin_hash: str) -> None:
    g = gate(pin_hash, Clock())
    for _ in range(4):
        g.unlock("1111")
    assert g.unlock("2468").ok
    assert g.unlock("1111").remaining_tries == 4


def test_lockout_survives_a_restart(pin_hash: str, tmp_path: Path) -> None:
    clock = Clock()
    state = tmp_path / "operator-lock.json"
    g = gate(pin_hash, clock, state)
    for _ in range(3):
        g.unlock("1111")
    assert state.stat().st_mode & 0o777 == 0o600
    g2 = gate(pin_hash, clock, state)  # the kiosk restarted
    assert g2.unlock("1111").remaining_tries == 1
    assert g2.unlock("1111").outcome is UnlockOutcome.LOCKED
    clock.t += 10
    g3 = gate(pin_hash, clock, state)
    r = g3.unlock("2468")
    assert r.outcome is UnlockOutcome.LOCKED and r.seconds_left == pytest.approx(290)
    clock.t += 300
    assert gate(pin_hash, clock, state).unlock("2468").ok
    assert json.loads(state.read_text()) == {"failures": 0, "locked_until": 0.0}
    assert [p.name for p in tmp_path.iterdir()] == ["operator-lock.json"]  # no temp left


def test_wall_clock_set_back_cannot_stretch_the_lockout(pin_hash: str, tmp_path: Path) -> None:
    clock = Clock()
    state = tmp_path / "s.json"
    state.write_text(json.dumps({"failures": 5, "locked_until": clock.t + 10**9}))
    r = gate(pin_hash, clock, state).unlock("2468")
    assert r.outcome is UnlockOutcome.LOCKED and r.seconds_left == 300


@pytest.mark.parametrize("content", [b"", b"{", b'{"failures": "x", "locked_until": 0}',
                                     b"[]", b'{"failures": true, "locked_until": 0}'])
def test_unreadable_state_fails_closed(pin_hash: str, tmp_path: Path, content: bytes) -> None:
    clock = Clock()
    state = tmp_path / "s.json"
    state.write_bytes(content)
    os.chmod(state, 0o600)
    r = gate(pin_hash, clock, state).unlock("2468")
    assert r.outcome is UnlockOutcome.LOCKED
    assert json.loads(state.read_text())["failures"] == 5
