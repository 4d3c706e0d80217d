"""Waking the attract screen when someone steps in, without analysing anyone before consent.

No face detection runs before a person has consented: the wake-up is a plain change detector on
a tiny grey thumbnail (32x24 pixels, nothing that identifies anyone, kept only as the last
thumbnail in memory). A change of the mean absolute difference above `threshold` grey levels
between two looks starts a session (which then asks for consent). Qt-free.
"""

from __future__ import annotations

import cv2
import numpy as np

THUMB = (32, 24)


class MotionWake:
    def __init__(self, threshold: float = 12.0) -> None:
        self.threshold = threshold
        self._last: np.ndarray | None = None

    def reset(self) -> None:
        self._last = None

    def moved(self, image: np.ndarray) -> bool:
        grey = image if image.ndim == 2 else cv2.cvtColor(image[:, :, :3], cv2.COLOR_BGR2GRAY)
        thumb = cv2.resize(grey, THUMB, interpolation=cv2.INTER_AREA).astype(np.float32)
        last, self._last = self._last, thumb
        if last is None:
            return False
        return float(np.mean(np.abs(thumb - last))) > self.threshold
