"""A booth's fleet work outside a session: publish the registration now, run the template
sync (sync.template_sync over sync.transport), and report the booth's fleet state."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.errors import BadInputError
from app.kiosk.config import KioskConfig
from app.kiosk.operator_console import erase_person
from app.kiosk.storage import Storage, open_storage
from storage import fleet_state
from sync.fleet.link import publish_and_wait, running_link
from sync.fleet.membership import Membership, load_membership
from sync.template_runner import TemplateSyncLoop
from sync.template_sync import BoothTemplateSync, MergeReport

log = logging.getLogger(__name__)


def member_storage(home: Path, config: KioskConfig, *, background_rebuild: bool = False
                   ) -> tuple[Storage, Membership]:
    storage = open_storage(home, config.storage, evidence=config.evidence, sync=config.sync,
                           create=False, background_rebuild=background_rebuild)
    try:
        membership = load_membership(home)
        if membership is None:
            raise BadInputError(f"the booth in {home} has not joined a fleet: run "
                                "`poh fleet join BUNDLE`")
    except BaseException:
        storage.close()
        raise
    return storage, membership


def register_now(home: Path, config: KioskConfig, membership: Membership,
                 timeout: float) -> bool:
    """Publish the pending registration (retained) if the broker answers within `timeout`."""
    storage = open_storage(home, config.storage, sync=config.sync, create=False)
    try:
        return register_with(storage, membership, timeout)
    finally:
        storage.close()


def register_with(storage: Storage, membership: Membership, timeout: float) -> bool:
    """register_now on a storage the caller holds open (the kiosk's own)."""
    with storage.db.read("reading the pending registration") as conn:
        payload = fleet_state.pending_registration(conn)
    if payload is None:
        return True
    with running_link(membership, storage.key, "register") as link:
        ok = publish_and_wait(link, membership.topic("register"), payload, retain=True,
                              timeout=timeout)
    if ok:
        with storage.db.transaction("marking the registration sent") as conn:
            fleet_state.registration_sent(conn, payload)
    return ok


def booth_template_sync(storage: Storage, membership: Membership) -> BoothTemplateSync:
    evidence = storage.evidence()

    def erase(vendor_data: str) -> None:
        erase_person(storage.faces, evidence, vendor_data)

    return BoothTemplateSync(storage.faces, storage.db, storage.key, membership, erase)


@contextmanager
def template_sync_running(home: Path, config: KioskConfig,
                          on_merge: Callable[[MergeReport], None] | None = None
                          ) -> Iterator[tuple[TemplateSyncLoop, Storage]]:
    """The booth's template sync on a thread of its own until the block ends."""
    storage, membership = member_storage(home, config, background_rebuild=True)
    stop = threading.Event()
    thread: threading.Thread | None = None
    try:
        sync = booth_template_sync(storage, membership)
        with running_link(membership, storage.key, "templates") as link:
            loop = TemplateSyncLoop(link, sync, on_merge=on_merge)
            thread = threading.Thread(target=loop.run, args=(stop,), name="template-sync",
                                      daemon=True)
            thread.start()
            try:
                yield loop, storage
            finally:
                stop.set()
                thread.join(10)
    finally:
        storage.close()


def fleet_status(home: Path, config: KioskConfig) -> dict[str, Any]:
    storage, membership = member_storage(home, config)
    try:
        with storage.db.read("reading the fleet state") as conn:
            out = {
                "fleet_id": membership.fleet_id, "device_id": membership.device_id,
                "broker_url": membership.broker_url,
                "template_cursor": fleet_state.cursor(conn),
                "fleet_entries": int(conn.execute(
                    "SELECT count(*) FROM fleet_entries").fetchone()[0]),
                "unpublished_templates": len(fleet_state.unpublished(conn, 1_000_000)),
                "pending_erasures": len(fleet_state.pending_erasures(conn)),
                "registration_pending": fleet_state.pending_registration(conn) is not None,
            }
        out["gallery_size"] = storage.faces.gallery_size()
        return out
    finally:
        storage.close()


@contextmanager
def fleet_companion(home: Path, config: KioskConfig, register_timeout: float = 10.0
                    ) -> Iterator[None]:
    """What runs beside the verdict drain of a fleet booth (`poh sync run`): the pending
    registration first (the hub refuses verdicts of a device it does not know), then the
    template sync and the reviewers' decisions on their own links until the block ends. A
    booth that never joined gets nothing."""
    membership = load_membership(home)
    if membership is None:
        yield
        return
    if not register_now(home, config, membership, register_timeout):
        log.warning("registration not confirmed by the broker yet; the template sync keeps "
                    "sending it")
    from app.kiosk.evidence_sync import evidence_running  # review frames for the hub
    from app.kiosk.fleet_commands import decisions_running  # reviewers' decisions

    with template_sync_running(home, config), decisions_running(home, config), \
            evidence_running(home, config):
        yield
