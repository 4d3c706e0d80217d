"""Operator mode's queries and actions on an open Kiosk, Qt-free (the operator screen calls
these; so do `poh forget` and `poh operator export-day`).

Every method of OperatorConsole first asks the OperatorGate (OperatorLockedError when locked):
status (workflow in use, today's sessions by status, outbox backlog, recent errors), erasing a
person, exporting a day's signed verdicts, locking, and quitting the kiosk (only from here).
"""

from __future__ import annotations

import collections
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from app.errors import BadInputError
from app.kiosk.operator import OperatorGate
from storage.durable import fsync_dir, make_private_dir, write_new_file

if TYPE_CHECKING:
    from app.capture.evidence import EvidenceStore
    from app.kiosk.root import Kiosk
    from app.kiosk.storage import Storage
    from storage.database import Database
    from storage.face_store import FaceStore

log = logging.getLogger(__name__)

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")


@dataclass(frozen=True)
class Erasure:
    """What `erase_person` removed."""

    vendor_data: str
    templates: int
    sessions: int
    verdicts: int
    recordings: int


def erase_person(faces: FaceStore, evidence: EvidenceStore, vendor_data: str) -> Erasure:
    """Right to erasure: the person's templates, index entries, sessions (with verdicts) and
    kept challenge recordings (deleted before the database commits; see FaceStore.forget)."""
    recordings = 0

    def erase_recordings(session_ids: tuple[str, ...]) -> None:
        nonlocal recordings
        recordings = sum(evidence.delete(sid) for sid in session_ids)

    res = faces.forget(vendor_data, erase_recordings)
    return Erasure(res.vendor_data, res.templates, res.sessions, res.verdicts, recordings)


def _day_bounds(day: date) -> tuple[str, str]:
    """The UTC day as storage's time strings (they compare as times): [start, end)."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)

    def stamp(t: datetime) -> str:
        return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")

    return stamp(start), stamp(start + timedelta(days=1))


def sessions_by_status(db: Database, day: date) -> dict[str, int]:
    """Sessions started on that UTC day, counted by status ('In Progress', 'Approved', ...)."""
    lo, hi = _day_bounds(day)
    with db.read("counting the day's sessions") as conn:
        rows = conn.execute(
            "SELECT status, COUNT(*) FROM sessions WHERE created_at >= ? AND created_at < ? "
            "GROUP BY status ORDER BY status", (lo, hi)).fetchall()
    return {str(r[0]): int(r[1]) for r in rows}


def day_verdicts(db: Database, day: date) -> list[tuple[int, str]]:
    """(sequence, session id) of the verdicts stored on that UTC day, in sequence order."""
    lo, hi = _day_bounds(day)
    with db.read("listing the day's verdicts") as conn:
        rows = conn.execute(
            "SELECT sequence, session_id FROM verdicts WHERE created_at >= ? AND created_at < ? "
            "ORDER BY sequence", (lo, hi)).fetchall()
    return [(int(r[0]), str(r[1])) for r in rows]


def outbox_backlog(db: Database) -> tuple[int, str | None]:
    """(unsent verdicts, when the oldest of them was stored)."""
    with db.read("reading the outbox backlog") as conn:
        row = conn.execute(
            "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE sent_at IS NULL").fetchone()
    return int(row[0]), (str(row[1]) if row[1] is not None else None)


def export_verdicts(storage: Storage, day: date, folder: Path) -> list[Path]:
    """Each verdict stored that UTC day, exactly as signed, to folder/<sequence>-<session>.json.

    The folder is created (0700) or must be empty: an export never mixes with another."""
    if folder.exists() or folder.is_symlink():
        if not folder.is_dir():
            raise BadInputError(f"{folder}: exists and is not a folder")
        if any(folder.iterdir()):
            raise BadInputError(f"{folder}: not empty; export into a new or empty folder")
    else:
        make_private_dir(folder)
    store = storage.verdicts()
    written: list[Path] = []
    for seq, session_id in day_verdicts(storage.db, day):
        raw = store.verdict_bytes(seq)
        if raw is None:  # erased between the listing and now
            continue
        name = session_id if SAFE_NAME.match(session_id) else "session"
        path = folder / f"{seq}-{name}.json"
        write_new_file(path, raw)
        written.append(path)
    fsync_dir(folder)
    log.info("exported %d verdicts of %s to %s", len(written), day.isoformat(), folder)
    return written


class RecentErrors(logging.Handler):
    """The last `size` warnings and errors, for the operator screen (attach to a logger)."""

    def __init__(self, size: int = 20) -> None:
        super().__init__(logging.WARNING)
        self._lines: collections.deque[str] = collections.deque(maxlen=size)
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stamp = datetime.fromtimestamp(record.created, tz=UTC).strftime("%H:%M:%SZ")
            first = (record.getMessage().splitlines() or [""])[0]
            with self._guard:
                self._lines.append(f"{stamp} {record.levelname} {record.name}: {first}")
        except (TypeError, ValueError):  # a bad format never raises into the code that logged
            self.handleError(record)

    def lines(self) -> list[str]:
        with self._guard:
            return list(self._lines)


@dataclass(frozen=True)
class OperatorStatus:
    workflow_id: str
    workflow_version: int
    day: date
    sessions: dict[str, int]  # today's (UTC) sessions by status
    outbox_backlog: int  # verdicts not yet acknowledged by the hub
    oldest_unsent: str | None
    last_sequence: int
    recent_errors: list[str] = field(default_factory=list)
    outbox_refused: int = 0  # of the backlog: refused by the hub at the last attempt
    last_refusal: str | None = None  # why (e.g. "hub: unknown device ...")
    last_sync: str | None = None  # hub time of the latest acknowledged verdict

    @property
    def workflow_ref(self) -> str:
        return f"{self.workflow_id}@{self.workflow_version}"


class OperatorConsole:
    """Operator actions on an open kiosk, each behind the gate."""

    def __init__(self, kiosk: Kiosk, gate: OperatorGate, *,
                 errors: RecentErrors | None = None,
                 on_quit: Callable[[], None] | None = None,
                 today: Callable[[], date] = lambda: datetime.now(UTC).date()) -> None:
        self._kiosk = kiosk
        self.gate = gate
        self._errors = errors
        self._on_quit = on_quit
        self._today = today

    def status(self) -> OperatorStatus:
        self.gate.require()
        k = self._kiosk
        day = self._today()
        backlog, oldest = outbox_backlog(k.storage.db)
        sync = k.storage.verdicts().backlog()
        return OperatorStatus(
            workflow_id=k.workflow.workflow_id, workflow_version=k.workflow.version, day=day,
            sessions=sessions_by_status(k.storage.db, day), outbox_backlog=backlog,
            oldest_unsent=oldest, last_sequence=k.storage.verdicts().last_sequence(),
            recent_errors=self._errors.lines() if self._errors is not None else [],
            outbox_refused=sync.refused, last_refusal=sync.last_refusal,
            last_sync=sync.last_sync)

    def erase(self, vendor_data: str) -> Erasure:
        self.gate.require()
        if not vendor_data or len(vendor_data) > 500:
            raise BadInputError("vendor_data: 1 to 500 characters")
        storage = self._kiosk.storage
        res = erase_person(storage.faces, storage.evidence(), vendor_data)
        log.info("operator erased a person: %d sessions, %d templates", res.sessions,
                 res.templates)
        return res

    def export_day(self, day: date, folder: Path) -> list[Path]:
        self.gate.require()
        return export_verdicts(self._kiosk.storage, day, folder)

    def lock(self) -> None:
        self.gate.lock()

    def quit(self) -> None:
        """Quit the kiosk: only from an unlocked operator mode."""
        self.gate.require()
        self.gate.lock()
        log.info("operator quit the kiosk")
        if self._on_quit is not None:
            self._on_quit()
