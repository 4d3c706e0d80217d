"""Operator mode on the kiosk screen: a PIN pad (keyboard first) in front of the Qt-free
OperatorConsole (app/kiosk/operator_console.py): status, erase by vendor_data, export today's
verdicts, lock, and quitting the kiosk, which is possible only from here.

The gate counts wrong PINs and locks after `operator.max_attempts` (5), persisted across
restarts; an open operator mode locks itself when idle (checked every second here).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QStackedLayout,
    QVBoxLayout,
    QWidget,
)

from app.errors import BadInputError
from app.kiosk.operator import UnlockOutcome
from app.kiosk.operator_console import OperatorConsole, OperatorStatus
from app.ui.i18n import Translator
from app.ui.screens import label

log = logging.getLogger(__name__)


def status_text(st: OperatorStatus) -> str:
    sessions = ", ".join(f"{k}: {v}" for k, v in sorted(st.sessions.items())) or "none"
    lines = [f"workflow {st.workflow_ref}",
             f"sessions {st.day.isoformat()} (UTC): {sessions}",
             f"outbox backlog {st.outbox_backlog} (oldest unsent {st.oldest_unsent or '-'}), "
             f"last sequence {st.last_sequence}"]
    lines += ["recent errors:"] + (st.recent_errors[-8:] or ["none"])
    return "\n".join(lines)


class OperatorScreen(QWidget):
    """PIN entry, then the console; `closed` returns to the kiosk, `quit_requested` ends it."""

    name = "operator"
    closed = Signal()
    quit_requested = Signal()

    def __init__(self, tr: Translator, console: OperatorConsole) -> None:
        super().__init__()
        self.setAccessibleName("operator")
        self.tr_ = tr
        self.console = console
        self.stack = QStackedLayout(self)
        self.stack.addWidget(self._pin_page())
        self.stack.addWidget(self._console_page())
        self._idle = QTimer(self)
        self._idle.setInterval(1000)
        self._idle.timeout.connect(self._check_idle)
        self.retranslate()

    # ---- pages -------------------------------------------------------------------------------
    def _pin_page(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.addStretch(1)
        self.pin_title = label("operator PIN title", "title")
        self.pin = QLineEdit()
        self.pin.setAccessibleName("operator PIN")
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setMaxLength(12)
        self.pin.returnPressed.connect(self.submit_pin)
        self.pin_message = label("operator PIN message")
        self.unlock_button = QPushButton()
        self.unlock_button.clicked.connect(self.submit_pin)
        self.back_button = QPushButton()
        self.back_button.clicked.connect(self.leave)
        row = QHBoxLayout()
        row.addWidget(self.back_button)
        row.addWidget(self.unlock_button)
        for w in (self.pin_title, self.pin, self.pin_message):
            lay.addWidget(w)
        lay.addLayout(row)
        lay.addStretch(1)
        return page

    def _console_page(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        self.console_title = label("operator title", "title")
        self.status_view = QPlainTextEdit()
        self.status_view.setReadOnly(True)
        self.status_view.setAccessibleName("operator status")
        self.vendor = QLineEdit()
        self.vendor.setAccessibleName("vendor_data to erase")
        self.folder = QLineEdit()
        self.folder.setAccessibleName("export folder")
        self.message = label("operator message")
        self.b_status, self.b_erase, self.b_export, self.b_lock, self.b_quit = (
            QPushButton() for _ in range(5))
        self.b_status.clicked.connect(self.refresh)
        self.b_erase.clicked.connect(self.erase)
        self.b_export.clicked.connect(self.export)
        self.b_lock.clicked.connect(self.lock)
        self.b_quit.clicked.connect(self.quit)
        lay.addWidget(self.console_title)
        lay.addWidget(self.status_view, 1)
        for field, button in ((self.vendor, self.b_erase), (self.folder, self.b_export)):
            row = QHBoxLayout()
            row.addWidget(field, 1)
            row.addWidget(button)
            lay.addLayout(row)
        lay.addWidget(self.message)
        row = QHBoxLayout()
        for b in (self.b_status, self.b_lock, self.b_quit):
            row.addWidget(b)
        lay.addLayout(row)
        return page

    def retranslate(self) -> None:
        tr = self.tr_.tr
        self.pin_title.setText("\u2699 " + tr("operator.pin"))
        self.console_title.setText("\u2699 " + tr("operator.title"))
        self.vendor.setPlaceholderText(tr("operator.erase.field"))
        self.folder.setPlaceholderText(tr("operator.export.field"))
        for b, key in ((self.unlock_button, "operator.enter"),
                       (self.back_button, "operator.cancel"),
                       (self.b_status, "operator.status"), (self.b_erase, "operator.erase"),
                       (self.b_export, "operator.export"), (self.b_lock, "operator.lock"),
                       (self.b_quit, "operator.quit")):
            b.setText(tr(key))
            b.setAccessibleName(tr(key))

    # ---- PIN ---------------------------------------------------------------------------------
    def open(self) -> None:
        """Show the PIN page (or the console when still unlocked)."""
        if self.console.gate.unlocked:
            self._show_console()
        else:
            self.stack.setCurrentIndex(0)
            self.pin.clear()
            self.pin_message.setText("")
            self.pin.setFocus(Qt.FocusReason.OtherFocusReason)

    def submit_pin(self) -> None:
        pin = self.pin.text()
        self.pin.clear()
        res = self.console.gate.unlock(pin)
        tr = self.tr_.tr
        if res.outcome is UnlockOutcome.OK:
            self._show_console()
        elif res.outcome is UnlockOutcome.WRONG:
            self.pin_message.setText("\u2716 " + tr("operator.wrong", n=res.remaining_tries))
        elif res.outcome is UnlockOutcome.LOCKED:
            secs = int(round(res.seconds_left or 0))
            self.pin_message.setText("\u26A0 " + tr("operator.locked", s=secs))
        else:
            self.pin_message.setText("\u26A0 " + tr("operator.not_set"))

    def _show_console(self) -> None:
        self.stack.setCurrentIndex(1)
        self.message.setText("")
        self.refresh()
        self._idle.start()
        self.b_status.setFocus(Qt.FocusReason.OtherFocusReason)

    @property
    def unlocked_view(self) -> bool:
        return self.stack.currentIndex() == 1

    def _check_idle(self) -> None:
        if self.unlocked_view and not self.console.gate.unlocked:
            self.lock()

    # ---- actions -----------------------------------------------------------------------------
    def _failed(self, what: str, exc: Exception) -> None:
        log.warning("operator %s failed: %s", what, exc)
        self.message.setText("\u26A0 " + self.tr_.tr("operator.failed", error=str(exc)))
        if not self.console.gate.unlocked:  # idle timeout ran out: back to the PIN
            self.lock()

    def refresh(self) -> None:
        try:
            st = self.console.status()
        except (BadInputError, OSError) as exc:
            self._failed("status", exc)
            return
        self.status_view.setPlainText(status_text(st))

    def erase(self) -> None:
        vendor = self.vendor.text().strip()
        try:
            res = self.console.erase(vendor)
        except (BadInputError, OSError) as exc:
            self._failed("erase", exc)
            return
        self.message.setText("\u2714 " + self.tr_.tr(
            "operator.erased", sessions=res.sessions, templates=res.templates,
            recordings=res.recordings))
        self.vendor.clear()
        self.refresh()

    def export(self) -> None:
        text = self.folder.text().strip()
        if not text:
            self.message.setText("\u26A0 " + self.tr_.tr("operator.export.field"))
            return
        folder = Path(text).expanduser()
        try:
            written = self.console.export_day(self.console.status().day, folder)
        except (BadInputError, OSError) as exc:
            self._failed("export", exc)
            return
        self.message.setText("\u2714 " + self.tr_.tr("operator.exported", n=len(written),
                                                      folder=str(folder)))

    def lock(self) -> None:
        self.console.lock()
        self._idle.stop()
        self.status_view.clear()
        self.leave()

    def leave(self) -> None:
        self.stack.setCurrentIndex(0)
        self.pin.clear()
        self.closed.emit()

    def quit(self) -> None:
        """Quit the kiosk (only an unlocked operator mode gets here)."""
        try:
            self.console.quit()
        except BadInputError as exc:
            self._failed("quit", exc)
            return
        self._idle.stop()
        self.quit_requested.emit()
