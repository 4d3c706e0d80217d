"""`poh doctor`: the booth's health checks, each a function returning one Check.

Every check reads and never repairs: a technician runs `poh doctor` on a booth that misbehaves
and gets one line per check (ok / warn / FAIL) saying what to do next. A check never raises for
what it finds; an unexpected error is its own FAIL line (the other checks still run).
The fleet checks (outbox, broker) live in app.kiosk.doctor_fleet.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import shutil
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from storage.config import StorageConfig
from storage.database import Database
from storage.errors import StorageError
from storage.keys import ENV_KEY, load_db_key

log = logging.getLogger(__name__)

Status = Literal["ok", "warn", "FAIL", "skip"]

# Free space in the data folder: a session with kept evidence writes a few MB, an index
# snapshot tens of MB; below these the booth soon stops storing verdicts.
DISK_WARN_BYTES = 2 * 1024**3
DISK_FAIL_BYTES = 256 * 1024**2
# A verdict stamped later than now by more than this means the clock went back.
CLOCK_SKEW_TOLERANCE_S = 300.0


@dataclass(frozen=True)
class Check:
    check: str
    status: Status
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"check": self.check, "status": self.status, "detail": self.detail}


@dataclass
class OpenBooth:
    """What the database check opened, for the checks that need it (camera, clock, outbox)."""

    db: Database
    key: bytes
    booth_id: str


def guarded(name: str, fn: Callable[[], Check]) -> Check:
    """Run one check; an unexpected exception is that check's FAIL, not the command's."""
    try:
        return fn()
    except Exception as exc:  # a doctor reports every check, whatever one of them hits
        log.debug("check %s raised", name, exc_info=True)
        first = (str(exc).strip().splitlines() or [""])[0]
        return Check(name, "FAIL", f"{type(exc).__name__}: {first}")


def check_models(models_dir: Path) -> Check:
    from inference.model_store import list_models

    models = list_models(models_dir)
    missing = [m.name for m in models if not m.present]
    bad = [m.name for m in models if m.present and not m.verified]
    if missing or bad:
        parts = ([f"missing: {', '.join(missing)}"] if missing else []) + (
            [f"sha256 mismatch: {', '.join(bad)}"] if bad else [])
        return Check("models", "FAIL", f"{'; '.join(parts)} in {models_dir}; run "
                                       f"`poh models fetch` (or `poh models import PACK`)")
    return Check("models", "ok", f"{len(models)} models present, sha256 verified "
                                 f"({models_dir})")


def open_booth(home: Path, config: StorageConfig) -> tuple[Check, OpenBooth | None]:
    """The database check: open it with its key (creating nothing) and run quick_check."""
    from app.kiosk.home import inspect_home, require_initialised

    try:
        state = inspect_home(home, config)
        require_initialised(state)
        key = load_db_key(state.paths.key_file, True, may_create=False)
        # "open": the whole-page check (PRAGMA quick_check, every page's HMAC verified)
        # runs before the constructor returns; a bad page is DatabaseCorruptError here.
        db = Database(state.paths.db, key, create=False, integrity_check="open")
    except StorageError as exc:
        return Check("database", "FAIL", str(exc).strip().splitlines()[0]), None
    size = state.paths.db.stat().st_size
    return (Check("database", "ok", f"opens with its key, quick_check ok "
                                    f"({size / 1024**2:.1f} MB, booth {db.booth_id})"),
            OpenBooth(db, key, db.booth_id))


def _loose(path: Path, want: int) -> str | None:
    st = path.stat()
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        return f"{path} is mode {mode:o} (want {want:o}): run chmod {want:o} {path}"
    if st.st_uid != os.geteuid():
        return f"{path} belongs to another user (uid {st.st_uid})"
    return None


def check_key_permissions(home: Path, config: StorageConfig) -> Check:
    key_file = config.paths(home).key_file
    dirs = dict.fromkeys([home, key_file.parent])  # the key's folder may be home itself
    problems = [p for p in (*(_loose(d, 0o700) for d in dirs if d.is_dir()),
                            _loose(key_file, 0o600) if key_file.exists() else None) if p]
    if problems:
        return Check("key permissions", "FAIL", "; ".join(problems))
    if not key_file.exists():
        if os.environ.get(ENV_KEY):
            return Check("key permissions", "ok", f"key from {ENV_KEY}; {home} owner-only")
        return Check("key permissions", "FAIL", f"no key file {key_file} (and {ENV_KEY} unset)")
    return Check("key permissions", "ok", f"{key_file} 600, its folders 700")


def _size(n: int) -> str:
    return f"{n / 1024**3:.1f} GB" if n >= 1024**3 else f"{n / 1024**2:.0f} MB"


def check_disk(home: Path, warn_below: int = DISK_WARN_BYTES,
               fail_below: int = DISK_FAIL_BYTES) -> Check:
    where = home if home.exists() else home.parent
    usage = shutil.disk_usage(where)
    detail = (f"{_size(usage.free)} free of {_size(usage.total)} in {where} "
              f"(warn below {_size(warn_below)}, fail below {_size(fail_below)})")
    if usage.free < fail_below:
        return Check("disk", "FAIL", detail + ": free space before the next session")
    if usage.free < warn_below:
        return Check("disk", "warn", detail)
    return Check("disk", "ok", detail)


def build_time() -> float | None:
    """When this installation was built: the installed package's metadata file, else the
    model manifest shipped with the code (a source tree); None when neither is found."""
    try:
        dist = importlib.metadata.distribution("poh-kiosk")
        files = [f for f in (dist.files or []) if f.name == "METADATA"]
        if files:
            return Path(str(dist.locate_file(files[0]))).stat().st_mtime
    except (importlib.metadata.PackageNotFoundError, OSError):
        pass
    try:
        from inference.manifest import MANIFEST_PATH

        return MANIFEST_PATH.stat().st_mtime
    except OSError:
        return None


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def newest_verdict_time(booth: OpenBooth) -> float | None:
    with booth.db.read("reading the newest verdict") as conn:
        row = conn.execute("SELECT max(created_at) FROM verdicts").fetchone()
    if not row or not row[0]:
        return None
    return datetime.fromisoformat(str(row[0]).replace("Z", "+00:00")).timestamp()


def check_clock(booth: OpenBooth | None, now: float | None = None,
                built: float | None = None) -> Check:
    now = time.time() if now is None else now
    built = build_time() if built is None else built
    if built is not None and now < built:
        return Check("clock", "FAIL", f"{_iso(now)} is before this software was built "
                                      f"({_iso(built)}): set the date and time")
    newest = newest_verdict_time(booth) if booth is not None else None
    if newest is not None and now + CLOCK_SKEW_TOLERANCE_S < newest:
        return Check("clock", "FAIL", f"{_iso(now)} is behind the newest verdict "
                                      f"({_iso(newest)}): the clock went back; set it")
    ref = f"newest verdict {_iso(newest)}" if newest is not None else "no verdict yet"
    return Check("clock", "ok", f"{_iso(now)} (build {_iso(built) if built else 'unknown'}, "
                                f"{ref})")


def check_camera(device: str | None, booth: OpenBooth | None, db_path: Path) -> Check:
    """The booth camera: present, not virtual, the one provisioned (None: --no-camera)."""
    from app.capture.integrity import check_camera as compare
    from app.capture.integrity import probe_camera
    from app.capture.v4l2 import device_node
    from app.kiosk.camera_record import CameraRecordError, load_camera_identity
    from sync.vocabulary import WarningCode

    if device is None:
        return Check("camera", "skip", "skipped (--no-camera)")
    node = device_node(device)
    if not node.exists():
        return Check("camera", "FAIL", f"no camera at {node}")
    probe = probe_camera(device)
    if probe.virtual:
        return Check("camera", "FAIL", f"{node} looks virtual: {probe.virtual_reasons[0]}")
    if probe.error is not None:
        return Check("camera", "FAIL", f"{node}: cannot identify it: {probe.error}")
    if booth is None:
        return Check("camera", "warn", f"{probe.identity.describe()} at {node}; provisioning "
                                       f"not checked (the database did not open)")
    try:
        record = load_camera_identity(db_path, booth.key, booth.booth_id)
        provisioned, error = (record.identity if record else None), None
    except CameraRecordError as exc:
        provisioned, error = None, str(exc)
    findings = compare(probe, provisioned, error).findings
    if findings:
        changed = any(f.code == WarningCode.CAMERA_CHANGED for f in findings)
        status: Status = "FAIL" if changed and provisioned is not None else "warn"
        return Check("camera", status, findings[0].reason)
    return Check("camera", "ok", f"{probe.identity.describe()} at {node}, as provisioned")
