"""Qt's own messages go to a logger (warnings stay warnings, shown as any other log line), never
raw to stderr: Qt's offscreen platform prints "This plugin does not support propagateSizeHints()"
for every window it shows, which is no fault and would stand among a command's output."""

from __future__ import annotations

import logging

from PySide6.QtCore import QtMsgType, qInstallMessageHandler

log = logging.getLogger(__name__)

# Said on every window shown offscreen (tests, the lab, `--offscreen`); nothing is wrong.
QT_NOISE = frozenset({"This plugin does not support propagateSizeHints()"})

_LEVELS = {QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.INFO,
           QtMsgType.QtWarningMsg: logging.WARNING, QtMsgType.QtCriticalMsg: logging.ERROR,
           QtMsgType.QtFatalMsg: logging.CRITICAL}


def _handler(kind: QtMsgType, _context: object, message: str) -> None:
    level = logging.DEBUG if message in QT_NOISE else _LEVELS.get(kind, logging.WARNING)
    log.log(level, "Qt: %s", message)


def route_qt_messages() -> None:
    """Install the handler for this process (again is harmless)."""
    qInstallMessageHandler(_handler)
