"""`poh kiosk calibrate`: the session's flash renderer draws flash-safe plans while the camera
thread records; the delay from presented to seen is estimated and stored in the configuration.
The camera is fake: it sees the screen (through the ScreenTimeline the renderer writes) a known
delay late; one that does not see the screen is refused and nothing is stored."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.capture.screen_timeline import ScreenTimeline
from app.errors import BadInputError
from app.kiosk.config import load_config
from app.kiosk_main import calibrate_main
from app.ui import theme

DELAY = 0.06


class ScreenSeeingCamera:
    """Frames lit by what the screen presented DELAY seconds before the read, at 30 fps."""

    def __init__(self, timeline: ScreenTimeline | None) -> None:
        self.timeline = timeline
        self._next = time.monotonic()
        self._lock = threading.Lock()
        self._rng = np.random.default_rng(1)

    def read(self) -> tuple[bool, Any]:
        with self._lock:
            self._next += 1 / 30
            wait = self._next - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            rgb = (self.timeline.at(time.monotonic() - DELAY).rgb if self.timeline is not None
                   else theme.BACKGROUND_RGB)
            bgr = np.array([rgb[2], rgb[1], rgb[0]]) * 150 + 40
            frame = np.clip(bgr + self._rng.normal(0, 2, (48, 64, 3)), 0, 255)
            return True, frame.astype(np.uint8)

    def release(self) -> None:
        pass

    def isOpened(self) -> bool:  # OpenCV's name
        return True


def test_calibrate_measures_and_stores_the_display_delay(qtbot: Any, capsys: Any,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         _isolated_home: Path) -> None:
    monkeypatch.setenv("POH_PROGRESS", "bar")  # as on a terminal: the runs drawn on stderr
    timeline = ScreenTimeline(theme.BACKGROUND_RGB)
    rc = calibrate_main(["--runs", "2", "--offscreen", "--json"],
                        capture=lambda: ScreenSeeingCamera(timeline), timeline=timeline)
    assert rc == 0
    captured = capsys.readouterr()
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", captured.err)
    assert "calibration runs" in shown and "1/2" in shown and "2/2" in shown
    out = json.loads(captured.out)  # nothing of the bar on stdout
    assert abs(out["display_delay_s"] - DELAY) <= 0.025, out  # within a frame of the truth
    assert min(out["fits"]) > 0.8
    cfg = load_config()
    assert cfg.challenge.display_delay_s == out["display_delay_s"]
    assert Path(out["config"]) == _isolated_home / "config.json"


def test_a_camera_that_does_not_see_the_screen_stores_nothing(qtbot: Any,
                                                              _isolated_home: Path) -> None:
    with pytest.raises(BadInputError, match="nothing stored"):
        calibrate_main(["--runs", "1", "--offscreen"], capture=lambda: ScreenSeeingCamera(None))
    assert not (_isolated_home / "config.json").exists()


def test_calibrate_errors_are_a_json_object_under_json(capsys: Any, _isolated_home: Path) -> None:
    from app.kiosk_main import main

    assert main(["calibrate", "--min-fit", "2", "--json"]) == 2
    err = capsys.readouterr().err
    assert json.loads(err) == {"error": {"exit_code": 2, "message": "--min-fit: 0 to 1"}}


def test_ctrl_c_during_calibration_exits_130(monkeypatch: pytest.MonkeyPatch,
                                             capsys: Any) -> None:
    import app.kiosk_main as kiosk_main

    def interrupted(argv: list[str]) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(kiosk_main, "calibrate_main", interrupted)
    assert kiosk_main.main(["calibrate"]) == 130
    assert capsys.readouterr().err == "poh kiosk calibrate: error: interrupted\n"


def test_verbosity_is_accepted_anywhere_on_the_line(capsys: Any) -> None:
    """`poh -v kiosk calibrate ...` reaches kiosk_main as ["-v", "calibrate", ...]."""
    import logging

    from app.kiosk_main import main

    own = [logging.getLogger(n) for n in ("app", "inference", "storage", "sync")]
    levels = [lg.level for lg in own]
    try:
        for args in (["-v", "calibrate", "--min-fit", "2"],
                     ["calibrate", "--min-fit", "2", "-vv"]):
            assert main(args) == 2  # the --min-fit refusal: the flag itself was accepted
            assert "--min-fit" in capsys.readouterr().err
        assert own[0].level == logging.DEBUG  # -vv
    finally:
        for lg, level in zip(own, levels, strict=True):
            lg.setLevel(level)
