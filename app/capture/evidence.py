"""Evidence retention: a session's challenge recording kept encrypted on the kiosk for review.

Only when the workflow sets `retain_evidence`. The recording (capture.json and PNG frames) is
packed into an uncompressed zip in memory and sealed with a key derived from the database key
(storage.sealed_file): face images never reach the disk in plaintext. `poh evidence export`
writes a plain recording folder for an analyst, on purpose and only then (owner only: the
folder 0700, its files 0600, like the sealed folder itself). Kept recordings expire
(EvidenceConfig: an age limit and a total size cap, oldest first), checked after each new one and
by `poh evidence prune`.

A workflow with `sync_evidence` also marks the recording to be sent: an empty
`SESSION_ID.send` file beside it (no image, no key: only the session id, which the sealed
file's name shows already). app.kiosk.evidence_sync sends a few downscaled frames to the hub
when the session ends In Review and removes the mark on the hub's signed acknowledgement;
erasing the recording erases the mark.
"""

from __future__ import annotations

import io
import logging
import os
import re
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from app.capture.recording import MANIFEST, Recording, read_recording, recording_files
from storage.durable import PRIVATE_DIR_MODE, fsync_dir, make_private_dir, write_new_file
from storage.sealed_file import open_sealed_file, seal_file

log = logging.getLogger(__name__)

PURPOSE = "evidence"
SUFFIX = ".evidence"
SEND_SUFFIX = ".send"
_SESSION_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_MEMBER = re.compile(r"^(\d{6}\.png|capture\.json)$")


class EvidenceConfig(BaseModel):
    """How long kept recordings stay and how much disk they may take (a FLASHING recording is
    about 13 MB): a kiosk left running must not fill its disk with face images."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_age_days: float = Field(default=30.0, gt=0, description="older recordings are erased")
    max_total_mb: float = Field(default=2048.0, gt=0,
                                description="above this, the oldest recordings are erased")


class EvidenceError(ValueError):
    """No such evidence, a malformed session id, or a sealed file that does not open."""


@dataclass(frozen=True)
class EvidenceEntry:
    session_id: str
    bytes: int
    modified: float


def _check_id(session_id: str) -> str:
    if not _SESSION_ID.match(session_id):
        raise EvidenceError(f"{session_id!r} is not a session id")
    return session_id


def pack(rec: Recording) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, data in recording_files(rec):
            zf.writestr(name, data)
    return buf.getvalue()


def unpack(data: bytes, folder: Path) -> Recording:
    """Write the packed recording into folder (which must not exist yet) and read it back."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise EvidenceError("the evidence is not a packed recording") from exc
    with zf:
        names = zf.namelist()
        if MANIFEST not in names or any(not _MEMBER.match(n) for n in names):
            raise EvidenceError("the evidence holds unexpected files")
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir(mode=PRIVATE_DIR_MODE)  # plain face images: owner only
        os.chmod(folder, PRIVATE_DIR_MODE)
        for name in names:
            write_new_file(folder / name, zf.read(name), sync=False)
    return read_recording(folder)


class EvidenceStore:
    def __init__(self, folder: Path, db_key: bytes, policy: EvidenceConfig | None = None) -> None:
        self.folder = folder
        self._key = db_key
        self.policy = policy or EvidenceConfig()

    def _path(self, session_id: str) -> Path:
        return self.folder / (_check_id(session_id) + SUFFIX)

    def _send_path(self, session_id: str) -> Path:
        return self.folder / (_check_id(session_id) + SEND_SUFFIX)

    def keep(self, session_id: str, recording: Recording, *, send: bool = False) -> None:
        """Seal the recording; `send`: mark it for the hub (the mark is durable before this
        returns, so a crash before the verdict leaves it to be sent, or dropped, later)."""
        data = pack(recording)
        make_private_dir(self.folder)
        seal_file(self._path(session_id), self._key, PURPOSE, data)
        if send and not self._send_path(session_id).exists():
            write_new_file(self._send_path(session_id), b"")
            fsync_dir(self.folder)
        log.info("evidence kept for session %s (%d frames, %d bytes sealed)", session_id,
                 len(recording.frames), len(data))
        try:
            self.prune(keep=session_id)
        except OSError as exc:  # the session's own recording is safe; retention can wait
            log.warning("evidence retention could not erase old recordings: %s", exc)

    def prune(self, now: float | None = None, keep: str | None = None) -> list[str]:
        """Erase recordings past the age limit, then the oldest while the total is above the
        cap (never `keep`, the one just sealed). Returns the erased session ids."""
        now = time.time() if now is None else now
        entries = sorted(self.entries(), key=lambda e: e.modified)
        cutoff = now - self.policy.max_age_days * 86400.0
        doomed = [e for e in entries if e.modified < cutoff and e.session_id != keep]
        left = [e for e in entries if e not in doomed]
        total = sum(e.bytes for e in left)
        cap = self.policy.max_total_mb * 1024 * 1024
        for e in left:
            if total <= cap:
                break
            if e.session_id != keep:
                doomed.append(e)
                total -= e.bytes
        erased = [e.session_id for e in doomed if self.delete(e.session_id)]
        if erased:
            log.info("evidence retention erased %d recording(s)", len(erased))
        return erased

    def entries(self) -> list[EvidenceEntry]:
        if not self.folder.is_dir():
            return []
        out = []
        for p in sorted(self.folder.glob("*" + SUFFIX)):
            sid = p.name[:-len(SUFFIX)]
            if _SESSION_ID.match(sid):
                st = p.stat()
                out.append(EvidenceEntry(sid, st.st_size, st.st_mtime))
        return out

    def to_send(self) -> list[str]:
        """Sessions whose recording is marked for the hub, oldest mark first."""
        if not self.folder.is_dir():
            return []
        marks = []
        for p in self.folder.glob("*" + SEND_SUFFIX):
            try:
                marks.append((p.stat().st_mtime, p.name[:-len(SEND_SUFFIX)]))
            except FileNotFoundError:  # sent or erased meanwhile
                continue
        return [sid for _t, sid in sorted(marks) if _SESSION_ID.match(sid)]

    def sent(self, session_id: str) -> bool:
        """Drop the mark (the hub acknowledged the frames, or they are not to be sent)."""
        try:
            self._send_path(session_id).unlink()
        except FileNotFoundError:
            return False
        return True

    def packed(self, session_id: str) -> bytes:
        """The packed recording, decrypted in memory only."""
        path = self._path(session_id)
        if not path.is_file():
            raise EvidenceError(f"no evidence kept for session {session_id}")
        return open_sealed_file(path, self._key, PURPOSE)

    def export(self, session_id: str, out: Path) -> Recording:
        path = self._path(session_id)
        if not path.is_file():
            raise EvidenceError(f"no evidence kept for session {session_id}")
        if out.exists():
            raise EvidenceError(f"{out} already exists; give a new folder")
        return unpack(open_sealed_file(path, self._key, PURPOSE), out)

    def delete(self, session_id: str) -> bool:
        path = self._path(session_id)
        self.sent(session_id)  # nothing left to send
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True
