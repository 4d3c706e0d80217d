"""`poh camera provision|check`: the booth camera's identity and capture-integrity checks.

`provision DEVICE` records the camera (an OpenCV index or /dev/videoN) as this booth's camera
(`poh db init --camera DEVICE` does it at initialisation); every session then compares the
camera it runs on with it (CAMERA_CHANGED). A device that cannot be identified, or that looks
like a virtual camera, is refused (exit 2) unless --allow-virtual (a lab bench). `check DEVICE`
shows what a session would find, and with --seconds N the frame timing of N seconds of frames.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from app.cli.common import JsonOpt, emit
from app.cli.verdict_cmd import storage_errors
from app.errors import BadInputError

if TYPE_CHECKING:
    from app.capture.integrity import CameraProbe
    from storage.config import StorageConfig

app = typer.Typer(help="The booth camera: identity and capture-integrity checks.",
                  no_args_is_help=True)

DeviceArg = Annotated[str, typer.Argument(help="Camera: an OpenCV index (0) or /dev/videoN.")]
AllowVirtualOpt = Annotated[bool, typer.Option(
    "--allow-virtual", help="Record a device that looks virtual (lab benches only: every "
                            "session on it still carries VIRTUAL_CAMERA).")]
MAX_SECONDS = 120.0


def probe_for_provisioning(device: str, allow_virtual: bool) -> CameraProbe:
    """Probe `device`; refuse (bad input) one that cannot be identified or looks virtual."""
    from app.capture.integrity import probe_camera

    text = device.strip()
    if not text or len(text) > 200:
        raise BadInputError("camera: give an OpenCV index (0) or a /dev/videoN path")
    probe = probe_camera(text)
    if probe.error is not None:
        raise BadInputError(f"camera {text}: cannot identify it: {probe.error}")
    if probe.virtual and not allow_virtual:
        raise BadInputError(f"camera {text} looks virtual ({probe.virtual_reasons[0]}); not "
                            f"recorded (--allow-virtual on a lab bench)")
    return probe


def _booth(home: Path, config: StorageConfig) -> tuple[Path, bytes, str]:
    """(database path, key, booth id) of the initialised booth in `home`; creates nothing."""
    from app.kiosk.home import inspect_home, require_initialised
    from storage import booth
    from storage.keys import load_db_key

    state = inspect_home(home, config)
    require_initialised(state)
    if state.marker is None:
        raise BadInputError(f"the booth in {home} has no marker yet: run `poh db init`")
    key = load_db_key(state.paths.key_file, True, may_create=False)
    booth.check_key(state.paths.db, state.marker, key)
    return state.paths.db, key, state.marker.booth_id


def record_camera(home: Path, config: StorageConfig, probe: CameraProbe) -> dict[str, Any]:
    from app.kiosk.camera_record import save_camera_identity

    db, key, booth_id = _booth(home, config)
    rec = save_camera_identity(db, key, booth_id, probe)
    return {"device": rec.device, "recorded_at": rec.recorded_at,
            "identity": rec.identity.to_json(), "describe": rec.identity.describe(),
            "virtual_reasons": list(probe.virtual_reasons)}


@app.command("provision")
def provision(device: DeviceArg, allow_virtual: AllowVirtualOpt = False,
              as_json: JsonOpt = False) -> None:
    """Record DEVICE as this booth's camera (after installing or deliberately replacing it)."""
    from app.cli.context import kiosk_config
    from app.paths import poh_home

    probe = probe_for_provisioning(device, allow_virtual)
    with storage_errors():
        out = record_camera(poh_home(), kiosk_config().storage, probe)
    emit(out, as_json, lambda o: f"booth camera recorded: {o['describe']}")


def _read_times(device: str, seconds: float) -> tuple[list[int], list[float], float | None]:
    """Read frames as fast as the camera gives them, stamped as the camera thread does."""
    import cv2

    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        cap = cv2.VideoCapture(int(device) if device.isdigit() else device)
    finally:
        cv2.utils.logging.setLogLevel(level)
    if not cap.isOpened():
        cap.release()
        raise BadInputError(f"camera {device} cannot be opened")
    seqs: list[int] = []
    times: list[float] = []
    try:
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0) or None
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ok, _ = cap.read()
            t = time.monotonic()
            if ok:
                seqs.append(len(seqs))
                times.append(t)
    finally:
        cap.release()
    return seqs, times, fps


@app.command("check")
def check(device: DeviceArg,
          seconds: Annotated[float, typer.Option(
              "--seconds", help="Also read frames for this long and judge their timing.")] = 0.0,
          as_json: JsonOpt = False) -> None:
    """What a session on DEVICE would find: identity, virtual-camera signs, the provisioned
    identity, and with --seconds the frame timing."""
    from app.capture.frame_timing import analyse_frame_times
    from app.capture.integrity import check_camera, probe_camera
    from app.cli.context import kiosk_config
    from app.kiosk.camera_record import CameraRecordError, load_camera_identity
    from app.paths import poh_home

    if not 0.0 <= seconds <= MAX_SECONDS:
        raise BadInputError(f"--seconds: between 0 and {MAX_SECONDS:g}")
    text = device.strip()
    probe = probe_camera(text)
    error = None
    with storage_errors():
        db, key, booth_id = _booth(poh_home(), kiosk_config().storage)
        try:
            rec = load_camera_identity(db, key, booth_id)
        except CameraRecordError as exc:
            rec, error = None, str(exc)
    result = check_camera(probe, rec.identity if rec else None, error)
    out: dict[str, Any] = {
        "device": probe.device, "identity": probe.identity.to_json(), "probe_error": probe.error,
        "virtual_reasons": list(probe.virtual_reasons),
        "provisioned": rec.identity.to_json() if rec else None,
        "findings": [{"code": f.code.value, "reason": f.reason} for f in result.findings]}
    if seconds > 0:
        seqs, times, fps = _read_times(text, seconds)
        rep = analyse_frame_times(seqs, times, fps)
        out["timing"] = {"frames": len(times), "stated_fps": fps, "period_ms": rep.period_ms,
                         "deviation_ms": rep.deviation_ms, "longest_wait_s": rep.longest_wait_s,
                         "problems": list(rep.problems)}
        if rep.finding is not None:
            out["findings"].append({"code": rep.finding.code.value,
                                    "reason": rep.finding.reason})

    def human(o: dict[str, Any]) -> str:
        lines = [f"camera {o['device']}: {probe.identity.describe()}"]
        if o["probe_error"]:
            lines.append(f"  not read: {o['probe_error']}")
        lines += [f"  {f['code']}: {f['reason']}" for f in o["findings"]] or ["  no findings"]
        if "timing" in o:
            tm = o["timing"]
            lines.append(f"  timing: {tm['frames']} frames, period {tm['period_ms']} ms, "
                         f"deviation {tm['deviation_ms']} ms, stated {tm['stated_fps']} fps")
        return "\n".join(lines)

    emit(out, as_json, human)
