"""The booth camera's identity as provisioned (`poh db init --camera`, `poh camera provision`),
kept beside the booth marker as `keys/<db name>.camera`, so that every session can tell
whether it still runs on that camera.

The file is written whole or not at all (storage.durable.replace_file: a power cut leaves the
old or the new record) and is authenticated: an HMAC under a key derived from the database
key covers the identity and the booth id, so an edited file, or one copied from another booth,
is refused (and the session says CAMERA_CHANGED) rather than believed. It holds no secret: a
camera's names and serial number. `poh db init --force` sets it aside with the rest of the old
booth (app.kiosk.home.set_aside).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.capture.integrity import CameraIdentity, CameraProbe
from storage import booth
from storage.durable import make_private_dir, replace_file
from storage.keys import derive_key
from sync.canonical import canonical_bytes
from sync.strict_json import StrictJsonError, parse_json

log = logging.getLogger(__name__)

RECORD_VERSION = 1
RECORD_SUFFIX = ".camera"
MAX_RECORD_BYTES = 16 * 1024


class CameraRecordError(ValueError):
    """The provisioned record exists but cannot be trusted or read; str() is one line."""


def record_path(db_path: Path) -> Path:
    """`keys/<db name>.camera`, beside the booth marker."""
    marker = booth.marker_path(db_path)
    return marker.with_name(db_path.name + RECORD_SUFFIX)


def _tag(db_key: bytes, body: dict[str, Any]) -> str:
    return hmac.new(derive_key(db_key, "camera-identity"), canonical_bytes(body),
                    hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class CameraRecord:
    identity: CameraIdentity
    device: str
    recorded_at: str
    booth_id: str


def save_camera_identity(db_path: Path, db_key: bytes, booth_id: str,
                         probe: CameraProbe) -> CameraRecord:
    """Record the probed camera as the booth's camera (replacing an earlier record)."""
    recorded_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    body = {"version": RECORD_VERSION, "booth_id": booth_id, "device": probe.device,
            "recorded_at": recorded_at, "identity": probe.identity.to_json()}
    doc = {**body, "tag": _tag(db_key, body)}
    path = record_path(db_path)
    make_private_dir(path.parent)
    replace_file(path, (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    log.info("booth camera provisioned: %s", probe.identity.describe())
    return CameraRecord(probe.identity, probe.device, recorded_at, booth_id)


def load_camera_identity(db_path: Path, db_key: bytes, booth_id: str) -> CameraRecord | None:
    """The provisioned record, None if none was made; CameraRecordError if it is unreadable,
    altered, or another booth's."""
    path = record_path(db_path)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_RECORD_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CameraRecordError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        doc = parse_json(raw, max_bytes=MAX_RECORD_BYTES, max_depth=4)
        if not isinstance(doc, dict) or doc.get("version") != RECORD_VERSION:
            raise CameraRecordError(f"{path}: not a version {RECORD_VERSION} camera record")
        tag = doc.pop("tag", None)
        if not isinstance(tag, str) or not hmac.compare_digest(tag, _tag(db_key, doc)):
            raise CameraRecordError(f"{path}: the record was altered or made with another key")
        if doc.get("booth_id") != booth_id:
            raise CameraRecordError(f"{path}: the record belongs to another booth")
        return CameraRecord(CameraIdentity.from_json(doc["identity"]), str(doc["device"]),
                            str(doc["recorded_at"]), booth_id)
    except StrictJsonError as exc:
        raise CameraRecordError(f"{path}: {exc}") from None
    except (KeyError, ValueError, TypeError) as exc:
        if isinstance(exc, CameraRecordError):
            raise
        raise CameraRecordError(f"{path}: malformed ({exc})") from None
