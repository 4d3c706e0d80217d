"""What the demo keeps of a kiosk run besides the screen PNGs (app.ui.person.ScreenShots): one
shot of the window while the live preview is drawn, one frame the camera saw, and the QR code
read back from the result screen. For the lab's simulated faces and sample videos only: these
write camera frames to disk, which the product never does.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from app.lab.contact_sheet import BgrImage

log = logging.getLogger(__name__)

LIVE_GRABS = 6  # grabs of the live preview per session; the last one is kept
FRAMES_KEPT = 120  # camera frames remembered (4 s at 30 fps)


class KeptFrames:
    """Wraps a capture factory: every frame read (on the camera thread) is also remembered with
    its time, the newest FRAMES_KEPT of them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frames: collections.deque[tuple[float, BgrImage]] = collections.deque(
            maxlen=FRAMES_KEPT)

    def wrap(self, factory: Any) -> Any:
        kept = self

        class _Capture:
            def __init__(self) -> None:
                self._cap = factory()

            def read(self) -> tuple[bool, Any]:
                ok, frame = self._cap.read()
                if ok and isinstance(frame, np.ndarray) and frame.ndim == 3:
                    with kept._lock:
                        kept._frames.append((time.monotonic(), frame.copy()))
                return ok, frame

            def release(self) -> None:
                self._cap.release()

            def isOpened(self) -> bool:  # OpenCV's name
                return bool(self._cap.isOpened())

        return _Capture

    def between(self, t0: float, t1: float) -> list[tuple[float, BgrImage]]:
        with self._lock:
            return [(t, f) for t, f in self._frames if t0 <= t <= t1]


def most_coloured(frames: list[tuple[float, BgrImage]]) -> BgrImage | None:
    """The frame whose mean colour is furthest from grey: during a challenge, the face most
    visibly lit by one of the screen's colours."""
    if not frames:
        return None
    chroma = [float(np.std(f.reshape(-1, 3).mean(axis=0))) for _, f in frames]
    return frames[int(np.argmax(chroma))][1]


def presented_strip(colours: Sequence[tuple[float, float, float]],
                    events: Sequence[tuple[str, int, float]], width: int = 640,
                    height: int = 400, background: tuple[int, int, int] = (18, 18, 18),
                    right: Sequence[tuple[float, float, float]] | None = None
                    ) -> BgrImage | None:
    """What the screen showed during a challenge, as bands along time: from the presentation
    log's events ("presented" i / "cleared" i / "finished", with their times) each colour cue
    (RGB drive 0..1) spans the time it was on the screen; gaps and the end are the UI
    background. `right`: a two-sided plan's right-half colours (per cue, as `colours`), drawn
    in the strip's lower half below the left half's. None when nothing was presented."""
    shown = [(k, i, t) for k, i, t in events if k in ("presented", "cleared", "finished")]
    if not any(k == "presented" for k, _, _ in shown):
        return None
    t0, t1 = shown[0][2], shown[-1][2]
    span = max(t1 - t0, 1e-6)
    strip = np.full((height, width, 3), background, dtype=np.uint8)
    for (kind, i, t), nxt in zip(shown, [*shown[1:], None], strict=True):
        if kind != "presented" or not 0 <= i < len(colours) or nxt is None:
            continue
        x0 = int(round((t - t0) / span * width))
        x1 = int(round((nxt[2] - t0) / span * width))
        x1 = max(x1, x0 + 1)
        strip[:, x0:x1] = _bgr(colours[i])
        if right is not None:
            strip[height // 2:, x0:x1] = _bgr(right[i])
    return strip


def _bgr(rgb: tuple[float, float, float]) -> tuple[int, int, int]:
    r, g, b = (int(round(255 * min(1.0, max(0.0, c)))) for c in rgb)
    return b, g, r


class SessionShots:
    """Attached to the KioskWindow (the runner's `watch`), on the UI thread only:

    - `live-SCREEN.png`: the window while the live preview is drawn (positioning or capture),
      grabbed on the flow's events (they reach the window on the UI thread; no timer, and never
      during the flash), the last of LIVE_GRABS;
    - `camera.png`: a frame the camera saw: during a challenge the one most lit by a screen
      colour, else the newest frame when processing starts;
    - `challenge-colours.png`: the colours the screen presented, at their presented times
      (from the window's `challenge_drawn(plan, presentation_log, t0)`; a two-sided plan's
      left half above its right half).
    """

    def __init__(self, folder: Path, frames: KeptFrames) -> None:
        self.folder = folder
        self.frames = frames
        self.live: Path | None = None
        self.camera: Path | None = None
        self.colours: Path | None = None
        self._grabs = 0
        self._challenge_t: float | None = None

    def __call__(self, window: Any) -> None:
        window.screen_changed.connect(self._on_screen)
        window.booth.flow_event.connect(lambda _event: self._grab(window))
        window.challenge_drawn.connect(self._on_drawn)

    def _on_drawn(self, plan: Any, plog: Any, _t0: float) -> None:
        right = [c.right for c in plan.colours] if plan.halves else None
        strip = presented_strip([c.rgb for c in plan.colours], plog.events(), right=right)
        path = self.folder / "challenge-colours.png"
        if strip is not None and self.colours is None and cv2.imwrite(str(path), strip):
            self.colours = path

    def _on_screen(self, name: str) -> None:
        now = time.monotonic()
        if name == "consent":  # a new session
            self._grabs, self._challenge_t = 0, None
        elif name == "challenge":
            self._challenge_t = now
        elif name == "processing":
            if self._challenge_t is not None:
                frame = most_coloured(self.frames.between(self._challenge_t, now))
            else:
                recent = self.frames.between(now - 1.0, now)
                frame = recent[-1][1] if recent else None
            if frame is not None and self.camera is None:
                path = self.folder / "camera.png"
                if cv2.imwrite(str(path), frame):
                    self.camera = path

    def _grab(self, window: Any) -> None:
        screen = window.current
        if (screen not in ("positioning", "capture") or self._grabs >= LIVE_GRABS
                or window.camera.preview.image is None):
            return
        self._grabs += 1
        path = self.folder / f"live-{screen}.png"
        if window.grab().save(str(path)):
            if self.live is not None and self.live != path:
                self.live.unlink(missing_ok=True)
            self.live = path


def _qr_grids(image: BgrImage) -> list[npt.NDArray[np.bool_]]:
    """The QR code on a screenshot read back as module grids (True = dark, quiet zone
    included), one for each likely size, the likeliest first.

    The kiosk draws its code in a white square with a 4-module quiet zone at a fractional
    module size (about 3.3 px), which OpenCV's detector misreads; so the square (the largest
    bright area) is found, its module count estimated from the dark part's share of it
    (N = 8 * dark / (side - dark)), and for the QR sizes (17 + 4v) nearest to it each module is
    read at its cell's centre (the code is drawn without antialiasing). The decoder's error
    correction tells the right size from the wrong ones."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    n, _, stats, _ = cv2.connectedComponentsWithStats((grey > 160).astype(np.uint8))
    if n < 2:
        return []
    i = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, w, h = (int(v) for v in stats[i, :4])
    if abs(w - h) > 2 or w < 2 * (21 + 8):
        return []  # not a square big enough for a QR code
    square = grey[y:y + h, x:x + w]
    dark = np.argwhere(square < 128)
    if len(dark) == 0:
        return []
    side = int(dark[:, 1].max() - dark[:, 1].min() + 1)
    if side >= w:
        return []
    guess = round((8 * side / (w - side) - 17) / 4)
    grids: list[npt.NDArray[np.bool_]] = []
    for version in sorted(range(guess - 2, guess + 3), key=lambda v: abs(v - guess)):
        cells = 17 + 4 * version + 8
        if not 1 <= version <= 40 or 2 * cells > w:
            continue
        rows = np.minimum((np.arange(cells) + 0.5) * h / cells, h - 1).astype(int)
        cols = np.minimum((np.arange(cells) + 0.5) * w / cells, w - 1).astype(int)
        grids.append(square[np.ix_(rows, cols)] < 128)
    return grids


def decode_grid(grid: npt.NDArray[np.bool_]) -> str | None:
    """A module grid decoded by OpenCV: its plain detector first, then the ArUco-based one
    (the plain one fails on about a quarter of clean version-18 codes, the size of a
    credential), each at two module sizes."""
    detectors = (cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco())
    for px in (8, 5):
        clean = np.asarray(np.kron(np.where(grid, 0, 255), np.ones((px, px))), dtype=np.uint8)
        clean = np.asarray(cv2.copyMakeBorder(clean, 4 * px, 4 * px, 4 * px, 4 * px,
                                              cv2.BORDER_CONSTANT, value=255), dtype=np.uint8)
        for detector in detectors:
            text, _, _ = detector.detectAndDecode(clean)
            if text:
                return str(text)
    return None


def decode_qr(path: Path) -> str | None:
    """The text of the QR code on a screenshot (OpenCV's decoder), or None."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        return None
    for grid in _qr_grids(np.asarray(image, dtype=np.uint8)):
        text = decode_grid(grid)
        if text:
            return text
    return None
