"""The hub's commands at a fleet booth (sync.fleet.command_sync): reviewers' decisions applied
to the booth's sessions, and the fleet's workflow applied to the running kiosk (checked
completely by Kiosk.apply_workflow first; a refusal keeps the old one and is reported in the
booth's status, as is the version running)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.errors import BadInputError
from app.kiosk.config import KioskConfig
from app.kiosk.root import Kiosk
from app.kiosk.storage import open_storage
from sync.fleet.command_sync import BoothCommands, CommandLoop, WorkflowRefused
from sync.fleet.link import running_link
from sync.fleet.membership import Membership, load_membership

log = logging.getLogger(__name__)
ROLE = "commands"


def kiosk_commands(kiosk: Kiosk, membership: Membership) -> BoothCommands:
    def apply(document: dict[str, Any]) -> tuple[str, int]:
        try:
            wf = kiosk.apply_workflow(json.dumps(document))
        except BadInputError as exc:
            raise WorkflowRefused(str(exc)) from None
        return wf.workflow_id, wf.version

    def running() -> tuple[str, int]:
        wf = kiosk.workflow
        return wf.workflow_id, wf.version

    return BoothCommands(kiosk.storage.db, membership, apply_workflow=apply,
                         running_workflow=running)


def run_commands(commands: BoothCommands, membership: Membership, db_key: bytes,
                 stop: threading.Event) -> None:
    """The command loop on its own link until `stop` (for a thread)."""
    try:
        with running_link(membership, db_key, ROLE) as link:
            CommandLoop(link, commands).run(stop)
    except Exception:  # the kiosk keeps serving; the hub re-sends what the cursor lacks
        log.exception("hub command loop stopped")


class CommandThread:
    def __init__(self, commands: BoothCommands, membership: Membership, db_key: bytes) -> None:
        self.commands = commands
        self._stop = threading.Event()
        self._thread = threading.Thread(target=run_commands, name="fleet-commands",
                                        args=(commands, membership, db_key, self._stop),
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)


@contextmanager
def decisions_running(home: Path, config: KioskConfig) -> Iterator[BoothCommands | None]:
    """Beside `poh sync run` (no kiosk: workflows are left to it): reviewers' decisions are
    applied to the booth's sessions. None for a booth that never joined a fleet."""
    membership = load_membership(home)
    if membership is None:
        yield None
        return
    storage = open_storage(home, config.storage, sync=config.sync, create=False)
    try:
        commands = BoothCommands(storage.db, membership)
        thread = CommandThread(commands, membership, storage.key)
        thread.start()
        try:
            yield commands
        finally:
            thread.stop()
    finally:
        storage.close()
