"""The kiosk screen carries the booth camera's capture-integrity findings into every session: the
camera is probed when the booth starts (and again when it comes back), and a virtual camera ends
the session In Review (the default workflow's capture_integrity), with the warning signed into
the verdict."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.capture.integrity import CameraIdentity, CameraProbe
from app.kiosk.root import Kiosk
from sync.vocabulary import SessionStatus, WarningCode
from tests.ui.conftest import WAIT_MS

LOOPBACK = CameraProbe("video9", CameraIdentity(node="video9", driver="v4l2 loopback",
                                                card="Dummy video device"),
                       ("driver v4l2 loopback",))


def test_a_virtual_camera_sends_the_session_to_review(qtbot: Any, make_rig: Any, kiosk: Kiosk,
                                                      live_frames: list[np.ndarray]) -> None:
    probes: list[str] = []

    def check() -> Any:
        probes.append("probe")
        return kiosk.camera_check("video9", 30.0, probe=LOOPBACK)

    rig = make_rig(live_frames, camera_check=check)
    assert probes == ["probe"]  # probed when the booth started, before any session
    w = rig.window
    w.start_session()
    qtbot.waitUntil(lambda: w.current == "consent", timeout=WAIT_MS)
    rig.booth.consent(True)
    qtbot.waitUntil(lambda: len(rig.outcomes) == 1, timeout=WAIT_MS)
    verdict = rig.outcomes[0].result.verdict
    codes = set(verdict.warnings)
    assert WarningCode.VIRTUAL_CAMERA in codes
    assert verdict.status is SessionStatus.IN_REVIEW
