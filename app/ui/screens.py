"""The kiosk's message screens: attract, consent, processing, result and error.

Each screen is a symbol, a title and a body (large type, text plus symbol), with its buttons;
`retranslate()` re-reads every text when the language changes, also mid-session. `clear()`
forgets what was shown to the previous person (result, reason, QR code).
"""

from __future__ import annotations

from collections.abc import Callable

import qrcode
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget
from qrcode.constants import ERROR_CORRECT_M

from app.flow.result import SessionResult
from app.ui import theme
from app.ui.i18n import Translator
from sync.fleet.evidence_wire import HUB_RETENTION_DAYS
from sync.vocabulary import SessionStatus

S = SessionStatus


def label(name: str, object_name: str = "", *, wrap: bool = True) -> QLabel:
    lab = QLabel()
    lab.setAccessibleName(name)
    if object_name:
        lab.setObjectName(object_name)
    lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
    lab.setWordWrap(wrap)
    lab.setTextFormat(Qt.TextFormat.PlainText)
    return lab


class Screen(QWidget):
    """A symbol, a title, a body and a row of buttons; texts by i18n key."""

    name = "screen"

    def __init__(self, tr: Translator, symbol: str = "", title_key: str = "",
                 body_key: str = "") -> None:
        super().__init__()
        self.setAccessibleName(self.name)
        self.tr_ = tr
        self.symbol_key, self.title_key, self.body_key = symbol, title_key, body_key
        self.body_values: dict[str, object] = {}
        self.symbol = label(f"{self.name} symbol", "symbol")
        self.title = label(f"{self.name} title", "title")
        self.body = label(f"{self.name} text")
        self.buttons: dict[str, QPushButton] = {}
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(60, 60, 60, 60)
        self.layout_.addStretch(1)
        for w in (self.symbol, self.title, self.body):
            self.layout_.addWidget(w)
        self.extra = QVBoxLayout()
        self.layout_.addLayout(self.extra)
        self.row = QHBoxLayout()
        self.layout_.addLayout(self.row)
        self.layout_.addStretch(1)

    def add_button(self, key: str, slot: Callable[[], None]) -> QPushButton:
        b = QPushButton()
        b.clicked.connect(slot)
        b.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.buttons[key] = b
        self.row.addWidget(b)
        return b

    def retranslate(self) -> None:
        tr = self.tr_
        self.symbol.setText(theme.SYMBOLS.get(self.symbol_key, ""))
        self.symbol.setAccessibleDescription(self.symbol_key)
        self.title.setText(tr.tr(self.title_key) if self.title_key else "")
        self.body.setText(tr.tr(self.body_key, **self.body_values) if self.body_key else "")
        for key, b in self.buttons.items():
            b.setText(tr.tr(key))
            b.setAccessibleName(tr.tr(key))


class AttractScreen(Screen):
    name = "attract"
    start = Signal()

    def __init__(self, tr: Translator) -> None:
        super().__init__(tr, "start", "attract.title", "attract.body")
        self.add_button("attract.start", self.start.emit)
        self.retranslate()

    def mousePressEvent(self, event: object) -> None:  # a tap anywhere starts
        self.start.emit()


class ConsentScreen(Screen):
    name = "consent"
    answered = Signal(bool)

    def __init__(self, tr: Translator) -> None:
        super().__init__(tr, "consent", "consent.title", "consent.checked")
        # the longest text of the kiosk: a smaller symbol and margins keep all of it in large
        # type on a 1280x720 screen (tests/ui/test_screen_text_fits.py)
        self.symbol.setObjectName("symbol_small")
        self.layout_.setContentsMargins(48, 16, 48, 16)
        self.layout_.setSpacing(8)
        self.body.setObjectName("compact")
        self.kept = label("what is kept", "compact")
        self.extra.addWidget(self.kept)
        self.flash_note = label("about the flash", "compact_muted")
        self.extra.addWidget(self.flash_note)
        self.evidence_days: float | None = None
        self.evidence_sent = False  # the workflow's sync_evidence: frames go to the hub
        self.flashes = False
        self.add_button("consent.decline", lambda: self.answered.emit(False))
        self.add_button("consent.agree", lambda: self.answered.emit(True))
        self.retranslate()

    def configure(self, *, flashes: bool, evidence_days: float | None,
                  evidence_sent: bool = False) -> None:
        self.flashes, self.evidence_days = flashes, evidence_days
        self.evidence_sent = evidence_sent and evidence_days is not None
        self.retranslate()

    def retranslate(self) -> None:
        super().retranslate()
        text = self.tr_.tr("consent.kept")
        if self.evidence_days is not None:
            text += " " + self.tr_.tr("consent.kept_evidence", days=f"{self.evidence_days:g}")
            if self.evidence_sent:
                text += " " + self.tr_.tr("consent.sent_evidence", days=f"{HUB_RETENTION_DAYS:g}")
        self.kept.setText(text)
        self.flash_note.setText(self.tr_.tr("consent.flash") if self.flashes else "")


class ProcessingScreen(Screen):
    name = "processing"

    def __init__(self, tr: Translator) -> None:
        super().__init__(tr, "processing", "processing.title", "processing.body")
        self.retranslate()


class QrView(QWidget):
    """A QR code drawn from its module matrix (never written to a file)."""

    def __init__(self) -> None:
        super().__init__()
        self.setAccessibleName("credential QR code")
        self.setMinimumSize(320, 320)
        self.matrix: list[list[bool]] | None = None

    def set_text(self, text: str | None) -> None:
        if text is None:
            self.matrix = None
        else:
            qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4)
            qr.add_data(text)
            qr.make(fit=True)
            self.matrix = [list(row) for row in qr.get_matrix()]
        self.setVisible(self.matrix is not None)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self.matrix:
            return
        p = QPainter(self)
        try:
            n = len(self.matrix)
            side = min(self.width(), self.height())
            cell = side / n
            x0, y0 = (self.width() - side) / 2, (self.height() - side) / 2
            p.fillRect(QRectF(x0, y0, side, side), QColor("white"))
            black = QColor("black")
            for y, row in enumerate(self.matrix):
                for x, dark in enumerate(row):
                    if dark:
                        p.fillRect(QRectF(x0 + x * cell, y0 + y * cell, cell + 0.5, cell + 0.5),
                                   black)
        finally:
            p.end()


def reason_key(result: SessionResult) -> str:
    """The i18n key of the reason a person is told (the verdict's first known warning)."""
    for code in result.verdict.warnings:
        key = f"reason.{code}"
        if code != "CHECK_NOT_COMPLETED":
            return key
    return "reason.CHECK_NOT_COMPLETED"


class ResultScreen(Screen):
    name = "result"
    acknowledged = Signal()

    def __init__(self, tr: Translator) -> None:
        super().__init__(tr)
        self.qr = QrView()
        self.extra.addWidget(self.qr, alignment=Qt.AlignmentFlag.AlignCenter)
        self.add_button("result.done", self.acknowledged.emit)
        self.status: SessionStatus | None = None
        self.clear()

    def show_result(self, result: SessionResult) -> None:
        status = result.verdict.status
        self.status = status
        self.body_values = {}
        if status is S.APPROVED:
            self.symbol_key, self.title_key = "approved", "result.approved.title"
            self.body_key = ("result.approved.body" if result.credential
                             else "result.approved.no_credential")
            self.qr.set_text(result.credential)
        elif status is S.DECLINED:
            self.symbol_key, self.title_key = "declined", "result.declined.title"
            self.body_key = reason_key(result)
            if not self.tr_.has(self.body_key):
                self.body_key = "reason.CHECK_NOT_COMPLETED"
        elif status is S.IN_REVIEW:
            self.symbol_key, self.title_key = "review", "result.review.title"
            self.body_key = "result.review.body"
        else:  # Abandoned, Expired: nothing decided about the person
            self.symbol_key, self.title_key = "unfinished", "result.unfinished.title"
            self.body_key = ("result.expired.body" if status is S.EXPIRED
                             else "result.unfinished.body")
        self.retranslate()

    def clear(self) -> None:
        """Forget the previous person's result and QR code."""
        self.status = None
        self.symbol_key = self.title_key = self.body_key = ""
        self.qr.set_text(None)
        self.retranslate()


class ErrorScreen(Screen):
    name = "error"

    def __init__(self, tr: Translator) -> None:
        super().__init__(tr, "error", "error.title", "error.internal")
        self.kind = "internal"
        self.retranslate()

    def show_error(self, kind: str) -> None:
        """kind: camera_lost | storage_full | internal."""
        self.kind = kind
        self.body_key = f"error.{kind}"
        self.retranslate()
