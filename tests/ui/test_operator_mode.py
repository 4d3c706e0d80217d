"""Operator mode on the kiosk screen, by keyboard: the PIN (a real scrypt hash, the lockout state
in a real file), five wrong tries lock it (even the right PIN is then refused, also after a
restart), and the unlocked console: status, erase, export, lock, quit (only from here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt

from app.kiosk.operator import OperatorConfig, OperatorGate, hash_pin
from tests.ui.conftest import WAIT_MS

PIN = "2468"


def _gate(tmp_path: Path) -> OperatorGate:
    cfg = OperatorConfig(pin_hash=hash_pin(PIN), max_attempts=5, lockout_seconds=300)
    return OperatorGate(cfg, tmp_path / "operator-lock.json")


def _type_pin(qtbot: Any, w: Any, pin: str) -> None:
    qtbot.keyClicks(w.operator.pin, pin)
    qtbot.keyClick(w.operator.pin, Qt.Key.Key_Return)


def test_five_wrong_pins_lock_operator_mode(qtbot: Any, make_rig: Any, tmp_path: Path,
                                            live_frames: list[np.ndarray]) -> None:
    gate = _gate(tmp_path)
    w = make_rig(live_frames, gate=gate).window
    qtbot.keyClick(w, Qt.Key.Key_F12)
    assert w.current == "operator" and not w.operator.unlocked_view
    assert w.operator.pin.echoMode() == w.operator.pin.EchoMode.Password
    for left in (4, 3, 2, 1):
        _type_pin(qtbot, w, "0000")
        assert w.operator.pin_message.text().endswith(f"{left} tries left.")
    _type_pin(qtbot, w, "1111")
    assert "Locked" in w.operator.pin_message.text()
    _type_pin(qtbot, w, PIN)  # the right PIN, during the lockout
    assert "Locked" in w.operator.pin_message.text() and not w.operator.unlocked_view
    assert not gate.unlocked and gate.failures == 5
    # a restart (a new gate on the same state file) is still locked
    assert OperatorGate(gate._config, tmp_path / "operator-lock.json").unlock(PIN).outcome.value \
        == "locked"
    qtbot.keyClick(w.operator.pin, Qt.Key.Key_Escape)
    w.operator.back_button.click()
    qtbot.waitUntil(lambda: w.current == "attract", timeout=WAIT_MS)


def test_unlocked_console_status_erase_export_lock_quit(qtbot: Any, make_rig: Any,
                                                        tmp_path: Path,
                                                        live_frames: list[np.ndarray]) -> None:
    gate = _gate(tmp_path)
    w = make_rig(live_frames, gate=gate).window
    w.open_operator()
    _type_pin(qtbot, w, PIN)
    assert w.operator.unlocked_view and gate.unlocked
    assert "workflow poh-default@1" in w.operator.status_view.toPlainText()
    qtbot.keyClicks(w.operator.vendor, "nobody-here")
    w.operator.b_erase.click()
    assert w.operator.message.text().startswith("\u2714 Erased 0 sessions")
    out = tmp_path / "export"
    qtbot.keyClicks(w.operator.folder, str(out))
    w.operator.b_export.click()
    assert "0 verdicts written" in w.operator.message.text() and out.is_dir()
    w.operator.b_lock.click()  # lock: back to the kiosk, the PIN asked again
    assert w.current == "attract" and not gate.unlocked
    w.open_operator()
    assert not w.operator.unlocked_view
    _type_pin(qtbot, w, PIN)
    with qtbot.waitSignal(w.operator.quit_requested, timeout=WAIT_MS):
        w.operator.b_quit.click()
    assert not gate.unlocked


def test_operator_mode_cancels_a_running_session(qtbot: Any, make_rig: Any, tmp_path: Path,
                                                 live_frames: list[np.ndarray]) -> None:
    rig = make_rig(live_frames, gate=_gate(tmp_path))
    w = rig.window
    w.start_session()
    qtbot.waitUntil(lambda: w.current == "consent", timeout=WAIT_MS)
    qtbot.keyClick(w, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.AltModifier)
    assert w.current == "operator"
    qtbot.waitUntil(lambda: len(rig.outcomes) == 1, timeout=WAIT_MS)
    assert "operator" in rig.outcomes[0].result.verdict.reason
    assert w.current == "operator"  # the session's end does not take the operator's screen
