"""A scripted person at the kiosk, for unattended runs (the lab's `poh-lab kiosk`, tests): taps
Start on the attract screen, agrees on the consent screen and taps Done on the result screen,
each a little after the screen appears, like a person reading it. Attach it with
`KioskHooks.person` (app.kiosk_main). Following the cues and the action prompts is the
simulated camera's part (it reads the ScreenTimeline), not this one's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer

from app.ui.window import KioskWindow

log = logging.getLogger(__name__)


class WalkUpPerson:
    """`sessions`: how many times to start (None: every time the attract screen shows)."""

    def __init__(self, sessions: int | None = None, *, read_ms: int = 300,
                 agree: bool = True) -> None:
        self.sessions_left = sessions
        self.read_ms = read_ms
        self.agree = agree
        self.window: KioskWindow | None = None
        self.screens: list[str] = []

    def __call__(self, window: KioskWindow) -> None:
        self.window = window
        window.screen_changed.connect(self._on_screen)
        self._on_screen(window.current)

    def _on_screen(self, name: str) -> None:
        self.screens.append(name)
        QTimer.singleShot(self.read_ms, lambda: self._act(name))

    def _act(self, name: str) -> None:
        w = self.window
        if w is None or w.current != name:
            return  # the screen moved on while "reading"
        if name == "attract" and self.sessions_left != 0:
            if self.sessions_left is not None:
                self.sessions_left -= 1
            log.info("the simulated person taps Start")
            w.attract.start.emit()
        elif name == "consent":
            w.consent.answered.emit(self.agree)
        elif name == "result":
            w.result.acknowledged.emit()


class ScreenShots:
    """Saves a PNG of every screen shown (`folder/NN-name.png`), for the lab and the demo only:
    the preview on it is whatever the camera sees, so never on a real camera. The shot is taken
    when the event loop next runs, after the screen has been drawn."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.saved: list[Path] = []

    def __call__(self, window: KioskWindow) -> None:
        window.screen_changed.connect(
            lambda name: QTimer.singleShot(0, lambda: self._shoot(window, name)))
        QTimer.singleShot(0, lambda: self._shoot(window, window.current))

    def _shoot(self, window: KioskWindow, name: str) -> None:
        path = self.folder / f"{len(self.saved) + 1:03d}-{name}.png"
        if window.grab().save(str(path)):
            self.saved.append(path)
        else:
            log.warning("screenshot %s not saved", path)


def application(name: str) -> object:
    """The process's QApplication (made when there is none; Qt's messages routed to logging,
    app.ui.qt_messages); keep the reference."""
    from PySide6.QtWidgets import QApplication

    from app.ui.qt_messages import route_qt_messages

    app = QApplication.instance() or QApplication([name])
    route_qt_messages()
    return app


def run_events(ms: int, until: Callable[[], bool] | None = None,
               timeout_ms: int = 120_000) -> bool:
    """Run the Qt event loop for `ms`, or until `until()` holds (checked every 20 ms, at most
    `timeout_ms`); returns whether it holds. For unattended drivers (benchmarks, the lab)."""
    loop = QEventLoop()
    if until is None:
        QTimer.singleShot(ms, loop.quit)
        loop.exec()
        return True
    poll = QTimer()
    poll.setInterval(20)
    poll.timeout.connect(lambda: loop.quit() if until() else None)
    poll.start()
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    poll.stop()
    return until()
