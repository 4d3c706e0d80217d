"""Every word of the message screens is readable on the smallest booth screen we support (1280x800,
the demo's): no label is squeezed below the height its wrapped text needs, in either language,
with the longest variant of each text (the flash note and the evidence retention shown)."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QLabel

from app.ui import theme
from app.ui.i18n import LANGUAGES, Translator
from app.ui.screens import AttractScreen, ConsentScreen, ErrorScreen, ProcessingScreen


def _clipped(screen: Any) -> list[str]:
    out = []
    for lab in screen.findChildren(QLabel):
        if lab.isVisible() and lab.text() and lab.wordWrap():
            need = lab.heightForWidth(lab.width())
            if lab.height() < need:
                out.append(f"{lab.accessibleName()}: {lab.height()} px of {need}")
    return out


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("make", [AttractScreen, ConsentScreen, ProcessingScreen, ErrorScreen])
def test_message_screens_fit_a_1280x800_window(qtbot: Any, lang: str, make: Any) -> None:
    screen = make(Translator(lang))
    screen.setStyleSheet(theme.STYLE)  # as the kiosk window styles its screens
    if isinstance(screen, ConsentScreen):
        screen.configure(flashes=True, evidence_days=30, evidence_sent=True)  # the longest
    qtbot.addWidget(screen)
    screen.resize(1280, 720)  # 800 less the window's language bar
    screen.show()
    qtbot.waitExposed(screen)
    assert _clipped(screen) == []
