"""Phone photos carry their rows as the sensor read them plus an EXIF orientation: the loader must
hand the detector the upright picture, whatever the orientation tag says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.capture.images import load_image

ORIENTATION = 0x0112


def _marked(width: int = 120, height: int = 80) -> Image.Image:
    """Upright test card: red top-left quarter, blue elsewhere (colours survive JPEG)."""
    arr = np.zeros((height, width, 3), np.uint8)
    arr[:] = (0, 0, 255)
    arr[: height // 2, : width // 2] = (255, 0, 0)
    return Image.fromarray(arr)


def _save_rotated(path: Path, stored: Image.Image, orientation: int) -> None:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    stored.save(path, quality=95, exif=exif.tobytes())


@pytest.mark.parametrize(("orientation", "turn"), [
    (1, None),
    (3, Image.Transpose.ROTATE_180),
    (6, Image.Transpose.ROTATE_90),  # stored turned left; the viewer turns it right
    (8, Image.Transpose.ROTATE_270),
])
def test_exif_orientation_gives_the_upright_image(tmp_path: Path, orientation: int,
                                                  turn: Image.Transpose | None) -> None:
    upright = _marked()
    stored = upright if turn is None else upright.transpose(turn)
    path = tmp_path / f"o{orientation}.jpg"
    _save_rotated(path, stored, orientation)
    bgr = load_image(path)
    assert bgr.shape[:2] == (80, 120)
    # BGR: red is channel 2; the red quarter is top-left only
    assert bgr[10, 10, 2] > 200 and bgr[10, 10, 0] < 60
    assert bgr[70, 110, 0] > 200 and bgr[70, 110, 2] < 60
    assert bgr[10, 110, 0] > 200 and bgr[70, 10, 0] > 200
