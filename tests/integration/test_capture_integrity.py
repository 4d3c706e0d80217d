"""Capture integrity through the real pipeline, a real encrypted booth and signed verdicts:
frame times too regular for a camera, a camera that is not the provisioned one, and the
provisioned record kept durably and refused when altered. The camera is the only fake (frames
from the demo clip made of real portraits; identities as the drivers report them)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.capture import v4l2
from app.capture.frames import open_source
from app.capture.integrity import CameraCheck, CameraIdentity, CameraProbe, identity_from
from app.cli import main
from app.flow.controller import SessionFlow
from app.kiosk.camera_record import load_camera_identity, record_path, save_camera_identity
from app.kiosk.config import KioskConfig
from app.kiosk.root import Kiosk
from app.kiosk.storage import init_home
from app.lab.demo_clips import make_demo_clips
from app.workflows import DEFAULT_WORKFLOW, load_workflow
from app.workflows.model import CaptureAction, CaptureIntegrityConfig, Workflow
from sync.verdict import CaptureSource, verify_verdict_bytes
from sync.vocabulary import CaptureKind, SessionStatus, WarningCode

S = SessionStatus
W = WarningCode
CAMERA = CaptureSource(kind=CaptureKind.CAMERA, detail="camera 0 (test frames)")
FPS = 30.0


@pytest.fixture(scope="module")
def live_frames(tmp_path_factory: pytest.TempPathFactory) -> list[np.ndarray]:
    from app.paths import data_dir
    clips = make_demo_clips(data_dir() / "colour", tmp_path_factory.mktemp("clips"))
    return [f.image for f in open_source(str(clips["live"]))]


def camera_probe(serial: str, card: str = "HD Pro Webcam C920") -> CameraProbe:
    cap = v4l2.parse_querycap(v4l2.pack_querycap(
        "uvcvideo", card, "usb-0000:00:14.0-2", capabilities=0x84A00001,
        device_caps=0x04200001))
    ident = identity_from("video0", cap, None)
    ident = CameraIdentity(**{**ident.to_json(), "sysfs_driver": "uvcvideo",
                              "usb_vendor": "046d", "usb_product": "082d", "usb_serial": serial})
    return CameraProbe("/dev/video0", ident, ())


def run_session(kiosk: Kiosk, frames: list[np.ndarray], times: np.ndarray, *,
                workflow: Workflow | None = None, camera: CameraCheck | None = None,
                lead: int = 40) -> SessionFlow:
    """The kiosk's order: frames arrive (with the camera thread's numbers) from the consent
    screen on; the first `lead` are seen before the person consents."""
    flow = kiosk.new_session(CAMERA, "alice", workflow=workflow, camera=camera)
    flow.start(float(times[0]) - 0.01)
    seq = 0
    for img in frames[:1] * lead:  # the consent screen: frames pushed, not analysed
        flow.push_frame(img, float(times[seq]), seq)
        seq += 1
    flow.consent(True, float(times[seq]))
    for img in frames:
        flow.push_frame(img, float(times[seq]), seq)
        seq += 1
        if flow.finished:
            break
    assert flow.finished and flow.result is not None, flow.failure
    return flow


def regular_times(n: int) -> np.ndarray:
    return 10.0 + np.arange(n) / FPS  # a generator's 30.000 fps


def camera_times(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)  # a USB camera's read() times: about 0.5 ms of jitter
    return np.sort(10.0 + np.arange(n) / FPS + rng.normal(0.0, 0.5e-3, n))


def test_too_regular_frames_end_in_review_by_default(kiosk: Kiosk,
                                                     live_frames: list[np.ndarray]) -> None:
    flow = run_session(kiosk, live_frames, regular_times(200))
    assert flow.result is not None
    verdict = flow.result.verdict
    assert verdict.status is S.IN_REVIEW
    assert W.IRREGULAR_FRAME_TIMING in verdict.warnings
    assert verdict.reason is not None and "too regular" in verdict.reason
    assert verdict.liveness.status.value == "Approved"  # the face itself passed
    assert verify_verdict_bytes(flow.result.verdict_bytes, kiosk.key.public) == verdict
    assert flow.result.enrolled is False  # only Approved enrols
    report = flow.capture_checks.report
    assert report is not None and report.intervals >= 40


def test_too_regular_frames_decline_when_the_workflow_says_so(
        kiosk: Kiosk, live_frames: list[np.ndarray]) -> None:
    wf = load_workflow(DEFAULT_WORKFLOW)
    strict = wf.model_copy(update={"capture_integrity": CaptureIntegrityConfig(
        irregular_frame_timing=CaptureAction.DECLINE)})
    flow = run_session(kiosk, live_frames, regular_times(200), workflow=strict)
    assert flow.result is not None
    assert flow.result.verdict.status is S.DECLINED
    assert W.IRREGULAR_FRAME_TIMING in flow.result.verdict.warnings


def test_a_cameras_jittery_frames_pass(kiosk: Kiosk, live_frames: list[np.ndarray]) -> None:
    flow = run_session(kiosk, live_frames, camera_times(200))
    assert flow.result is not None
    assert flow.result.verdict.status is S.APPROVED
    assert flow.result.verdict.warnings == ()


def provision(kiosk: Kiosk, probe: CameraProbe) -> Path:
    db = kiosk.config.storage.paths(kiosk.storage.home).db
    save_camera_identity(db, kiosk.storage.key, kiosk.storage.db.booth_id, probe)
    return db


def test_a_changed_camera_goes_to_review_and_the_same_one_passes(
        kiosk: Kiosk, live_frames: list[np.ndarray]) -> None:
    db = provision(kiosk, camera_probe("A1B2C3"))
    assert record_path(db).stat().st_mode & 0o777 == 0o600
    swapped = kiosk.camera_check("0", 30.0, probe=camera_probe("ZZ9999"))
    assert [f.code for f in swapped.findings] == [W.CAMERA_CHANGED]
    flow = run_session(kiosk, live_frames, camera_times(200, 2), camera=swapped)
    assert flow.result is not None
    verdict = flow.result.verdict
    assert verdict.status is S.IN_REVIEW and verdict.warnings == (W.CAMERA_CHANGED,)
    assert verdict.reason is not None and "usb_serial 'A1B2C3' -> 'ZZ9999'" in verdict.reason

    # the same person on the provisioned camera (not enrolled above: review enrols nobody)
    same = kiosk.camera_check("0", 30.0, probe=camera_probe("A1B2C3"))
    assert same.findings == () and same.stated_fps == 30.0
    ok = run_session(kiosk, live_frames, camera_times(200, 1), camera=same)
    assert ok.result is not None and ok.result.verdict.status is S.APPROVED


def test_a_virtual_camera_declines_when_the_workflow_says_so(
        kiosk: Kiosk, live_frames: list[np.ndarray]) -> None:
    from app.capture.integrity import virtual_reasons
    cap = v4l2.parse_querycap(v4l2.pack_querycap("v4l2 loopback", "OBS Virtual Camera",
                                                 "platform:v4l2loopback-000"))
    ident = identity_from("video4", cap, None)
    provision(kiosk, camera_probe("A1B2C3"))
    check = kiosk.camera_check("4", probe=CameraProbe("/dev/video4", ident,
                                                      virtual_reasons(ident)))
    assert [f.code for f in check.findings] == [W.VIRTUAL_CAMERA, W.CAMERA_CHANGED]
    wf = load_workflow(DEFAULT_WORKFLOW).model_copy(update={
        "capture_integrity": CaptureIntegrityConfig(virtual_camera=CaptureAction.DECLINE)})
    flow = run_session(kiosk, live_frames, camera_times(200, 3), workflow=wf, camera=check)
    assert flow.result is not None
    verdict = flow.result.verdict
    assert verdict.status is S.DECLINED
    assert verdict.warnings == (W.VIRTUAL_CAMERA, W.CAMERA_CHANGED)
    assert verdict.reason is not None and "v4l2 loopback" in verdict.reason


def test_an_abandoned_session_still_names_the_camera_findings(kiosk: Kiosk) -> None:
    check = kiosk.camera_check("0", probe=camera_probe("A1B2C3"))  # nothing provisioned
    flow = kiosk.new_session(CAMERA, "bob", camera=check)
    flow.start(0.0)
    flow.walk_away(1.0)
    assert flow.result is not None
    assert flow.result.verdict.status is S.ABANDONED
    assert flow.result.verdict.warnings == (W.CHECK_NOT_COMPLETED, W.CAMERA_CHANGED)


def test_an_altered_or_foreign_record_is_not_believed(kiosk: Kiosk) -> None:
    db = provision(kiosk, camera_probe("A1B2C3"))
    path = record_path(db)
    doc = json.loads(path.read_text())
    doc["identity"]["usb_serial"] = "ZZ9999"  # edited to match a swapped camera
    path.write_text(json.dumps(doc))
    check = kiosk.camera_check("0", probe=camera_probe("ZZ9999"))
    assert [f.code for f in check.findings] == [W.CAMERA_CHANGED]
    assert "altered or made with another key" in check.findings[0].reason
    provision(kiosk, camera_probe("A1B2C3"))
    with pytest.raises(ValueError, match="another booth"):
        load_camera_identity(db, kiosk.storage.key, "0" * 32)


def test_re_initialising_sets_the_old_camera_aside(tmp_path: Path) -> None:
    cfg = KioskConfig().storage
    home = tmp_path / "home"
    first = init_home(home, cfg)
    from app.kiosk.storage import db_key
    db = cfg.paths(home).db
    save_camera_identity(db, db_key(home, cfg), first.booth_id, camera_probe("A1B2C3"))
    again = init_home(home, cfg, force=True)
    assert again.set_aside is not None
    assert not record_path(db).exists()
    assert (again.set_aside / "keys" / record_path(db).name).is_file()
    assert load_camera_identity(db, db_key(home, cfg), again.booth_id) is None


def _poh(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main.run([*args, "--json"])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_refuses_a_camera_it_cannot_identify(capsys: pytest.CaptureFixture[str],
                                                 tmp_path: Path) -> None:
    from app.paths import poh_home
    home = poh_home()
    code, _, err = _poh(capsys, "db", "init", "--camera", "/dev/video97")
    assert code == 2 and err.count("\n") == 1 and "cannot identify it" in err
    assert not list(home.iterdir())  # nothing initialised
    code, _, err = _poh(capsys, "camera", "provision", str(tmp_path / "nothing"))
    assert code == 2 and "not a /dev/videoN" in err
    assert _poh(capsys, "db", "init")[0] == 0
    code, out, err = _poh(capsys, "camera", "check", "/dev/video97")
    assert code == 0, err
    r = json.loads(out)
    assert r["probe_error"] and [f["code"] for f in r["findings"]] == ["CAMERA_CHANGED"]
    assert "no camera was provisioned" in r["findings"][0]["reason"]
