"""A preview mailbox that can also keep every frame: the challenge recorder.

During a challenge every camera frame belongs in the capture recording (the analyzer needs the
whole response, at the camera's rate), while the preview and the analysis only want the newest
frame. The camera thread already hands each frame to the preview mailbox, so this mailbox does
both: it stays latest-only for its reader and, between `arm()` and `disarm()`, also appends each
frame to a list that the screen collects when the renderer has finished. Qt-free, thread-safe
(the camera thread puts, the screen's thread arms and collects). Frames are held in memory only.
"""

from __future__ import annotations

import threading

from app.capture.mailbox import BgrImage, Frame, LatestFrameMailbox

# A challenge lasts under 10 s; at 60 fps that is 600 frames. A recorder nobody disarms must
# not grow without bound: past this it keeps nothing more and says so (the recording is refused).
MAX_TAPPED_FRAMES = 1200


class FrameTap(LatestFrameMailbox):
    """A LatestFrameMailbox that also records every frame put while armed."""

    def __init__(self, max_frames: int = MAX_TAPPED_FRAMES) -> None:
        super().__init__()
        self._tap_lock = threading.Lock()
        self._armed = False
        self._kept: list[Frame] = []
        self._overflow = False
        self.max_frames = max_frames

    def put(self, frame: Frame) -> bool:
        with self._tap_lock:
            if self._armed:
                if len(self._kept) < self.max_frames:
                    self._kept.append(frame)
                else:
                    self._overflow = True
        return super().put(frame)

    def arm(self) -> None:
        """Start keeping frames (anything kept before is dropped)."""
        with self._tap_lock:
            self._kept = []
            self._overflow = False
            self._armed = True

    def disarm(self) -> tuple[list[tuple[float, BgrImage]], bool]:
        """Stop keeping frames; (time, image) of every frame kept, and whether any was lost to
        the cap. The kept list is handed over and forgotten here."""
        with self._tap_lock:
            kept, overflow = self._kept, self._overflow
            self._kept, self._armed, self._overflow = [], False, False
        return [(f.t, f.image) for f in kept], overflow

    @property
    def armed(self) -> bool:
        with self._tap_lock:
            return self._armed
