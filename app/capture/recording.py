"""Capture recordings (ARCHITECTURE.md): a folder with capture.json (version 1) and frame PNGs.

Recordings hold face images: the kiosk writes one only when evidence retention is on; the
simulator writes synthetic ones. The reader validates strictly and raises RecordingError with a
one-line reason (the CLI maps it to exit code 2).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from app.capture.plan import ACTIONS, ActionCue, ChallengePlan, ColourCue
from sync.strict_json import InputError, read_json_file

VERSION = 1
METHODS = ("FLASHING", "ACTIVE_3D", "PASSIVE")
MANIFEST = "capture.json"
MAX_MANIFEST_BYTES = 16_000_000  # some 200,000 frames; a 30 s capture names about 1,000
MAX_MANIFEST_DEPTH = 4  # {"cues": [{"rgb": [r, g, b]}]}


class RecordingError(ValueError):
    """The recording is malformed: missing frames, bad JSON, unordered times, unknown method."""


@dataclass(frozen=True)
class Recording:
    method: str
    nonce: bytes
    fps: float
    times: tuple[float, ...]  # seconds on the capture clock, one per frame
    frames: tuple[np.ndarray, ...]  # BGR uint8
    colours: tuple[ColourCue, ...]  # on the capture clock
    actions: tuple[ActionCue, ...]


def plan_cues(plan: ChallengePlan, t0: float) -> tuple[tuple[ColourCue, ...],
                                                      tuple[ActionCue, ...]]:
    """The plan's cues moved onto the capture clock (challenge started at t0)."""
    cols = tuple(ColourCue(c.t_start + t0, c.t_end + t0, c.rgb, c.rgb_right) for c in plan.colours)
    acts = tuple(ActionCue(a.t_start + t0, a.t_end + t0, a.action) for a in plan.actions)
    return cols, acts


def recording_files(rec: Recording) -> Iterator[tuple[str, bytes]]:
    """The files of a recording folder, frames first, capture.json last."""
    entries = []
    for i, (t, frame) in enumerate(zip(rec.times, rec.frames, strict=True), start=1):
        name = f"{i:06d}.png"
        ok, png = cv2.imencode(".png", frame)
        if not ok:
            raise OSError(f"cannot encode frame {i} as PNG")
        entries.append({"file": name, "t": round(float(t), 6)})
        yield name, png.tobytes()
    cues: list[dict[str, Any]] = [
        {"t_start": c.t_start, "t_end": c.t_end, "rgb": list(c.rgb)}
        | ({"rgb_right": list(c.rgb_right)} if c.rgb_right is not None else {})
        for c in rec.colours]
    cues += [{"t_start": a.t_start, "t_end": a.t_end, "action": a.action} for a in rec.actions]
    cues.sort(key=lambda c: float(c["t_start"]))
    doc = {"version": VERSION, "method": rec.method, "nonce": rec.nonce.hex(), "fps": rec.fps,
           "frames": entries, "cues": cues}
    yield MANIFEST, json.dumps(doc, indent=1).encode()


def write_recording(folder: Path, rec: Recording) -> Path:
    """Frames, then capture.json by rename: a folder with a manifest is complete."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in recording_files(rec):
        target = folder / name
        tmp = folder / (name + ".tmp") if name == MANIFEST else target
        tmp.write_bytes(data)
        if tmp != target:
            os.replace(tmp, target)
    return folder


def _num(v: Any, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise RecordingError(f"{what} must be a finite number")
    return float(v)


def _rgb(v: Any, i: int, key: str) -> tuple[float, float, float]:
    if not isinstance(v, list) or len(v) != 3:
        raise RecordingError(f"cue {i} {key} must be three numbers")
    vals = [_num(x, f"cue {i} {key}") for x in v]
    if any(not 0.0 <= x <= 1.0 for x in vals):
        raise RecordingError(f"cue {i} {key} must lie in 0..1")
    return (vals[0], vals[1], vals[2])


def _parse_cue(c: Any, i: int) -> ColourCue | ActionCue:
    if not isinstance(c, dict):
        raise RecordingError(f"cue {i} is not an object")
    t0, t1 = _num(c.get("t_start"), f"cue {i} t_start"), _num(c.get("t_end"), f"cue {i} t_end")
    if t1 <= t0:
        raise RecordingError(f"cue {i} ends before it starts")
    if "rgb" in c:
        right = _rgb(c["rgb_right"], i, "rgb_right") if "rgb_right" in c else None
        return ColourCue(t0, t1, _rgb(c["rgb"], i, "rgb"), right)
    if c.get("action") in ACTIONS:
        return ActionCue(t0, t1, str(c["action"]))
    raise RecordingError(f"cue {i} has neither rgb nor a known action")


def read_recording(folder: Path) -> Recording:
    """Load and validate a recording folder; RecordingError on any defect."""
    path = folder / MANIFEST
    if not folder.is_dir():
        raise RecordingError(f"{folder} is not a folder")
    if not path.exists():
        raise RecordingError(f"{path} is missing")
    try:
        # the project's one strict reader: a key written twice (two "nonce"s, two "frames"),
        # NaN or 1e400 times, a 2**53+ integer or absurd nesting is refused here in one line
        doc = read_json_file(path, max_bytes=MAX_MANIFEST_BYTES, max_depth=MAX_MANIFEST_DEPTH)
    except InputError as exc:
        raise RecordingError(str(exc)) from exc
    if not isinstance(doc, dict):
        raise RecordingError(f"{path} must hold a JSON object")
    if doc.get("version") != VERSION:
        raise RecordingError(f"unsupported capture version {doc.get('version')!r}")
    method = doc.get("method")
    if method not in METHODS:
        raise RecordingError(f"unknown method {method!r}")
    try:
        nonce = bytes.fromhex(str(doc.get("nonce", "")))
    except ValueError as exc:
        raise RecordingError("nonce must be hex") from exc
    if len(nonce) < 8:
        raise RecordingError("nonce must be at least 8 bytes")
    fps = _num(doc.get("fps"), "fps")
    if not 1.0 <= fps <= 240.0:
        raise RecordingError("fps must lie in 1..240")
    entries = doc.get("frames")
    if not isinstance(entries, list) or not entries:
        raise RecordingError("frames must be a non-empty list")
    times: list[float] = []
    frames: list[np.ndarray] = []
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or not isinstance(e.get("file"), str):
            raise RecordingError(f"frame {i} needs a file name")
        name = e["file"]
        if ("/" in name or "\\" in name or name.startswith(".") or "\x00" in name
                or not 0 < len(name.encode("utf-8")) <= 255):
            raise RecordingError(f"frame {i} file must be a plain name inside the folder")
        t = _num(e.get("t"), f"frame {i} t")
        if times and t <= times[-1]:
            raise RecordingError(f"frame {i} time is not after the previous frame")
        fp = folder / name
        if not fp.is_file():
            raise RecordingError(f"frame file {name} is missing")
        img = cv2.imread(str(fp), cv2.IMREAD_COLOR)
        if img is None:
            raise RecordingError(f"frame file {name} is not a readable image")
        times.append(t)
        frames.append(img)
    raw_cues = doc.get("cues")
    if not isinstance(raw_cues, list):
        raise RecordingError("cues must be a list")
    cues = [_parse_cue(c, i) for i, c in enumerate(raw_cues)]
    colours = tuple(c for c in cues if isinstance(c, ColourCue))
    actions = tuple(c for c in cues if isinstance(c, ActionCue))
    spans: list[list[tuple[float, float]]] = [[(c.t_start, c.t_end) for c in colours],
                                              [(a.t_start, a.t_end) for a in actions]]
    for kind in spans:
        for (_, end), (start, _) in zip(kind, kind[1:], strict=False):
            if start < end - 1e-6:
                raise RecordingError("cue times are out of order or overlap")
    if method != "PASSIVE" and not colours:
        raise RecordingError(f"a {method} recording needs colour cues")
    if method == "ACTIVE_3D" and len(actions) < 1:
        raise RecordingError("an ACTIVE_3D recording needs action cues")
    return Recording(str(method), nonce, fps, tuple(times), tuple(frames), colours, actions)
