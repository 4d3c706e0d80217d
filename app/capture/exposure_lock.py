"""Holding a camera's exposure and white balance still while the kiosk screen flashes.

Auto exposure chases the flash (the face brightens, the camera darkens it again) and auto white
balance pulls the flash colour back to grey: both eat the answer the analyzer looks for. Where
the camera allows it, the kiosk's challenge camera switches both to manual at the values the
camera had settled on, for the flash only, then gives the camera back its own settings. Many
webcams refuse some of these controls, and backends disagree on the values that mean "manual"
(V4L2 takes 1 of 1/3, DirectShow 0.25 of 0.25/0.75), so every change is read back: the report
says what was really held. The analyzer does not rely on it (it divides out the wall's gain per
frame), but a held camera leaves it less to undo.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

import cv2

log = logging.getLogger(__name__)

_MANUAL_EXPOSURE = (1.0, 0.25)  # V4L2, then DirectShow / MSMF
_TOLERANCE = 1e-3


class CameraControls(Protocol):
    """What cv2.VideoCapture offers for its properties."""

    def get(self, prop_id: int) -> float: ...

    def set(self, prop_id: int, value: float) -> bool: ...


@dataclass(frozen=True)
class HeldSettings:
    exposure: bool  # auto exposure off, exposure kept at the settled value
    white_balance: bool  # auto white balance off, colour temperature kept


def _set_checked(cam: CameraControls, prop: int, value: float) -> bool:
    return bool(cam.set(prop, value)) and abs(float(cam.get(prop)) - value) < _TOLERANCE


def _hold_exposure(cam: CameraControls) -> bool:
    settled = float(cam.get(cv2.CAP_PROP_EXPOSURE))
    for manual in _MANUAL_EXPOSURE:
        if _set_checked(cam, cv2.CAP_PROP_AUTO_EXPOSURE, manual):
            # switching to manual may reset the exposure: put back what auto had settled on
            cam.set(cv2.CAP_PROP_EXPOSURE, settled)
            return True
    return False


def _hold_white_balance(cam: CameraControls) -> bool:
    settled = float(cam.get(cv2.CAP_PROP_WB_TEMPERATURE))
    if not _set_checked(cam, cv2.CAP_PROP_AUTO_WB, 0.0):
        return False
    if settled > 0:
        cam.set(cv2.CAP_PROP_WB_TEMPERATURE, settled)
    return True


@contextmanager
def held_exposure(cam: CameraControls) -> Iterator[HeldSettings]:
    """Exposure and white balance held at their settled values inside the block (where the
    camera allows it), the camera's own settings restored after, even on an error."""
    auto_exposure = float(cam.get(cv2.CAP_PROP_AUTO_EXPOSURE))
    auto_wb = float(cam.get(cv2.CAP_PROP_AUTO_WB))
    held = HeldSettings(_hold_exposure(cam), _hold_white_balance(cam))
    if not (held.exposure and held.white_balance):
        log.info("camera keeps automatic %s during the flash (control refused)",
                 " and ".join(n for n, ok in (("exposure", held.exposure),
                                              ("white balance", held.white_balance)) if not ok))
    try:
        yield held
    finally:
        # the values held are the ones auto had settled on: giving back the switches suffices
        if held.exposure:
            cam.set(cv2.CAP_PROP_AUTO_EXPOSURE, auto_exposure)
        if held.white_balance:
            cam.set(cv2.CAP_PROP_AUTO_WB, auto_wb)
