"""Exposure and white balance held during the flash, on cameras that allow it (fake cameras:
the device is outside the thing under test), and given back afterwards."""

from __future__ import annotations

import cv2
import pytest

from app.capture.exposure_lock import HeldSettings, held_exposure


class FakeCamera:
    """Properties as a driver keeps them: refused controls keep their value, accepted ones
    take the nearest value the driver knows (manual_values: what it calls manual exposure)."""

    def __init__(self, manual_values: tuple[float, ...], auto_value: float, wb: bool) -> None:
        self.props = {cv2.CAP_PROP_AUTO_EXPOSURE: auto_value, cv2.CAP_PROP_EXPOSURE: -6.0,
                      cv2.CAP_PROP_AUTO_WB: 1.0, cv2.CAP_PROP_WB_TEMPERATURE: 4600.0}
        self.manual_values = manual_values
        self.auto_value = auto_value
        self.wb = wb
        self.log: list[tuple[int, float]] = []

    def get(self, prop_id: int) -> float:
        return self.props.get(prop_id, 0.0)

    def set(self, prop_id: int, value: float) -> bool:
        self.log.append((prop_id, value))
        if prop_id == cv2.CAP_PROP_AUTO_EXPOSURE:
            if value not in (*self.manual_values, self.auto_value):
                return True  # some drivers say yes and do nothing
            if value in self.manual_values:
                self.props[cv2.CAP_PROP_EXPOSURE] = -1.0  # manual mode resets the exposure
        elif prop_id in (cv2.CAP_PROP_AUTO_WB, cv2.CAP_PROP_WB_TEMPERATURE) and not self.wb:
            return False
        self.props[prop_id] = value
        return True


@pytest.mark.parametrize(("manual", "auto"), [((1.0,), 3.0), ((0.25,), 0.75)])
def test_holds_at_the_settled_values_and_gives_back_auto(manual: tuple[float, ...],
                                                         auto: float) -> None:
    cam = FakeCamera(manual, auto, wb=True)
    with held_exposure(cam) as held:
        assert held == HeldSettings(exposure=True, white_balance=True)
        assert cam.get(cv2.CAP_PROP_AUTO_EXPOSURE) == manual[0]
        assert cam.get(cv2.CAP_PROP_EXPOSURE) == -6.0  # not the driver's reset value
        assert cam.get(cv2.CAP_PROP_AUTO_WB) == 0.0
        assert cam.get(cv2.CAP_PROP_WB_TEMPERATURE) == 4600.0
    assert cam.get(cv2.CAP_PROP_AUTO_EXPOSURE) == auto
    assert cam.get(cv2.CAP_PROP_AUTO_WB) == 1.0


def test_a_camera_that_refuses_is_reported_and_left_alone_even_on_error() -> None:
    cam = FakeCamera((), 3.0, wb=False)
    with pytest.raises(RuntimeError), held_exposure(cam) as held:
        assert held == HeldSettings(exposure=False, white_balance=False)
        raise RuntimeError("camera gone")
    assert cam.get(cv2.CAP_PROP_AUTO_EXPOSURE) == 3.0 and cam.get(cv2.CAP_PROP_AUTO_WB) == 1.0
    assert cam.get(cv2.CAP_PROP_EXPOSURE) == -6.0


def test_restores_after_an_error_inside_the_flash() -> None:
    cam = FakeCamera((1.0,), 3.0, wb=True)
    with pytest.raises(RuntimeError), held_exposure(cam):
        raise RuntimeError("camera gone")
    assert cam.get(cv2.CAP_PROP_AUTO_EXPOSURE) == 3.0 and cam.get(cv2.CAP_PROP_AUTO_WB) == 1.0


def test_a_real_capture_without_a_device_holds_nothing() -> None:
    with held_exposure(cv2.VideoCapture()) as held:
        assert held == HeldSettings(exposure=False, white_balance=False)
