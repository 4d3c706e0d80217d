"""Qt's messages reach logging, not raw stderr: the offscreen platform's notice on every window
is debug noise, a real Qt warning stays a warning."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from PySide6.QtCore import qWarning

from app.ui.person import application


def test_qt_messages_are_logged_and_the_offscreen_notice_is_quiet(
        qtbot: Any, capfd: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    application("test")  # installs the handler, as for poh kiosk calibrate and the lab's runs
    with caplog.at_level(logging.DEBUG, logger="app.ui.qt_messages"):
        qWarning("This plugin does not support propagateSizeHints()")
        qWarning("QPainter::begin: Paint device returned engine == 0")
    assert "propagateSizeHints" not in capfd.readouterr().err
    levels = {r.getMessage(): r.levelno for r in caplog.records}
    assert levels["Qt: This plugin does not support propagateSizeHints()"] == logging.DEBUG
    assert levels["Qt: QPainter::begin: Paint device returned engine == 0"] == logging.WARNING
