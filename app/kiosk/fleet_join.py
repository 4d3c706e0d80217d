"""`poh fleet join BUNDLE`: a booth becomes a member of a fleet.

1. The bundle is opened with its passphrase (sync.fleet.bundle): it must be for this booth's
   device id (a pristine data folder is initialised with the bundle's id).
2. In ONE database transaction: every stored template is re-protected under the fleet's
   rotation (the same re-keying as `poh keys rotate`, R_fleet R^T t), the fleet id and the
   fleet template key are stored, and the registration message is queued. A crash leaves the
   booth as it was, or joined; never half re-keyed.
3. The certificates and the encrypted client key go to POH_HOME/fleet/ (swapped in whole), and
   the configuration's `sync.fleet_id` names the fleet (verdict topics carry it).
4. The registration ({v, device_id, public_jwk}, retained, on poh/v1/{fleet}/{device}/register)
   is published by the booth's sync loop first thing; `register_now` sends it right away when
   the broker is reachable.

Joining the same fleet again renews the certificates and keeps the templates as they are;
joining another fleet is refused (the templates of one fleet cannot be moved to another).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.errors import BadInputError
from app.kiosk.config import KioskConfig
from app.kiosk.config_file import update_config_section
from app.kiosk.storage import Storage, ensure_initialised, open_storage
from storage import fleet_state
from storage.protection import DIM, load_protector, random_orthogonal
from sync.canonical import canonical_bytes
from sync.fleet.bundle import BundleContents, BundleError, open_bundle
from sync.fleet.ca import CertificateError
from sync.fleet.membership import Membership, install

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JoinResult:
    fleet_id: str
    device_id: str
    broker_url: str
    templates_reprotected: int
    key_generation: int
    status: str  # "joined" or "renewed" (the same fleet again)
    config: str


def read_bundle(raw: bytes, passphrase: str) -> BundleContents:
    try:
        return open_bundle(raw, passphrase)
    except (BundleError, CertificateError) as exc:
        raise BadInputError(str(exc)) from None


def registration_payload(device_id: str, public_jwk: dict[str, str]) -> bytes:
    return canonical_bytes({"v": 1, "device_id": device_id, "public_jwk": public_jwk})


def _reprotect(storage: Storage, contents: BundleContents, payload: bytes) -> tuple[int, int,
                                                                                    bool]:
    """(templates re-protected, key generation, whether the rotation changed)."""
    matrix = random_orthogonal(DIM, contents.rotation_seed)

    def write(conn: Any) -> None:
        fleet_state.save_membership(conn, storage.key, contents.fleet_id, contents.template_key)
        fleet_state.queue_registration(conn, payload)

    with storage.db.read("reading the fleet state") as conn:
        current = fleet_state.fleet_of(conn)
        prot = load_protector(conn, storage.key)
        templates = int(conn.execute("SELECT count(*) FROM templates").fetchone()[0])
    if current is not None and current != contents.fleet_id:
        raise BadInputError(f"this booth is a member of fleet {current!r}; it cannot join "
                            f"{contents.fleet_id!r} (its templates belong to its fleet)")
    if prot is not None and prot.matrix.shape == matrix.shape and bool(
            (prot.matrix == matrix).all()):
        with storage.db.transaction("renewing the fleet membership") as conn:
            write(conn)
        return 0, prot.generation, False
    generation = storage.faces.rotate_keys(matrix, extra=write)
    return templates, generation, True


def set_fleet_in_config(path: Path, fleet_id: str) -> None:
    """sync.fleet_id := fleet_id in the configuration file, every other setting kept."""
    update_config_section("sync", lambda: {"fleet_id": fleet_id}, path)


def join_fleet(home: Path, config: KioskConfig, config_file: Path, contents: BundleContents,
               rebuild_progress: Callable[[int, int], None] | None = None
               ) -> tuple[JoinResult, Membership]:
    """rebuild_progress: the stages of the face-index build that re-protecting the templates
    brings (see open_storage)."""
    ensure_initialised(home, config.storage, device_id=contents.device_id)
    storage = open_storage(home, config.storage, evidence=config.evidence, sync=config.sync,
                           rebuild_progress=rebuild_progress)
    try:
        dk = storage.device_key()
        if dk.device_id != contents.device_id:
            raise BadInputError(
                f"this bundle is for device {contents.device_id!r}, this booth is "
                f"{dk.device_id!r}: issue one with `poh fleet add-device {dk.device_id}` "
                f"(nothing was changed)")
        payload = registration_payload(dk.device_id, dk.public_jwk())
        n, generation, rotated = _reprotect(storage, contents, payload)
        membership = install(home, contents, storage.key)
    finally:
        storage.close()
    set_fleet_in_config(config_file, contents.fleet_id)
    log.info("joined fleet %s as %s (%d templates re-protected)", contents.fleet_id,
             contents.device_id, n)
    return JoinResult(contents.fleet_id, contents.device_id, contents.broker_url, n,
                      generation, "joined" if rotated else "renewed",
                      str(config_file)), membership
