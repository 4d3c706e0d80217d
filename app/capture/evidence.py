"""Evidence retention: a session's challenge recording kept encrypted on the kiosk for review.

Only when the workflow sets `retain_evidence`. The recording (capture.json and PNG frames) is
packed into an uncompressed zip in memory and sealed with a key derived from the database key
(storage.sealed_file): face images never reach the disk in plaintext. `poh evidence export`
writes a plain recording folder for an analyst, on purpose and only then.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from app.capture.recording import MANIFEST, Recording, read_recording, recording_files
from storage.sealed_file import open_sealed_file, seal_file

log = logging.getLogger(__name__)

PURPOSE = "evidence"
SUFFIX = ".evidence"
_SESSION_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_MEMBER = re.compile(r"^(\d{6}\.png|capture\.json)$")


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
        folder.mkdir(parents=True, exist_ok=False)
        for name in names:
            (folder / name).write_bytes(zf.read(name))
    return read_recording(folder)


class EvidenceStore:
    def __init__(self, folder: Path, db_key: bytes) -> None:
        self.folder = folder
        self._key = db_key

    def _path(self, session_id: str) -> Path:
        return self.folder / (_check_id(session_id) + SUFFIX)

    def keep(self, session_id: str, recording: Recording) -> None:
        data = pack(recording)
        seal_file(self._path(session_id), self._key, PURPOSE, data)
        log.info("evidence kept for session %s (%d frames, %d bytes sealed)", session_id,
                 len(recording.frames), len(data))

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

    def export(self, session_id: str, out: Path) -> Recording:
        path = self._path(session_id)
        if not path.is_file():
            raise EvidenceError(f"no evidence kept for session {session_id}")
        if out.exists():
            raise EvidenceError(f"{out} already exists; give a new folder")
        return unpack(open_sealed_file(path, self._key, PURPOSE), out)

    def delete(self, session_id: str) -> bool:
        path = self._path(session_id)
        if not path.exists():
            return False
        path.unlink()
        return True
