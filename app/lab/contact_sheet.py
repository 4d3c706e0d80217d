"""A contact sheet: one image with rows of captioned thumbnails (the demo's kiosk screens).

Pure image work with OpenCV and numpy: each row has a title line and its tiles; a tile is
scaled to fit the style's tile box (aspect kept, centred) with its caption under it. Text is
OpenCV's Hershey font (ASCII; anything else is shown as '?'), shrunk to fit and cut with '...'
when it still does not. `write_png` stores the sheet as an adaptive-palette PNG (the screens are
large flat areas: a palette keeps the file small).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

BgrImage = npt.NDArray[np.uint8]

BACKGROUND = (32, 32, 32)
TEXT = (240, 240, 240)
FONT = cv2.FONT_HERSHEY_SIMPLEX
MIN_SCALE = 0.35


@dataclass(frozen=True)
class Tile:
    image: BgrImage
    caption: str


@dataclass(frozen=True)
class SheetRow:
    title: str
    tiles: Sequence[Tile]


@dataclass(frozen=True)
class SheetStyle:
    tile_width: int = 320
    tile_height: int = 200  # each tile fits this box, aspect kept
    gap: int = 12  # between tiles and around the sheet
    text_scale: float = 0.55
    title_scale: float = 0.8


def _ascii(text: str) -> str:
    return "".join(c if 32 <= ord(c) < 127 else "?" for c in text)


def _line_height(scale: float) -> int:
    (_, h), base = cv2.getTextSize("Ag", FONT, scale, 1)
    return h + base + 6


def fit_text(text: str, width: int, scale: float) -> tuple[str, float]:
    """(text, scale) that fit in `width` pixels: shrunk down to MIN_SCALE, then cut."""
    text = _ascii(text)
    s = scale
    while s > MIN_SCALE and cv2.getTextSize(text, FONT, s, 1)[0][0] > width:
        s = max(MIN_SCALE, s - 0.05)
    if cv2.getTextSize(text, FONT, s, 1)[0][0] <= width:
        return text, s
    while text and cv2.getTextSize(text + "...", FONT, s, 1)[0][0] > width:
        text = text[:-1]
    return text + "...", s


def _put(canvas: BgrImage, text: str, x: int, y: int, width: int, scale: float,
         thickness: int = 1) -> None:
    line, s = fit_text(text, width, scale)
    (_, h), _ = cv2.getTextSize(line, FONT, s, thickness)
    cv2.putText(canvas, line, (x, y + h + 3), FONT, s, TEXT, thickness, cv2.LINE_AA)


def thumbnail(image: BgrImage, width: int, height: int) -> BgrImage:
    """`image` scaled to fit a `width` x `height` box (aspect kept; INTER_AREA when shrinking)."""
    if image.ndim == 2:
        image = np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    h, w = image.shape[:2]
    if w <= 0 or h <= 0:
        raise ValueError("an empty image cannot be a tile")
    f = min(width / w, height / h)
    size = (max(1, min(width, round(w * f))), max(1, min(height, round(h * f))))
    interp = cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(image, size, interpolation=interp), dtype=np.uint8)


def contact_sheet(rows: Sequence[SheetRow], title: str = "",
                  style: SheetStyle = SheetStyle()) -> BgrImage:
    """The sheet: an optional title, then each row's title above its captioned tiles."""
    if not rows or not any(r.tiles for r in rows):
        raise ValueError("a contact sheet needs at least one tile")
    tw, th, gap = style.tile_width, style.tile_height, style.gap
    columns = max(len(r.tiles) for r in rows)
    width = gap + columns * (tw + gap)
    caption_h = _line_height(style.text_scale)
    title_h = _line_height(style.title_scale) if title else 0
    row_h = _line_height(style.text_scale) + th + caption_h + gap
    height = gap + title_h + len(rows) * row_h
    sheet = np.full((height, width, 3), BACKGROUND, dtype=np.uint8)
    y = gap
    if title:
        _put(sheet, title, gap, y, width - 2 * gap, style.title_scale, thickness=2)
        y += title_h
    for row in rows:
        _put(sheet, row.title, gap, y, width - 2 * gap, style.text_scale, thickness=2)
        top = y + _line_height(style.text_scale)
        for i, tile in enumerate(row.tiles):
            im = thumbnail(tile.image, tw, th)
            x = gap + i * (tw + gap)
            ox, oy = x + (tw - im.shape[1]) // 2, top + (th - im.shape[0]) // 2  # centred
            sheet[oy:oy + im.shape[0], ox:ox + im.shape[1]] = im
            _put(sheet, tile.caption, x, top + th, tw, style.text_scale)
        y += row_h
    return sheet


def write_png(path: Path, image: BgrImage, colours: int = 256) -> Path:
    """`image` as an adaptive-palette PNG of at most `colours` colours (Pillow's median cut)."""
    from PIL import Image

    if not 2 <= colours <= 256:
        raise ValueError("a PNG palette holds 2 to 256 colours")
    rgb = Image.fromarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    pal = rgb.quantize(colors=colours, method=Image.Quantize.MEDIANCUT,
                       dither=Image.Dither.NONE)
    path.parent.mkdir(parents=True, exist_ok=True)
    pal.save(path, format="PNG", optimize=True)
    log.info("contact sheet %s: %dx%d, %d bytes", path, image.shape[1], image.shape[0],
             path.stat().st_size)
    return path
