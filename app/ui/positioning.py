"""The positioning and capture screens: the live mirrored preview with the face oval, one cue at a
time (text and symbol, from CueChanged), and the capture's progress (a ring around the oval and
a bar with its numbers); before a challenge, a countdown ring with the instruction to keep
looking at the screen.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QVBoxLayout, QWidget

from app.ui import theme
from app.ui.i18n import Translator
from app.ui.preview import PreviewView
from app.ui.screens import label


class CameraScreen(QWidget):
    """`mode` "positioning" (cues and progress) or "capture" (countdown before a challenge)."""

    name = "positioning"
    countdown_over = Signal()

    def __init__(self, tr: Translator) -> None:
        super().__init__()
        self.setAccessibleName("positioning")
        self.tr_ = tr
        self.mode = "positioning"
        self.title = label("positioning title", "title")
        self.preview = PreviewView()
        self.cue_symbol = label("cue symbol", "symbol", wrap=False)
        self.cue_text = label("instruction")
        self.progress = QProgressBar()
        self.progress.setAccessibleName("capture progress")
        self.progress.setFormat("%v / %m")
        row = QHBoxLayout()
        row.addWidget(self.cue_symbol, 0)
        row.addWidget(self.cue_text, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(40, 30, 40, 30)
        lay.addWidget(self.title)
        lay.addWidget(self.preview, 1)
        lay.addLayout(row)
        lay.addWidget(self.progress)
        self.cue_key: str | None = None
        self._count_left = 0
        self._count_timer = QTimer(self)
        self._count_timer.setInterval(1000)
        self._count_timer.timeout.connect(self._count_step)
        self.reset()

    # ---- state -------------------------------------------------------------------------------
    def reset(self) -> None:
        """A fresh positioning screen (no cue, no progress, no picture of anyone)."""
        self._count_timer.stop()
        self.mode = "positioning"
        self.name = "positioning"
        self.cue_key = None
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.preview.clear()
        self.retranslate()

    def set_cue(self, i18n_key: str | None) -> None:
        self.cue_key = i18n_key if (i18n_key and self.tr_.has(i18n_key)) else None
        self.retranslate()

    def set_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(min(done, total))
        self.preview.ring = done / total if total else None
        self.preview.update()

    def start_countdown(self, seconds: int) -> None:
        """The capture screen: count down, then `countdown_over` (the challenge starts)."""
        self.mode = "capture"
        self.name = "capture"
        self.cue_key = None
        self.progress.setVisible(False)
        self._count_left = max(0, seconds)
        self._show_count()
        self.retranslate()
        if self._count_left == 0:
            QTimer.singleShot(0, self.countdown_over.emit)
        else:
            self._count_timer.start()

    def stop_countdown(self) -> None:
        self._count_timer.stop()

    def _count_step(self) -> None:
        self._count_left -= 1
        self._show_count()
        if self._count_left <= 0:
            self._count_timer.stop()
            self.countdown_over.emit()

    def _show_count(self) -> None:
        total = max(1, self._count_left)
        self.preview.countdown = self._count_left if self._count_left > 0 else None
        self.preview.ring = self._count_left / total if self._count_left else 0.0
        self.preview.update()

    # ---- texts -------------------------------------------------------------------------------
    def retranslate(self) -> None:
        tr = self.tr_
        if self.mode == "capture":
            self.title.setText(tr.tr("capture.title"))
            self.cue_symbol.setText(theme.SYMBOLS["challenge"])
            self.cue_text.setText(tr.tr("capture.flash"))
        else:
            self.title.setText(tr.tr("positioning.title"))
            if self.cue_key is not None:
                self.cue_symbol.setText(theme.SYMBOLS["cue"])
                self.cue_text.setText(tr.tr(self.cue_key))
            else:
                hold = self.progress.value() > 0
                self.cue_symbol.setText(theme.SYMBOLS["positioning"])
                self.cue_text.setText(tr.tr("positioning.hold" if hold else "positioning.fit"))
        self.cue_text.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
