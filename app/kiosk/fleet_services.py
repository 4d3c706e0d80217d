"""The fleet work that runs inside `poh kiosk` for a booth that joined a fleet: the verdict drain
(woken by each committed verdict), the hub's commands (reviewers' decisions, the fleet's
workflow: app.kiosk.fleet_commands), the review frames of sessions In Review
(app.kiosk.evidence_sync) and, on a thread of its own, the pending registration and
the template sync. Both use the kiosk's own storage, so a person the hub reports from another booth
is in the very index the next session searches (a second Storage would merge into an index the
sessions never read). A booth that never joined runs none of it: its verdicts wait in the outbox.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from app.kiosk.evidence_sync import EvidenceThread
from app.kiosk.fleet_commands import CommandThread, kiosk_commands
from app.kiosk.fleet_sync import booth_template_sync, register_with
from app.kiosk.root import Kiosk
from app.kiosk.verdict_sync import start_verdict_drain
from sync.fleet.link import running_link
from sync.fleet.membership import Membership, load_membership
from sync.template_runner import TemplateSyncLoop

log = logging.getLogger(__name__)

REGISTER_TIMEOUT_S = 10.0
JOIN_S = 10.0  # a bound for a hung thread at shutdown


def _templates(kiosk: Kiosk, membership: Membership, stop: threading.Event) -> None:
    try:
        if not register_with(kiosk.storage, membership, REGISTER_TIMEOUT_S):
            log.warning("registration not confirmed by the broker yet; the template sync "
                        "keeps sending it")
        sync = booth_template_sync(kiosk.storage, membership)
        with running_link(membership, kiosk.storage.key, "templates") as link:
            TemplateSyncLoop(link, sync).run(stop)
    except Exception:  # the kiosk keeps serving; the cursor resumes the sync next start
        log.exception("fleet template sync stopped")


@contextmanager
def kiosk_fleet_services(kiosk: Kiosk) -> Iterator[bool]:
    """Run the drain and the template sync beside the kiosk until the block ends; yields
    whether the booth is in a fleet."""
    membership = load_membership(kiosk.storage.home)
    if membership is None:
        log.info("not in a fleet: verdicts stay in the outbox")
        yield False
        return
    commands = kiosk_commands(kiosk, membership)
    drain = start_verdict_drain(kiosk, membership, status_fields=commands.status_fields)
    commands.on_change = drain.drain.refresh_status  # the status names what runs now
    command_thread = CommandThread(commands, membership, kiosk.storage.key)
    command_thread.start()
    evidence = EvidenceThread(kiosk.storage, membership).start()  # review frames for the hub
    stop = threading.Event()
    thread = threading.Thread(target=_templates, args=(kiosk, membership, stop),
                              name="fleet-templates", daemon=True)
    thread.start()
    try:
        yield True
    finally:
        stop.set()
        thread.join(JOIN_S)
        evidence.stop(JOIN_S)
        command_thread.stop(JOIN_S)
        drain.stop()
