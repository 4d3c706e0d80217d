"""Colours, type sizes and symbols of the kiosk screen: large type, high contrast, a symbol next to
every instruction, meaning never carried by colour alone (outside the flash itself).

The background is the UI_DARK the flash-safety check assumes around a challenge
(app/capture/flash_safety.py); the ScreenTimeline is told this colour whenever the screen
returns to the UI.
"""

from __future__ import annotations

from app.capture.flash_safety import UI_DARK

BACKGROUND_RGB = UI_DARK  # #121212, screen drive 0..1
BACKGROUND = "#121212"
FOREGROUND = "#FFFFFF"  # 18.7:1 on the background (WCAG AAA)
MUTED = "#E0E0E0"
ACCENT = "#FFD54F"  # amber: focus rings and the oval; always paired with a shape or text

TITLE_PT = 40
BODY_PT = 26
COMPACT_PT = 24  # the consent's long texts; still large print (WCAG: 18 pt and up)
BUTTON_PT = 28
SYMBOL_PT = 96
SYMBOL_SMALL_PT = 48  # beside the longest texts (consent)

# Each instruction is text plus one of these (DejaVu Sans draws all of them).
SYMBOLS = {
    "start": "\u261E",  # pointing hand
    "consent": "\u2139",  # information
    "positioning": "\u25EF",  # large circle (the oval)
    "capture": "\u25D4",  # circle with a quarter
    "challenge": "\u2600",  # sun: light from the screen
    "processing": "\u231B",  # hourglass
    "approved": "\u2714",  # heavy check mark
    "declined": "\u2716",  # heavy multiplication x
    "review": "\u263A",  # a person: see the staff
    "unfinished": "\u21BA",  # anticlockwise arrow: start again
    "error": "\u26A0",  # warning sign
    "operator": "\u2699",  # gear
    "cue": "\u261D",  # pointing up: an instruction
    "TURN_LEFT": "\u2190",
    "TURN_RIGHT": "\u2192",
    "LOOK_UP": "\u2191",
    "BLINK": "\u25C9",  # fisheye
    "SMILE": "\u263A",
}

STYLE = f"""
QWidget {{ background: {BACKGROUND}; color: {FOREGROUND}; font-family: "DejaVu Sans";
           font-size: {BODY_PT}pt; }}
QLabel#title {{ font-size: {TITLE_PT}pt; font-weight: bold; }}
QLabel#symbol {{ font-size: {SYMBOL_PT}pt; }}
QLabel#symbol_small {{ font-size: {SYMBOL_SMALL_PT}pt; }}
QLabel#compact {{ font-size: {COMPACT_PT}pt; }}
QLabel#compact_muted {{ font-size: {COMPACT_PT}pt; color: {MUTED}; }}
QLabel#muted {{ color: {MUTED}; }}
QPushButton {{ font-size: {BUTTON_PT}pt; padding: 18px 36px; border: 3px solid {FOREGROUND};
               border-radius: 12px; background: #2A2A2A; min-height: 64px; }}
QPushButton:focus {{ border: 5px solid {ACCENT}; }}
QPushButton:pressed {{ background: #444444; }}
QLineEdit {{ font-size: {BODY_PT}pt; padding: 10px; border: 3px solid {FOREGROUND};
             background: #000000; }}
QLineEdit:focus {{ border: 5px solid {ACCENT}; }}
QPlainTextEdit {{ font-size: 16pt; background: #000000; border: 2px solid {MUTED}; }}
QProgressBar {{ border: 3px solid {FOREGROUND}; border-radius: 8px; height: 28px;
                text-align: center; font-size: 18pt; }}
QProgressBar::chunk {{ background: {FOREGROUND}; }}
"""
