"""The camera thread: reads the camera as fast as it delivers and hands each frame, stamped with
time.monotonic() right after the read, to latest-only mailboxes (analysis, and optionally the
screen's preview, so the preview keeps the camera's rate while analysis runs slower).

It owns the capture object (made by an injected factory: `opencv_camera(index)` in production, a
fake camera in tests) and a stop event. When the camera is lost (it cannot be opened, reports
itself closed, or `read()` fails `max_failures` times in a row) it calls `on_lost(reason)`
exactly once and ends; a stop request ends it without a report. A Python thread cannot run
twice: when the camera returns, `again()` makes a new thread with the same parts. run() never
raises; anything unexpected is logged with its traceback and reported as a lost camera.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import cv2
import numpy as np

from app.capture.mailbox import Frame, LatestFrameMailbox

log = logging.getLogger(__name__)

DEFAULT_MAX_FAILURES = 10
DEFAULT_RETRY_DELAY = 0.02  # seconds between failed reads (a real read() blocks anyway)


class Capture(Protocol):
    """What the thread needs of cv2.VideoCapture."""

    def read(self) -> tuple[bool, Any]: ...

    def release(self) -> None: ...

    def isOpened(self) -> bool: ...  # OpenCV's name


CaptureFactory = Callable[[], Capture]


def opencv_camera(index: int) -> CaptureFactory:
    """A factory opening camera `index` with OpenCV (its own warnings silenced)."""

    def make() -> Capture:
        level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
        try:
            cap: Capture = cv2.VideoCapture(index)
        finally:
            cv2.utils.logging.setLogLevel(level)
        return cap

    return make


class CameraThread(threading.Thread):
    """Owns one capture object for its lifetime; see the module docstring."""

    def __init__(self, factory: CaptureFactory, mailbox: LatestFrameMailbox, *,
                 on_lost: Callable[[str], None], preview: LatestFrameMailbox | None = None,
                 max_failures: int = DEFAULT_MAX_FAILURES,
                 retry_delay: float = DEFAULT_RETRY_DELAY, first_seq: int = 0,
                 name: str = "camera") -> None:
        super().__init__(name=name, daemon=True)
        if max_failures < 1:
            raise ValueError("max_failures must be at least 1")
        self.factory = factory
        self.mailbox = mailbox
        self.preview = preview
        self.on_lost = on_lost
        self.max_failures = max_failures
        self.retry_delay = retry_delay
        self.stop_event = threading.Event()
        self.next_seq = first_seq
        self.lost_reason: str | None = None

    def stop(self) -> None:
        """Ask the thread to end after the current read (no "camera lost" report)."""
        self.stop_event.set()

    def again(self) -> CameraThread:
        """A new, unstarted thread with the same parts, numbering on from this one."""
        return CameraThread(self.factory, self.mailbox, on_lost=self.on_lost,
                            preview=self.preview, max_failures=self.max_failures,
                            retry_delay=self.retry_delay, first_seq=self.next_seq,
                            name=self.name)

    def run(self) -> None:
        cap: Capture | None = None
        try:
            cap = self.factory()
            if not cap.isOpened():
                self._lost("the camera cannot be opened")
                return
            self._read_loop(cap)
        except Exception as exc:  # never raise out of run(): log and report
            log.exception("camera thread failed")
            self._lost(f"camera error: {type(exc).__name__}: {exc}")
        finally:
            if cap is not None:
                try:
                    cap.release()
                except Exception:
                    log.exception("releasing the camera failed")

    def _read_loop(self, cap: Capture) -> None:
        failures = 0
        while not self.stop_event.is_set():
            ok, image = cap.read()
            t = time.monotonic()
            if self.stop_event.is_set():
                return
            if not ok or not _usable(image):
                failures += 1
                if not cap.isOpened():
                    self._lost("the camera disappeared")
                    return
                if failures >= self.max_failures:
                    self._lost(f"{failures} reads in a row failed")
                    return
                self.stop_event.wait(self.retry_delay)
                continue
            failures = 0
            frame = Frame(image, t, self.next_seq)
            self.next_seq += 1
            self.mailbox.put(frame)
            if self.preview is not None:
                self.preview.put(frame)

    def _lost(self, reason: str) -> None:
        if self.lost_reason is not None or self.stop_event.is_set():
            return
        self.lost_reason = reason
        log.warning("camera lost: %s", reason)
        try:
            self.on_lost(reason)
        except Exception:
            log.exception("the camera-lost callback failed")


def _usable(image: Any) -> bool:
    return isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.size > 0
