"""The hub's device registry: which verdict key belongs to which booth, and revocation.

A registration arrives on the device's own `register` topic, which the broker's ACL lets only
that device's certificate write: the topic's device id is the proof of who sent the key.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sync.device_key import DeviceKeyError, key_id, public_key_from_jwk
from sync.hub.db import insert, now_iso
from sync.hub.schema import devices, fleets

log = logging.getLogger(__name__)


class RegistryError(ValueError):
    """A registration or registry change that cannot be made; str() is one line."""


@dataclass(frozen=True)
class Device:
    fleet_id: str
    device_id: str
    public: Ed25519PublicKey
    revoked: bool
    revoked_reason: str | None


def register_device(engine: sa.Engine, fleet_id: str, device_id: str,
                    public_jwk: dict[str, str]) -> str:
    """Record a device's key. The first key stays: a different key for a known device is
    refused (revoke the device and provision a new id to change it). Returns the key id."""
    try:
        public = public_key_from_jwk(public_jwk)
    except DeviceKeyError as exc:
        raise RegistryError(f"device {device_id}: unusable public key ({exc})") from None
    kid = key_id(public)
    with engine.begin() as conn:
        conn.execute(insert(engine, devices).values(
            fleet_id=fleet_id, device_id=device_id, key_id=kid,
            public_jwk=json.dumps(public_jwk, sort_keys=True),
            registered_at=now_iso()).on_conflict_do_nothing())
        row = conn.execute(sa.select(devices.c.key_id).where(
            devices.c.fleet_id == fleet_id, devices.c.device_id == device_id)).one()
    if row.key_id != kid:
        raise RegistryError(f"device {fleet_id}/{device_id} is registered with key "
                            f"{row.key_id}, not {kid}: kept the first")
    log.info("device %s/%s registered (key %s)", fleet_id, device_id, kid)
    return kid


def revoke_device(engine: sa.Engine, fleet_id: str, device_id: str, reason: str) -> None:
    with engine.begin() as conn:
        done = conn.execute(sa.update(devices).where(
            devices.c.fleet_id == fleet_id, devices.c.device_id == device_id).values(
            revoked_at=now_iso(), revoked_reason=reason[:300])).rowcount
    if not done:
        raise RegistryError(f"no device {fleet_id}/{device_id} is registered")
    log.warning("device %s/%s revoked: %s", fleet_id, device_id, reason)


def set_testing(engine: sa.Engine, fleet_id: str, testing: bool) -> None:
    """A testing fleet accepts verdicts captured from files and simulations."""
    with engine.begin() as conn:
        conn.execute(insert(engine, fleets).values(fleet_id=fleet_id, testing=testing)
                     .on_conflict_do_update(index_elements=["fleet_id"],
                                            set_={"testing": testing}))


def is_testing(conn: sa.Connection, fleet_id: str) -> bool:
    row = conn.execute(sa.select(fleets.c.testing).where(fleets.c.fleet_id == fleet_id)).first()
    return bool(row.testing) if row is not None else False


def lookup(conn: sa.Connection, fleet_id: str, device_id: str) -> Device | None:
    row = conn.execute(sa.select(devices).where(
        devices.c.fleet_id == fleet_id, devices.c.device_id == device_id)).first()
    if row is None:
        return None
    return Device(fleet_id, device_id, public_key_from_jwk(json.loads(row.public_jwk)),
                  row.revoked_at is not None, row.revoked_reason)
