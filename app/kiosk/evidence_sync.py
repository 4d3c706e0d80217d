"""A fleet booth's review frames for the hub: for each recording a `sync_evidence` workflow
marked (app.capture.evidence), once its session is In Review and the hub acknowledged its
verdict (so the hub knows the session and which booth signed it), at most 12 frames
downscaled to 320 pixels, JPEG, sealed with the fleet envelope on the booth's evidence topic
(sync.evidence_runner carries them). The mark goes when the hub's signed acknowledgement
arrives, or when the session can no longer be reviewed (it ended Declined, Abandoned, ...,
or it and its recording were erased). An Approved session keeps its mark, since the hub may
still put it In Review (a fleet duplicate); retention erases recording and mark together.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.capture.evidence import EvidenceError, EvidenceStore
from app.capture.evidence_frames import review_frames
from app.kiosk.config import KioskConfig
from app.kiosk.storage import Storage
from storage import fleet_state
from storage.sealed_file import SealedFileError
from sync.evidence_runner import EvidenceSyncLoop
from sync.fleet.envelope import EnvelopeError
from sync.fleet.evidence_wire import (
    EvidenceAck,
    evidence_ack_topic,
    evidence_topic,
    open_ack,
    seal_frames,
)
from sync.fleet.link import running_link
from sync.fleet.membership import Membership
from sync.vocabulary import SessionStatus

log = logging.getLogger(__name__)
ROLE = "evidence"
# statuses from which a session may still be (or become) In Review at the hub
_MAY_BE_REVIEWED = {SessionStatus.IN_PROGRESS.value, SessionStatus.IN_REVIEW.value,
                    SessionStatus.APPROVED.value}


class BoothEvidence:
    def __init__(self, storage: Storage, membership: Membership,
                 store: EvidenceStore | None = None) -> None:
        self._db = storage.db
        self._store = store or storage.evidence()
        self._hub = membership.hub_key()
        with storage.db.read("reading the fleet template key") as conn:
            self._key = fleet_state.template_key(conn, storage.key)
        self.topic = evidence_topic(membership.fleet_id, membership.device_id)
        self.ack_topic = evidence_ack_topic(membership.fleet_id, membership.device_id)

    def due(self) -> list[str]:
        marked = self._store.to_send()
        if not marked:
            return []
        states: dict[str, tuple[str, bool]] = {}
        with self._db.read("reading sessions with review frames to send") as conn:
            for i in range(0, len(marked), 500):
                chunk = marked[i:i + 500]
                rows = conn.execute(
                    "SELECT s.id, s.status, max(v.hub_ack IS NOT NULL) FROM sessions s "
                    "LEFT JOIN verdicts v ON v.session_id = s.id WHERE s.id IN "
                    f"({','.join('?' * len(chunk))}) GROUP BY s.id", chunk).fetchall()
                states.update({str(r[0]): (str(r[1]), bool(r[2])) for r in rows})
        due = []
        for sid in marked:
            status, delivered = states.get(sid, ("", False))
            if status not in _MAY_BE_REVIEWED:
                self._store.sent(sid)  # erased, or ended where nobody reviews it
                log.info("review frames of session %s not sent (%s)", sid, status or "erased")
            elif status == SessionStatus.IN_REVIEW.value and delivered:
                due.append(sid)
        return due

    def message(self, session_id: str) -> bytes | None:
        try:
            frames = review_frames(self._store.packed(session_id))
        except (EvidenceError, SealedFileError) as exc:
            log.warning("review frames of session %s cannot be made: %s", session_id, exc)
            self._store.sent(session_id)  # nothing left to send (erased, or unreadable)
            return None
        if not frames:
            self._store.sent(session_id)
            return None
        return seal_frames(self._key, self.topic, session_id, frames)

    def acknowledged(self, payload: bytes) -> EvidenceAck | None:
        try:
            ack = open_ack(self._key, self.ack_topic, payload, self._hub)
        except EnvelopeError as exc:
            log.warning("evidence acknowledgement refused: %s", exc)
            return None
        self._store.sent(ack.session_id)
        if ack.result == "refused":
            log.warning("the hub refused the review frames of session %s: %s",
                        ack.session_id, ack.reason)
        else:
            log.info("review frames of session %s at the hub (%s)", ack.session_id,
                     ack.result)
        return ack


def run_evidence(storage: Storage, membership: Membership, stop: threading.Event,
                 ready: list[EvidenceSyncLoop] | None = None) -> None:
    """The evidence loop on its own link until `stop` (for a thread)."""
    try:
        source = BoothEvidence(storage, membership)
        with running_link(membership, storage.key, ROLE) as link:
            loop = EvidenceSyncLoop(link, source)
            if ready is not None:
                ready.append(loop)
            loop.run(stop)
    except Exception:  # the kiosk keeps serving; the marks are still on disk
        log.exception("evidence sync stopped")


class EvidenceThread:
    def __init__(self, storage: Storage, membership: Membership) -> None:
        self.loops: list[EvidenceSyncLoop] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=run_evidence, name="fleet-evidence", daemon=True,
            args=(storage, membership, self._stop, self.loops))

    def start(self) -> EvidenceThread:
        self._thread.start()
        return self

    def stop(self, timeout: float) -> None:
        self._stop.set()
        self._thread.join(timeout)


@contextmanager
def evidence_running(home: Path, config: KioskConfig) -> Iterator[EvidenceThread]:
    """The evidence loop beside `poh sync run` (its own storage) until the block ends."""
    from app.kiosk.fleet_sync import member_storage

    storage, membership = member_storage(home, config)
    try:
        thread = EvidenceThread(storage, membership).start()
        try:
            yield thread
        finally:
            thread.stop(10.0)
    finally:
        storage.close()
