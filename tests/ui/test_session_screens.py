"""Every screen of a PASSIVE session on the real kiosk, offscreen: attract, consent, positioning
(preview, cue, progress), processing, result with the QR code, and back to a clean attract
screen; consent refused; walk-away (nobody in front) and an unanswered consent screen end the
session Abandoned; the language switches mid-session.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt

from app.flow.worker import WorkerEnd
from sync.vocabulary import SessionStatus
from tests.ui.conftest import WAIT_MS, quick

S = SessionStatus


def _clean(window: Any) -> bool:
    """Nothing of the previous person on any widget."""
    return (window.current == "attract" and window.result.qr.matrix is None
            and window.result.status is None and window.camera.preview.image is None
            and window.camera.cue_key is None and window.camera.progress.value() == 0)


def test_a_passive_session_walks_through_every_screen(qtbot: Any, make_rig: Any,
                                                      live_frames: list[np.ndarray]) -> None:
    rig = make_rig(live_frames)
    w = rig.window
    seen: list[str] = []
    w.screen_changed.connect(seen.append)
    assert w.current == "attract" and w.camera.preview.image is None
    qtbot.mouseClick(w.attract.buttons["attract.start"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.current == "consent", timeout=WAIT_MS)
    assert "encrypted face template" in w.consent.kept.text()
    qtbot.mouseClick(w.consent.buttons["consent.agree"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.current == "result", timeout=WAIT_MS)
    assert seen[:3] == ["consent", "positioning", "processing"] or "positioning" in seen
    assert w.result.status is S.APPROVED
    assert w.result.title.text() == "Approved" and w.result.symbol.text() == "\u2714"
    assert w.result.qr.matrix is not None and w.result.qr.isVisible()
    qtbot.waitUntil(lambda: len(rig.outcomes) == 1, timeout=WAIT_MS)
    verdict = rig.outcomes[0].result.verdict
    assert verdict.status is S.APPROVED and verdict.capture_source.kind == "camera"
    assert w.camera.preview.shown > 0  # the live preview was drawn while positioning
    qtbot.mouseClick(w.result.buttons["result.done"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _clean(w), timeout=WAIT_MS)
    # the next person starts from scratch: a second session runs through
    qtbot.keyClick(w, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.current == "consent", timeout=WAIT_MS)


def test_refused_consent_is_abandoned_and_analyses_nothing(qtbot: Any, make_rig: Any,
                                                           live_frames: list[np.ndarray]) -> None:
    rig = make_rig(live_frames)
    w = rig.window
    w.start_session()
    qtbot.waitUntil(lambda: w.current == "consent", timeout=WAIT_MS)
    qtbot.mouseClick(w.consent.buttons["consent.decline"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(rig.outcomes) == 1, timeout=WAIT_MS)
    result = rig.outcomes[0].result
    assert result.verdict.status is S.ABANDONED
    assert result.frames_read == 0
    qtbot.waitUntil(lambda: _clean(w), timeout=WAIT_MS)


def test_walk_away_ends_abandoned_on_a_clean_attract_screen(
        qtbot: Any, make_rig: Any, kiosk: Any, live_frames: list[np.ndarray],
        empty_room: list[np.ndarray]) -> None:
    wf = quick(kiosk.workflow, abandon_after_seconds=1.5)
    rig = make_rig(live_frames, workflow=wf)
    w = rig.window
    w.start_session()
    qtbot.waitUntil(lambda: w.current == "consent", timeout=WAIT_MS)
    rig.camera.frames = empty_room  # the person stepped out before consenting... and stays out
    w.consent.answered.emit(True)
    qtbot.waitUntil(lambda: w.current == "positioning", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: w.camera.cue_key == "cues.NO_FACE", timeout=WAIT_MS)
    assert w.camera.cue_symbol.text() and "camera" in w.camera.cue_text.text()
    qtbot.waitUntil(lambda: len(rig.outcomes) == 1, timeout=WAIT_MS)
    outcome = rig.outcomes[0]
    assert outcome.end is WorkerEnd.FINISHED
    assert outcome.result.verdict.status is S.ABANDONED
    assert "no face for 1.5 s" in outcome.result.verdict.reason
    qtbot.waitUntil(lambda: _clean(w), timeout=WAIT_MS)


def test_nobody_answers_the_consent_screen(qtbot: Any, make_rig: Any,
                                           live_frames: list[np.ndarray]) -> None:
    rig = make_rig(live_frames, consent_timeout_s=0.5)
    w = rig.window
    w.start_session()
    qtbot.waitUntil(lambda: len(rig.outcomes) == 1, timeout=WAIT_MS)
    verdict = rig.outcomes[0].result.verdict
    assert verdict.status is S.ABANDONED and "walked away" in verdict.reason
    qtbot.waitUntil(lambda: _clean(w), timeout=WAIT_MS)


def test_language_switches_mid_session(qtbot: Any, make_rig: Any, kiosk: Any,
                                       live_frames: list[np.ndarray],
                                       empty_room: list[np.ndarray]) -> None:
    rig = make_rig(empty_room, workflow=quick(kiosk.workflow, abandon_after_seconds=30))
    w = rig.window
    assert w.lang_button.text() == "Bahasa Indonesia"
    w.start_session()
    qtbot.waitUntil(lambda: w.current == "consent", timeout=WAIT_MS)
    qtbot.mouseClick(w.lang_button, Qt.MouseButton.LeftButton)
    assert w.consent.title.text() == "Sebelum kita mulai"
    assert w.consent.buttons["consent.agree"].text() == "Saya setuju"
    assert w.lang_button.text() == "English"
    w.consent.answered.emit(True)
    qtbot.waitUntil(lambda: w.camera.cue_key == "cues.NO_FACE", timeout=WAIT_MS)
    assert w.camera.cue_text.text() == "Wajah Anda tidak terlihat. Silakan lihat ke kamera."
    qtbot.mouseClick(w.lang_button, Qt.MouseButton.LeftButton)  # back, still mid-session
    assert w.camera.cue_text.text() == "We cannot see your face. Please look at the camera."
    assert w.camera.title.text() == "Look at the camera"
    assert rig.booth.in_session
    rig.booth.cancel("test over")
    qtbot.waitUntil(lambda: len(rig.outcomes) == 1, timeout=WAIT_MS)


def test_widgets_have_accessible_names(make_rig: Any, live_frames: list[np.ndarray]) -> None:
    from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton, QWidget

    w = make_rig(live_frames).window
    unnamed = [c for c in w.findChildren(QWidget)
               if isinstance(c, QPushButton | QLineEdit | QLabel) and not c.accessibleName()]
    assert unnamed == []


def test_someone_stepping_in_wakes_the_attract_screen(qtbot: Any, make_rig: Any,
                                                       live_frames: list[np.ndarray],
                                                       empty_room: list[np.ndarray]) -> None:
    rig = make_rig(empty_room, motion_wake=True)
    w = rig.window
    assert w.current == "attract" and not rig.booth.in_session
    # the attract screen has looked at the empty room (two looks: a thumbnail to compare with)
    qtbot.waitUntil(lambda: rig.booth.analysis.taken >= 2, timeout=WAIT_MS)
    assert w.current == "attract" and not rig.booth.in_session
    rig.camera.frames = live_frames  # a person steps in front of the camera
    qtbot.waitUntil(lambda: w.current == "consent", timeout=WAIT_MS)
    assert rig.booth.in_session  # a session asks for consent; nothing was analysed before it
    assert rig.booth.flow is not None and rig.booth.flow.frames_read == 0
    rig.booth.cancel("test over")
    qtbot.waitUntil(lambda: len(rig.outcomes) == 1, timeout=WAIT_MS)
