"""Pure checks of what travels: the passphrase-sealed provisioning bundle and the sealed,
topic-bound, hub-signed fleet messages (no broker, no database)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.fleet.bundle import BundleError, make_bundle, new_passphrase, open_bundle, read_header
from sync.fleet.ca import CertificateError, check_device_id
from sync.fleet.envelope import EnvelopeError, open_message, seal
from sync.fleet.folder import FleetError, init_fleet

KEY = bytes(range(32))
TOPIC = "poh/v1/f1/templates"


def test_bundle_opens_only_with_its_passphrase_and_untouched(tmp_path: Path) -> None:
    fleet = init_fleet(tmp_path / "fleet", "f1", "mqtts://broker.example:8883")
    phrase = new_passphrase()
    assert len(phrase) == 29 and phrase.count("-") == 5
    raw = make_bundle(fleet, "booth-1", phrase)
    assert read_header(raw)["device_id"] == "booth-1"
    got = open_bundle(raw, phrase)
    assert (got.fleet_id, got.device_id, got.broker_url) == ("f1", "booth-1",
                                                             "mqtts://broker.example:8883")
    assert got.template_key == fleet.secret("template.key")
    assert "template_key" not in repr(got) and KEY.hex() not in repr(got)
    with pytest.raises(BundleError, match="passphrase"):
        open_bundle(raw, phrase + "x")
    flipped = raw[:-5] + bytes([raw[-5] ^ 1]) + raw[-4:]
    with pytest.raises(BundleError):
        open_bundle(flipped, phrase)
    with pytest.raises(BundleError):
        open_bundle(raw.replace(b'"booth-1"', b'"booth-2"', 1), phrase)
    with pytest.raises(BundleError, match="at least"):
        make_bundle(fleet, "booth-1", "short")


def test_fleet_and_device_names_are_one_topic_level(tmp_path: Path) -> None:
    for bad in ("a/b", "+", "#", "", "hub", "x" * 65, "a b"):
        with pytest.raises(CertificateError):
            check_device_id(bad)
    with pytest.raises(FleetError, match="mqtts"):
        init_fleet(tmp_path / "f", "f1", "mqtt://broker:1883")
    with pytest.raises(FleetError):
        init_fleet(tmp_path / "g", "f/1", "mqtts://broker:8883")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(FleetError, match="not an empty folder"):
        init_fleet(tmp_path / "full", "f1", "mqtts://broker:8883")


def test_messages_are_bound_to_their_topic_and_signed_by_the_hub() -> None:
    hub = Ed25519PrivateKey.generate()
    msg = {"type": "deltas", "deltas": [{"seq": 1, "op": "void"}]}
    raw = seal(KEY, TOPIC, msg, hub)
    assert b"void" not in raw
    assert open_message(KEY, TOPIC, raw, hub.public_key()) == msg
    with pytest.raises(EnvelopeError, match="does not open"):
        open_message(KEY, "poh/v1/f1/booth-b/cmd/templates", raw)
    with pytest.raises(EnvelopeError, match="not signed"):
        open_message(KEY, TOPIC, raw, Ed25519PrivateKey.generate().public_key())
    unsigned = seal(KEY, TOPIC, msg)  # a booth holds the key too, but not the hub's
    with pytest.raises(EnvelopeError):
        open_message(KEY, TOPIC, unsigned, hub.public_key())
    with pytest.raises(EnvelopeError):
        open_message(bytes(32), TOPIC, raw)
