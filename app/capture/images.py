"""Strict image loading for the CLI: every bad file becomes one clear BadInputError line."""

from __future__ import annotations

import logging
import stat
import warnings
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from app.errors import BadInputError

log = logging.getLogger(__name__)

MAX_PIXELS = 50_000_000  # a kiosk frame is a few megapixels; refuse decompression bombs early
MIN_SIDE = 32

BgrImage = npt.NDArray[np.uint8]


def load_image(path: Path) -> BgrImage:
    """Read an image file as 8-bit BGR, turned upright by its EXIF orientation; greyscale is
    expanded, alpha is flattened on white."""
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise BadInputError(f"{_shown(path)}: no such file") from exc
    except OSError as exc:  # a name too long, permission denied
        raise BadInputError(f"{_shown(path)}: {exc.strerror or exc}") from exc
    except ValueError as exc:  # an embedded NUL byte
        raise BadInputError(f"{_shown(path)}: not a usable file name") from exc
    if stat.S_ISDIR(st.st_mode):
        raise BadInputError(f"{path}: is a folder, not an image")
    if not stat.S_ISREG(st.st_mode):  # a FIFO or a device would block or never end
        raise BadInputError(f"{path}: not a regular file")
    if st.st_size == 0:
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
                # a phone stores the sensor's rows and says how to turn them (EXIF 274):
                # unturned, a portrait photo reaches the detector lying on its side
                upright = ImageOps.exif_transpose(im)
                rgb = _to_rgb(upright if upright is not None else im)
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


def _shown(path: Path) -> str:
    text = str(path)
    return text if len(text) <= 100 else text[:97] + "..."


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
