"""A latest-only mailbox between the camera thread and its readers (analysis, preview).

One slot, never a queue: `put()` replaces a frame nobody has read yet (and counts it as dropped),
so a slow reader always gets the newest frame and memory never grows. `get()` blocks until a
frame newer than the last one read arrives, the timeout passes, or the mailbox is closed.
Qt-free; the kiosk screen wraps what it reads in its own signals.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

BgrImage = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Frame:
    """One camera frame: its pixels, its capture time on time.monotonic() (taken right after
    the read) and its sequence number from the camera thread (gaps are dropped frames)."""

    image: BgrImage
    t: float
    seq: int


class LatestFrameMailbox:
    """Thread-safe single slot: any number of producers and readers, latest frame wins."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._closed = False
        self._put = 0
        self._taken = 0
        self._dropped = 0

    def put(self, frame: Frame) -> bool:
        """Leave `frame` for the next reader, replacing an unread one; False once closed."""
        with self._cond:
            if self._closed:
                return False
            if self._frame is not None:
                self._dropped += 1
            self._frame = frame
            self._put += 1
            self._cond.notify_all()
            return True

    def get(self, timeout: float | None = None) -> Frame | None:
        """The newest unread frame, waiting up to `timeout` seconds (None: until one arrives or
        the mailbox closes); None on timeout or when closed with nothing unread."""
        with self._cond:
            self._cond.wait_for(lambda: self._frame is not None or self._closed, timeout)
            frame, self._frame = self._frame, None
            if frame is not None:
                self._taken += 1
            return frame

    def close(self) -> None:
        """No more frames: wake every waiting reader; later puts are refused."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        with self._cond:
            return self._closed

    @property
    def dropped(self) -> int:
        """Frames replaced before anyone read them."""
        with self._cond:
            return self._dropped

    @property
    def put_count(self) -> int:
        with self._cond:
            return self._put

    @property
    def taken(self) -> int:
        with self._cond:
            return self._taken
