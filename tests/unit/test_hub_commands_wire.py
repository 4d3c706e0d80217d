"""Pure checks of the console's password hashes, the hub's signed commands to booths and the
booth status's new optional fields (absent, not null, when a booth does not send them)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.fleet.commands import (
    CommandError,
    ReviewDecision,
    sign_command,
    verify_review,
)
from sync.hub.console.passwords import PasswordError, hash_password, verify_password
from sync.wire.messages import BoothStatus, parse_status


def test_scrypt_hash_verifies_only_its_password() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("scrypt$32768$8$1$")
    assert verify_password("correct horse battery", stored)
    assert not verify_password("correct horse batterY", stored)
    assert hash_password("correct horse battery") != stored  # a new salt each time
    assert not verify_password("x", "not a hash") and not verify_password("x", "md5$1$2$3$4$5")
    with pytest.raises(PasswordError):
        hash_password("short")


def _decision(**changes: object) -> ReviewDecision:
    base: dict[str, object] = dict(fleet_id="f", device_id="booth-b", decision_id=4, previous=0,
                                   session_id="s", status="Declined", reviewer="rita",
                                   reason="same voter", decided_at="2026-01-01T00:00:00.000Z")
    return ReviewDecision.model_validate({**base, **changes})


def test_review_decision_is_signed_canonical_and_bound_to_fleet_and_device() -> None:
    hub = Ed25519PrivateKey.generate()
    raw = sign_command(_decision(), hub)
    assert verify_review(raw, hub.public_key(), "f", "booth-b") == _decision()
    with pytest.raises(CommandError, match="not the hub's"):
        verify_review(raw, Ed25519PrivateKey.generate().public_key(), "f", "booth-b")
    with pytest.raises(CommandError, match="for f/booth-b, not f/booth-a"):
        verify_review(raw, hub.public_key(), "f", "booth-a")
    with pytest.raises(CommandError):
        verify_review(raw.replace(b"same voter", b"other text"), hub.public_key(), "f",
                      "booth-b")
    with pytest.raises(CommandError):  # not canonical: a space added
        verify_review(raw.replace(b":", b": ", 1), hub.public_key(), "f", "booth-b")


def test_booth_status_optional_fields_are_absent_when_unknown() -> None:
    old = BoothStatus(state="online", backlog=2, last_sync=None)
    assert old.to_bytes() == b'{"backlog":2,"last_sync":null,"state":"online","v":1}'
    new = BoothStatus(state="online", backlog=0, workflow_id="default", workflow_version=3,
                      review_cursor=7)
    assert parse_status(new.to_bytes()) == new
    assert b"workflow_error" not in new.to_bytes()
