"""Strict image loading for the CLI: every bad file becomes one clear BadInputError line."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError

from app.errors import BadInputError

log = logging.getLogger(__name__)

MAX_PIXELS = 50_000_000  # a kiosk frame is a few megapixels; refuse decompression bombs early
MIN_SIDE = 32

BgrImage = npt.NDArray[np.uint8]


def load_image(path: Path) -> BgrImage:
    """Read an image file as 8-bit BGR; greyscale is expanded, alpha is flattened on white."""
    if not path.exists():
        raise BadInputError(f"{path}: no such file")
    if path.is_dir():
        raise BadInputError(f"{path}: is a folder, not an image")
    if path.stat().st_size == 0:
        raise BadInputError(f"{path}: empty file")
    try:
        with warnings.catch_warnings():
            # PIL warns (DecompressionBombWarning) before we get to check the size ourselves
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                width, height = im.size
                if width * height > MAX_PIXELS:
                    raise BadInputError(
                        f"{path}: image is {width}x{height}, larger than {MAX_PIXELS // 1_000_000}"
                        " megapixels"
                    )
                if min(width, height) < MIN_SIDE:
                    raise BadInputError(f"{path}: image is {width}x{height}, too small for a face")
                im.load()  # decodes fully: a truncated file fails here, not later
                rgb = _to_rgb(im)
    except BadInputError:
        raise
    except Image.DecompressionBombError as exc:
        raise BadInputError(
            f"{path}: image is larger than {MAX_PIXELS // 1_000_000} megapixels"
        ) from exc
    except UnidentifiedImageError as exc:
        raise BadInputError(f"{path}: not an image file") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadInputError(f"{path}: unreadable or truncated image ({exc})") from exc
    return np.ascontiguousarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def _to_rgb(im: Image.Image) -> npt.NDArray[np.uint8]:
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(background, rgba)
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im, dtype=np.float64)
        peak = max(float(arr.max()), 1.0)
        grey = (arr / peak * 255.0).clip(0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    return np.asarray(im.convert("RGB"), dtype=np.uint8)
