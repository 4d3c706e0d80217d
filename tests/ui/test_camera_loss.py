"""The camera unplugged mid-session: the error screen, the session ended Abandoned with the reason,
and the kiosk back on its attract screen once the camera returns (a new session then runs)."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.flow.worker import WorkerEnd
from sync.vocabulary import SessionStatus
from tests.ui.conftest import WAIT_MS, quick


def test_camera_unplugged_mid_session_then_back(qtbot: Any, make_rig: Any, kiosk: Any,
                                                empty_room: list[np.ndarray],
                                                live_frames: list[np.ndarray]) -> None:
    rig = make_rig(empty_room, workflow=quick(kiosk.workflow, abandon_after_seconds=60))
    w = rig.window
    w.start_session()
    qtbot.waitUntil(lambda: w.current == "consent", timeout=WAIT_MS)
    w.consent.answered.emit(True)
    qtbot.waitUntil(lambda: w.current == "positioning", timeout=WAIT_MS)
    rig.camera.plugged.clear()  # unplugged
    qtbot.waitUntil(lambda: len(rig.outcomes) == 1, timeout=WAIT_MS)
    outcome = rig.outcomes[0]
    assert outcome.end is WorkerEnd.CAMERA_LOST
    verdict = outcome.result.verdict
    assert verdict.status is SessionStatus.ABANDONED
    assert "camera lost" in verdict.reason
    assert w.current == "error" and w.error.kind == "camera_lost"
    assert "camera" in w.error.body.text() and w.error.symbol.text() == "\u26A0"
    assert w.camera.preview.image is None
    w.start_session()  # nothing starts while the camera is gone
    assert not rig.booth.in_session and w.current == "error"
    opened = rig.camera.opened
    qtbot.waitUntil(lambda: rig.camera.opened > opened, timeout=WAIT_MS)  # it keeps retrying
    rig.camera.frames = live_frames
    rig.camera.plugged.set()  # plugged back in
    qtbot.waitUntil(lambda: w.current == "attract", timeout=WAIT_MS)
    assert rig.booth.lost_reason is None
    w.start_session()
    qtbot.waitUntil(lambda: w.current == "consent", timeout=WAIT_MS)
    w.consent.answered.emit(True)
    qtbot.waitUntil(lambda: len(rig.outcomes) == 2, timeout=WAIT_MS)
    assert rig.outcomes[1].result.verdict.status is SessionStatus.APPROVED


def test_camera_lost_while_idle_shows_the_error_screen(qtbot: Any, make_rig: Any,
                                                       live_frames: list[np.ndarray]) -> None:
    rig = make_rig(live_frames)
    w = rig.window
    rig.camera.plugged.clear()
    qtbot.waitUntil(lambda: w.current == "error", timeout=WAIT_MS)
    assert w.error.kind == "camera_lost" and rig.outcomes == []
    rig.camera.plugged.set()
    qtbot.waitUntil(lambda: w.current == "attract", timeout=WAIT_MS)
