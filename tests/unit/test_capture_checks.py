"""Which sessions the capture-integrity checks apply to: booth-camera sessions only, and frame
times only from frames that carry the camera thread's number."""

from __future__ import annotations

from app.capture.integrity import CameraCheck
from app.flow.capture_checks import CaptureChecks
from app.session import CaptureFinding
from sync.verdict import CaptureSource
from sync.vocabulary import CaptureKind, WarningCode

CHANGED = CaptureFinding(WarningCode.CAMERA_CHANGED, "camera changed since provisioning")


def _fed(checks: CaptureChecks, n: int = 60, seq: bool = True) -> CaptureChecks:
    for i in range(n):
        checks.frame(i if seq else None, 1.0 + i / 30)  # a generator's exact times
    return checks


def test_booth_camera_sessions_are_checked() -> None:
    checks = _fed(CaptureChecks(CaptureSource(kind=CaptureKind.CAMERA),
                                CameraCheck((CHANGED,), 30.0)))
    assert checks.at_start == (CHANGED,)
    found = checks.at_capture_end()
    assert [f.code for f in found] == [WarningCode.IRREGULAR_FRAME_TIMING]
    assert checks.at_capture_end() == ()  # judged once


def test_other_sources_are_never_checked() -> None:
    for kind in (CaptureKind.VIDEO_FILE, CaptureKind.RECORDING, CaptureKind.SIMULATION,
                 CaptureKind.IMAGE):
        checks = _fed(CaptureChecks(CaptureSource(kind=kind), CameraCheck((CHANGED,), 30.0)))
        assert checks.at_start == () and checks.at_capture_end() == ()
        assert len(checks.times) == 0


def test_frames_without_the_camera_threads_number_are_not_timed() -> None:
    checks = _fed(CaptureChecks(CaptureSource(kind=CaptureKind.CAMERA), None), seq=False)
    assert checks.at_start == () and checks.at_capture_end() == ()
