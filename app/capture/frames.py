"""Frame sources for the headless runner: a camera index, a video file, or a still image.

Each frame carries its time on the source's own clock: a file's frame times follow its frame rate
(so a session on a video runs the same however fast the CPU is), a camera's follow the monotonic
clock. A source that stops delivering frames just ends; the caller decides what that means.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from app.capture.images import load_image
from app.errors import BadInputError
from sync.vocabulary import CaptureKind

log = logging.getLogger(__name__)

BgrImage = npt.NDArray[np.uint8]
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".webp", ".tif", ".tiff"}
DEFAULT_FPS = 25.0
MAX_FRAMES = 10_000  # a runaway source cannot hold a session open for ever


@dataclass(frozen=True)
class Frame:
    index: int
    t: float  # seconds on the source's clock, from the first frame
    image: BgrImage


class FrameSource:
    """Iterate frames; `live` sources run on the system clock, the others on frame times."""

    def __init__(self, description: str, live: bool, fps: float, kind: CaptureKind) -> None:
        self.description = description
        self.live = live
        self.kind = kind  # signed into the verdict: only CAMERA proves a person was there
        self.fps = fps
        self.frames_read = 0
        self.end_reason = "source ended"

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the device or file."""


class _CaptureSource(FrameSource):
    def __init__(self, cap: cv2.VideoCapture, description: str, live: bool) -> None:
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        super().__init__(description, live, fps if 1.0 <= fps <= 240.0 else DEFAULT_FPS,
                         CaptureKind.CAMERA if live else CaptureKind.VIDEO_FILE)
        self._cap = cap

    def __iter__(self) -> Iterator[Frame]:
        t0 = time.monotonic()
        while self.frames_read < MAX_FRAMES:
            ok, img = self._cap.read()
            if not ok or img is None or img.size == 0:
                self.end_reason = (f"camera stopped delivering frames after {self.frames_read}"
                                   if self.live else
                                   f"video ended after {self.frames_read} frames")
                return
            t = time.monotonic() - t0 if self.live else self.frames_read / self.fps
            frame = Frame(self.frames_read, t, _as_bgr(img))
            self.frames_read += 1
            yield frame
        self.end_reason = f"source stopped at the {MAX_FRAMES}-frame limit"

    def close(self) -> None:
        self._cap.release()


class _StillSource(FrameSource):
    """A still image shown for `seconds`: the same pixels every frame."""

    def __init__(self, image: BgrImage, description: str, seconds: float = 4.0,
                 fps: float = 10.0) -> None:
        super().__init__(description, live=False, fps=fps, kind=CaptureKind.IMAGE)
        self._image = image
        self._count = max(1, int(seconds * fps))

    def __iter__(self) -> Iterator[Frame]:
        for i in range(self._count):
            self.frames_read += 1
            yield Frame(i, i / self.fps, self._image)
        self.end_reason = f"still image ended after {self._count} frames"


def frame_digest(image: BgrImage) -> bytes:
    h = hashlib.sha256()
    h.update(repr((image.shape, str(image.dtype))).encode("ascii"))
    h.update(np.ascontiguousarray(image).tobytes())
    return h.digest()


def _as_bgr(img: np.ndarray) -> BgrImage:
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    if img.dtype != np.uint8:
        raise BadInputError(f"frames are {img.dtype}, expected 8-bit")
    return np.ascontiguousarray(img)


def open_source(spec: str) -> FrameSource:
    """`0`, `1`, ...: a camera; a path: a video file, or a still image by its suffix."""
    spec = spec.strip()
    if spec.isdigit():
        # OpenCV prints its own warnings for a missing device; the CLI says it in one line
        level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
        try:
            cap = cv2.VideoCapture(int(spec))
        finally:
            cv2.utils.logging.setLogLevel(level)
        if not cap.isOpened():
            cap.release()
            raise BadInputError(f"camera {spec} cannot be opened")
        return _CaptureSource(cap, f"camera {spec}", live=True)
    path = Path(spec)
    if not path.exists():
        raise BadInputError(f"{path}: no such file (give a video file, an image or a camera index)")
    if path.is_dir():
        raise BadInputError(f"{path}: is a folder, not a video")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return _StillSource(load_image(path), f"image {path.name}")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise BadInputError(f"{path}: not a video OpenCV can read")
    return _CaptureSource(cap, f"video {path.name}", live=False)
