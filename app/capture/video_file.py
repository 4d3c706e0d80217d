"""A video file as the kiosk's camera, for the booth's self-test (`poh kiosk --self-test VIDEO`):
paced at the file's own frame rate and looped, like a person who stays in front of the camera.

Whatever such a session signs names its capture source `video_file`, never `camera`: a file is no
evidence that a person stood at the booth.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import cv2

from app.capture.camera_thread import Capture, CaptureFactory
from app.errors import BadInputError
from sync.verdict import CaptureSource
from sync.vocabulary import CaptureKind

DEFAULT_FPS = 25.0


class LoopedVideo:
    """cv2.VideoCapture over a file, paced at the file's rate, from the start again at its end."""

    def __init__(self, path: Path) -> None:
        self._cap = cv2.VideoCapture(str(path))
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.period = 1.0 / (fps if 1.0 <= fps <= 120.0 else DEFAULT_FPS)
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def read(self) -> tuple[bool, Any]:
        with self._lock:
            self._next += self.period
            wait = self._next - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            ok, frame = self._cap.read()
            if not ok:
                self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, frame = self._cap.read()
            return ok, frame

    def release(self) -> None:
        self._cap.release()

    def isOpened(self) -> bool:  # OpenCV's name
        return bool(self._cap.isOpened())


def video_file_camera(path: Path) -> tuple[CaptureFactory, CaptureSource]:
    """The capture factory and the capture source (`video_file`) of a readable video file; bad
    input when OpenCV cannot read a frame of it (checked before the kiosk opens anything)."""
    if not path.is_file():
        raise BadInputError(f"{path}: no such video file")
    probe = cv2.VideoCapture(str(path))
    try:
        ok = probe.isOpened() and probe.read()[0]
    finally:
        probe.release()
    if not ok:
        raise BadInputError(f"{path.name}: not a video OpenCV can read")

    def make() -> Capture:
        return LoopedVideo(path)

    return make, CaptureSource(kind=CaptureKind.VIDEO_FILE, detail=f"video {path.name}"[:200])
