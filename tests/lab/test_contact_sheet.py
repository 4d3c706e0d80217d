"""The demo's contact sheet and what goes on it, on generated images (pure, fast): the layout,
the captions, the palette PNG, the strip of presented challenge colours, the QR read back from
a kiosk-like rendering, and the outcome check that keeps the demo from claiming what did not
happen."""

from __future__ import annotations

import base64
from pathlib import Path

import cv2
import numpy as np
import pytest
import qrcode
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M

from app.lab.cli.kiosk_demo import KioskCase, KioskRun, render_kiosk_rows
from app.lab.cli.kiosk_demo_shots import decode_qr, most_coloured, presented_strip
from app.lab.contact_sheet import (
    BACKGROUND,
    SheetRow,
    SheetStyle,
    Tile,
    contact_sheet,
    fit_text,
    thumbnail,
    write_png,
)
from app.workflows import DEFAULT_WORKFLOW, FLASHING_WORKFLOW

STYLE = SheetStyle(tile_width=100, tile_height=60, gap=10)


def solid(h: int, w: int, bgr: tuple[int, int, int]) -> np.ndarray:
    return np.full((h, w, 3), bgr, dtype=np.uint8)


def _tile_origin(row: int, col: int, title: bool) -> tuple[int, int]:
    """Top-left of a tile's box, from the same line heights the sheet uses."""
    from app.lab.contact_sheet import _line_height

    text = _line_height(STYLE.text_scale)
    row_h = text + STYLE.tile_height + text + STYLE.gap
    y = STYLE.gap + (_line_height(STYLE.title_scale) if title else 0) + row * row_h + text
    return STYLE.gap + col * (STYLE.tile_width + STYLE.gap), y


def test_sheet_places_each_tile_in_its_box() -> None:
    red, green, blue = (0, 0, 255), (0, 255, 0), (255, 0, 0)
    rows = [SheetRow("first", [Tile(solid(120, 200, red), "red"),
                               Tile(solid(400, 100, green), "tall green"),
                               Tile(solid(30, 30, blue), "small blue")]),
            SheetRow("second", [Tile(solid(60, 100, blue), "blue")])]
    sheet = contact_sheet(rows, "title", STYLE)
    assert sheet.dtype == np.uint8 and sheet.shape[2] == 3
    assert sheet.shape[1] == 10 + 3 * 110  # three columns, the widest row
    x, y = _tile_origin(0, 0, True)
    assert tuple(sheet[y + 30, x + 50]) == red  # 200x120 fills the 100x60 box
    x, y = _tile_origin(0, 1, True)
    assert tuple(sheet[y + 30, x + 50]) == green  # a tall tile is centred...
    assert tuple(sheet[y + 30, x + 2]) == BACKGROUND  # ...with the box's sides left empty
    x, y = _tile_origin(0, 2, True)
    assert tuple(sheet[y + 30, x + 50]) == blue  # a small tile is enlarged to the box height
    x, y = _tile_origin(1, 0, True)
    assert tuple(sheet[y + 30, x + 50]) == blue
    x, y = _tile_origin(1, 1, True)
    assert tuple(sheet[y + 30, x + 50]) == BACKGROUND  # the short row has no second tile


def test_captions_are_drawn_under_the_tiles_and_fit() -> None:
    image = solid(60, 100, (0, 0, 0))
    with_text = contact_sheet([SheetRow("", [Tile(image, "Approved")])], style=STYLE)
    without = contact_sheet([SheetRow("", [Tile(image, "")])], style=STYLE)
    x, y = _tile_origin(0, 0, False)
    band = (slice(y + STYLE.tile_height, with_text.shape[0]), slice(x, x + STYLE.tile_width))
    assert (with_text[band] > 200).any()  # light text on the dark background
    assert not (without[band] > 200).any()
    text, scale = fit_text("x" * 300, 100, 0.55)
    assert text.endswith("...") and cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale,
                                                    1)[0][0] <= 100
    assert fit_text("Bahasa \u00e9", 500, 0.55)[0] == "Bahasa ?"  # Hershey draws ASCII only


def test_thumbnail_and_bad_input() -> None:
    assert thumbnail(solid(800, 1280, (1, 2, 3)), 320, 200).shape == (200, 320, 3)
    assert thumbnail(np.zeros((50, 100), np.uint8), 100, 100).shape == (50, 100, 3)  # grey
    with pytest.raises(ValueError):
        contact_sheet([])
    with pytest.raises(ValueError):
        contact_sheet([SheetRow("no tiles", [])])


def test_palette_png_is_small_and_faithful(tmp_path: Path) -> None:
    colours = [(18, 18, 18), (255, 255, 255), (0, 200, 255), (90, 30, 200)]
    rows = [SheetRow(f"row {i}", [Tile(solid(60, 100, c), f"c{i}")])
            for i, c in enumerate(colours)]
    sheet = contact_sheet(rows, "sheet", STYLE)
    path = write_png(tmp_path / "sheet.png", sheet)
    with Image.open(path) as im:
        assert im.mode == "P"  # palette
    back = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert back.shape == sheet.shape
    x, y = _tile_origin(2, 0, True)
    assert np.abs(back[y + 30, x + 50].astype(int) - (0, 200, 255)).max() <= 8
    with pytest.raises(ValueError):
        write_png(tmp_path / "x.png", sheet, colours=1)


def test_presented_strip_follows_the_presented_times() -> None:
    colours = [(1.0, 0.0, 0.0), (0.0, 0.0, 1.0)]
    events = [("presented", 0, 10.0), ("cleared", 0, 10.2), ("presented", 1, 10.3),
              ("finished", -1, 10.5)]
    strip = presented_strip(colours, events, width=500, height=10)
    assert strip is not None
    assert tuple(strip[5, 100]) == (0, 0, 255)  # red (BGR) for the first 0.2 s
    assert tuple(strip[5, 250]) == (18, 18, 18)  # the gap: the UI background
    assert tuple(strip[5, 400]) == (255, 0, 0)  # blue for the last 0.2 s
    assert presented_strip(colours, [("finished", -1, 1.0)]) is None


def test_presented_strip_draws_a_two_sided_plan_left_above_right() -> None:
    left, right = [(1.0, 0.0, 0.0), (0.0, 1.0, 0.0)], [(0.0, 0.0, 1.0), (0.0, 1.0, 0.0)]
    events = [("presented", 0, 10.0), ("presented", 1, 10.25), ("finished", -1, 10.5)]
    strip = presented_strip(left, events, width=500, height=10, right=right)
    assert strip is not None
    assert tuple(strip[2, 100]) == (0, 0, 255) and tuple(strip[7, 100]) == (255, 0, 0)
    assert tuple(strip[2, 400]) == tuple(strip[7, 400]) == (0, 255, 0)


def test_most_coloured_frame_is_the_one_lit_by_a_colour() -> None:
    grey, tinted = solid(10, 10, (120, 120, 120)), solid(10, 10, (60, 60, 200))
    assert most_coloured([(0.0, grey), (0.1, tinted), (0.2, grey)]) is tinted
    assert most_coloured([]) is None


def _kiosk_like_qr(text: str, path: Path, side: int = 320) -> None:
    """A QR code as the result screen draws it: a white square with a 4-module quiet zone at a
    fractional module size, on the dark UI background."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4)
    qr.add_data(text)
    qr.make(fit=True)
    matrix = np.array(qr.get_matrix(), dtype=bool)
    square = np.where(matrix, 0, 255).astype(np.uint8)
    square = cv2.resize(square, (side, side), interpolation=cv2.INTER_NEAREST)  # no antialias
    screen = solid(600, 800, (18, 18, 18))
    screen[100:100 + side, 200:200 + side] = cv2.cvtColor(square, cv2.COLOR_GRAY2BGR)
    cv2.imwrite(str(path), screen)


def test_qr_is_read_back_from_a_kiosk_like_screen(tmp_path: Path) -> None:
    """Credential-sized codes (version 18, where OpenCV's plain detector misses about one in
    four: the fallback must read them all)."""
    rng = np.random.default_rng(7)
    for k in range(12):
        text = base64.urlsafe_b64encode(rng.bytes(400)).decode()[:500 + 3 * k]
        _kiosk_like_qr(text, tmp_path / "result.png")
        assert decode_qr(tmp_path / "result.png") == text, k
    cv2.imwrite(str(tmp_path / "declined.png"), solid(600, 800, (18, 18, 18)))
    assert decode_qr(tmp_path / "declined.png") is None
    assert decode_qr(tmp_path / "missing.png") is None


def test_an_unexpected_outcome_is_never_reported_as_expected(tmp_path: Path) -> None:
    approve = KioskCase("sim:live", "sim:live:5", FLASHING_WORKFLOW, "Approved", "live")
    decline = KioskCase("video", "v.avi", DEFAULT_WORKFLOW, "Declined", "print")
    ok = KioskRun(approve, tmp_path, {"status": "Approved"}, credential="c", qr_matches=True)
    no_qr = KioskRun(approve, tmp_path, {"status": "Approved"}, credential="c",
                     qr_matches=False)
    no_credential = KioskRun(approve, tmp_path, {"status": "Approved"})
    wrong = KioskRun(decline, tmp_path, {"status": "Approved"})
    abandoned = KioskRun(decline, tmp_path, {"status": None, "reason": "camera lost"})
    assert ok.as_expected
    assert not no_qr.as_expected and not no_credential.as_expected
    assert not wrong.as_expected and not abandoned.as_expected
    table = render_kiosk_rows([ok, no_qr, wrong, abandoned]).splitlines()
    assert "as expected" in table[1] and "NOT AS EXPECTED" not in table[1]
    assert all("NOT AS EXPECTED" in line for line in table[2:])
    assert "camera lost" in table[4]
