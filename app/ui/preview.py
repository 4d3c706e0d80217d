"""The live preview: a pump thread that turns the newest camera frame into a mirrored QImage at
the camera's rate, and the view that draws it with the face oval and a progress ring.

Latest-only end to end: the pump blocks on the preview mailbox (never a queue), converts off the
UI thread (a QImage may be built on any thread) and signals the UI only when the UI has taken
the previous image, so a busy UI thread drops preview frames instead of queueing them. Preview
frames live in memory only and are forgotten when a session ends (`clear()`).
"""

from __future__ import annotations

import collections
import logging
import threading
import time

import cv2
import numpy as np
from PySide6.QtCore import QObject, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from app.capture.mailbox import LatestFrameMailbox
from app.ui import theme

log = logging.getLogger(__name__)

LATENCY_LOG = 4096  # capture-to-drawn times kept for the figures


def to_qimage(image: np.ndarray) -> QImage:
    """A mirrored RGB copy of a BGR (or grey) frame: the person sees themselves as in a mirror."""
    if image.ndim == 2:
        rgb = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    elif image.shape[2] == 4:
        rgb = cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    elif image.shape[2] == 1:
        rgb = cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2RGB)
    else:
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    rgb = np.ascontiguousarray(cv2.flip(rgb, 1))
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class PreviewPump(QObject):
    """Reads the preview mailbox on its own thread; `frame_ready` tells the UI to `take()`."""

    frame_ready = Signal()

    def __init__(self, mailbox: LatestFrameMailbox) -> None:
        super().__init__()
        self.mailbox = mailbox
        self._lock = threading.Lock()
        self._latest: tuple[QImage, float] | None = None
        self._pending = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="preview", daemon=True)
        self.frames = 0  # frames converted (for the figures)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def take(self) -> tuple[QImage, float] | None:
        """The newest image and its capture time (UI thread); None when nothing new arrived."""
        with self._lock:
            img, self._latest, self._pending = self._latest, None, False
        return img

    def _run(self) -> None:
        while not self._stop.is_set():
            frame = self.mailbox.get(0.1)
            if frame is None:
                if self.mailbox.closed:
                    return
                continue
            try:
                img = to_qimage(frame.image)
            except (cv2.error, ValueError):
                log.exception("preview conversion failed")
                continue
            with self._lock:
                self._latest = (img, frame.t)
                notify = not self._pending
                self._pending = True
            self.frames += 1
            if notify:
                self.frame_ready.emit()


class PreviewView(QWidget):
    """The mirrored preview filling the widget, a face oval, and a ring (progress or countdown)."""

    def __init__(self) -> None:
        super().__init__()
        self.setAccessibleName("camera preview")
        self.setMinimumSize(480, 360)
        self.image: QImage | None = None
        self.ring: float | None = None  # 0..1 around the oval
        self.countdown: int | None = None  # a big number inside the oval
        self.shown = 0  # preview frames drawn (for the figures)
        self._frame_t: float | None = None  # capture time of an image not yet drawn
        self.latencies: collections.deque[float] = collections.deque(maxlen=LATENCY_LOG)

    def set_image(self, image: QImage | None, t: float | None = None) -> None:
        self.image = image
        self._frame_t = t
        self.update()

    def clear(self) -> None:
        self.image, self.ring, self.countdown = None, None, None
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        try:
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            p.fillRect(self.rect(), QColor(theme.BACKGROUND))
            if self.image is not None:
                self._draw_image(p, self.image)
                if self._frame_t is not None:  # a new frame: capture to drawn (figures)
                    self.shown += 1
                    self.latencies.append(time.monotonic() - self._frame_t)
                    self._frame_t = None
            w, h = self.width(), self.height()
            oval = QRectF(w * 0.5 - h * 0.26, h * 0.12, h * 0.52, h * 0.72)
            pen = QPen(QColor(theme.ACCENT), 8, Qt.PenStyle.DashLine)
            p.setPen(pen)
            p.drawEllipse(oval)
            if self.ring is not None:
                p.setPen(QPen(QColor(theme.FOREGROUND), 14))
                span = int(-360 * 16 * max(0.0, min(1.0, self.ring)))
                p.drawArc(oval.adjusted(-18, -18, 18, 18), 90 * 16, span)
            if self.countdown is not None:
                font = QFont("DejaVu Sans")
                font.setPointSize(theme.SYMBOL_PT)
                font.setBold(True)
                p.setFont(font)
                p.setPen(QColor(theme.FOREGROUND))
                p.drawText(oval, Qt.AlignmentFlag.AlignCenter, str(self.countdown))
        finally:
            p.end()

    def _draw_image(self, p: QPainter, img: QImage) -> None:
        # fill the widget, cropping the longer side (keeps the face large)
        scale = max(self.width() / img.width(), self.height() / img.height())
        sw, sh = img.width() * scale, img.height() * scale
        target = QRectF((self.width() - sw) / 2, (self.height() - sh) / 2, sw, sh)
        p.drawImage(target, img)
