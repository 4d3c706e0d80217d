"""The few frames of a kept recording that a hub reviewer sees: at most `count`, evenly spread
over the recording, downscaled to `longest_side` pixels and JPEG-encoded, all in memory (the
sealed recording is opened in memory and nothing plain is written)."""

from __future__ import annotations

import io
import re
import zipfile

import cv2
import numpy as np

from app.capture.evidence import EvidenceError
from sync.fleet.evidence_wire import MAX_FRAMES

LONGEST_SIDE = 320
JPEG_QUALITY = 80
_FRAME = re.compile(r"^\d{6}\.png$")


def spread(total: int, count: int) -> list[int]:
    """`count` indices (or all of them) spread evenly over 0..total-1, first and last kept."""
    if total <= 0 or count <= 0:
        return []
    if total <= count:
        return list(range(total))
    if count == 1:
        return [total // 2]
    return sorted({round(i * (total - 1) / (count - 1)) for i in range(count)})


def downscale(image: np.ndarray, longest_side: int = LONGEST_SIDE) -> np.ndarray:
    h, w = image.shape[:2]
    scale = longest_side / max(h, w)
    if scale >= 1.0:
        return image
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def jpeg(image: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise EvidenceError("a frame cannot be encoded as JPEG")
    return bytes(data.tobytes())


def review_frames(packed: bytes, count: int = MAX_FRAMES,
                  longest_side: int = LONGEST_SIDE) -> list[bytes]:
    """JPEG frames for review from a packed recording (app.capture.evidence.pack)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(packed))
    except zipfile.BadZipFile as exc:
        raise EvidenceError("the evidence is not a packed recording") from exc
    with zf:
        names = sorted(n for n in zf.namelist() if _FRAME.match(n))
        out = []
        for i in spread(len(names), count):
            raw = np.frombuffer(zf.read(names[i]), dtype=np.uint8)
            image = cv2.imdecode(raw, cv2.IMREAD_COLOR)
            if image is None:
                raise EvidenceError(f"frame {names[i]} of the evidence does not decode")
            out.append(jpeg(downscale(image, longest_side)))
    return out
