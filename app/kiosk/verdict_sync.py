"""The verdict drain inside the kiosk: on its own thread, woken by every committed verdict
(Kiosk.on_verdict), for a booth that joined a fleet. The kiosk entry point starts it after
open_kiosk and stops it before closing the kiosk (a clean stop leaves a retained "offline")."""

from __future__ import annotations

from app.kiosk.root import Kiosk
from sync.drain import DrainSettings, OutboxDrain
from sync.drain.booth import DrainThread, member_drain
from sync.drain.drain import StatusFields
from sync.fleet.membership import Membership


def attach_drain(kiosk: Kiosk, drain: OutboxDrain) -> DrainThread:
    """Run `drain` beside the kiosk; each new verdict wakes it at once."""
    thread = DrainThread(drain)
    kiosk.on_verdict(lambda _result: thread.wake())
    thread.start()
    return thread


def start_verdict_drain(kiosk: Kiosk, membership: Membership,
                        settings: DrainSettings | None = None,
                        status_fields: StatusFields | None = None) -> DrainThread:
    """The drain of a fleet booth (`membership`: what `poh fleet join` installed), started.
    `status_fields`: what else its retained status says (the workflow running, the decisions
    applied: app.kiosk.fleet_commands)."""
    drain = member_drain(kiosk.storage.verdicts(), membership, kiosk.storage.key, settings,
                         status_fields)
    return attach_drain(kiosk, drain)
