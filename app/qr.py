"""QR codes for credentials: a PNG file and a terminal rendering with half-block characters."""

from __future__ import annotations

from pathlib import Path

import qrcode
from qrcode.constants import ERROR_CORRECT_M


def _matrix(text: str, border: int = 2) -> list[list[bool]]:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=border)
    qr.add_data(text)
    qr.make(fit=True)
    return [list(row) for row in qr.get_matrix()]


def qr_png(text: str, path: Path, box_size: int = 6) -> Path:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=4)
    qr.add_data(text)
    qr.make(fit=True)
    img = qr.make_image(fill_color="black", back_color="white")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        img.save(fh)
    return path


def qr_terminal(text: str) -> str:
    """Two QR rows per text line with half blocks. Light modules are drawn as text, dark ones as
    background: right for a dark terminal theme; most phone scanners read the inverse too."""
    m = _matrix(text)
    if len(m) % 2:
        m.append([False] * len(m[0]))
    glyph = {(False, False): "\u2588", (True, False): "\u2584", (False, True): "\u2580",
             (True, True): " "}
    lines = []
    for top, bottom in zip(m[0::2], m[1::2], strict=True):
        lines.append("".join(glyph[(t, b)] for t, b in zip(top, bottom, strict=True)))
    return "\n".join(lines)
