"""Storage full when the verdict is written: the session fails without a verdict (the flow's
own fault point raises the storage's typed error there, as a full disk would), the screen says
the storage is full and to see the staff, then returns to a clean attract screen."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.flow.worker import WorkerEnd
from storage.errors import StorageFullError
from tests.ui.conftest import WAIT_MS


def _disk_full(point: str) -> None:
    if point == "verdict-before-commit":
        raise StorageFullError("database write: the disk or the database size limit is full")


def test_storage_full_shows_the_error_screen(qtbot: Any, make_rig: Any, kiosk: Any,
                                             live_frames: list[np.ndarray]) -> None:
    rig = make_rig(live_frames, error_hold_s=1.0, crash=_disk_full)
    w = rig.window
    w.start_session()
    qtbot.waitUntil(lambda: w.current == "consent", timeout=WAIT_MS)
    w.consent.answered.emit(True)
    qtbot.waitUntil(lambda: len(rig.outcomes) == 1, timeout=WAIT_MS)
    outcome = rig.outcomes[0]
    assert outcome.end is WorkerEnd.FAILED and outcome.result is None
    assert "StorageFullError" in outcome.error
    assert w.current == "error" and w.error.kind == "storage_full"
    assert "storage is full" in w.error.body.text() and w.result.qr.matrix is None
    assert kiosk.storage.verdicts().last_sequence() == 0  # nothing was signed and stored
    qtbot.waitUntil(lambda: w.current == "attract", timeout=WAIT_MS)
