"""UI fixtures: the real kiosk (models, encrypted database) behind the real window, offscreen.

Only the camera is fake: it plays frames made of real sample portraits (the demo's live clip),
or an empty room, and can be unplugged and plugged back in. Waits are qtbot.waitUntil /
waitSignal with generous timeouts (bounds for a hung test, never timing assertions).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.capture.frames import open_source
from app.capture.screen_timeline import ScreenTimeline
from app.kiosk.config import KioskConfig
from app.kiosk.operator import OperatorGate
from app.kiosk.operator_console import OperatorConsole
from app.kiosk.root import Kiosk, open_kiosk
from app.lab.demo_clips import make_demo_clips
from app.ui import theme
from app.ui.booth import Booth
from app.ui.i18n import Translator
from app.ui.window import KioskWindow
from app.workflows import Workflow
from inference.pipeline import FacePipeline
from sync.verdict import CaptureSource
from sync.vocabulary import CaptureKind

CAMERA = CaptureSource(kind=CaptureKind.CAMERA, detail="fake camera")
WAIT_MS = 60_000  # a bound for a hung test
PACE = 1 / 25  # the fake camera delivers at a camera's rate


@pytest.fixture(scope="session")
def live_frames(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> list[np.ndarray]:
    clips = make_demo_clips(data_dir / "colour", tmp_path_factory.mktemp("clips"))
    return [f.image for f in open_source(str(Path(clips["live"])))]


@pytest.fixture(scope="session")
def empty_room(live_frames: list[np.ndarray]) -> list[np.ndarray]:
    """The same room with nobody in it: a flat grey frame of the clip's size."""
    return [np.full_like(live_frames[0], 96)]


class CameraRig:
    """A pluggable fake camera: `frames` to play (looped), `plugged` or not."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        self.frames = frames
        self.plugged = threading.Event()
        self.plugged.set()
        self.opened = 0

    def factory(self) -> FakeCapture:
        self.opened += 1
        return FakeCapture(self)


class FakeCapture:
    """cv2.VideoCapture's read/release/isOpened; reads fail once the rig is unplugged."""

    def __init__(self, rig: CameraRig) -> None:
        self.rig = rig
        self.i = 0
        self._open = rig.plugged.is_set()

    def read(self) -> tuple[bool, Any]:
        time.sleep(PACE)
        if not self.rig.plugged.is_set():
            self._open = False
            return False, None
        frames = self.rig.frames
        image = frames[self.i % len(frames)].copy()
        self.i += 1
        return True, image

    def release(self) -> None:
        self._open = False

    def isOpened(self) -> bool:  # OpenCV's name
        return self._open


@pytest.fixture()
def kiosk(tmp_path: Path, models_dir: Path, face_pipeline: FacePipeline) -> Iterator[Kiosk]:
    cfg = KioskConfig.model_validate({"inference": {"models_dir": str(models_dir)}})
    k = open_kiosk(cfg, tmp_path / "home", db_key=bytes(range(32)), pipeline=face_pipeline)
    yield k
    k.close()


def quick(wf: Workflow, **session: float) -> Workflow:
    """The workflow with shorter session times (walk-away tests)."""
    return wf.model_copy(update={"session": wf.session.model_copy(update=session)})


class Rig:
    """A running kiosk screen: window, booth, camera rig, timeline."""

    def __init__(self, window: KioskWindow, booth: Booth, camera: CameraRig,
                 timeline: ScreenTimeline) -> None:
        self.window, self.booth, self.camera, self.timeline = window, booth, camera, timeline
        self.outcomes: list[Any] = []
        window.session_done.connect(self.outcomes.append)


@pytest.fixture()
def make_rig(qtbot: Any, kiosk: Kiosk) -> Iterator[Callable[..., Rig]]:
    made: list[Rig] = []

    def make(frames: list[np.ndarray], *, workflow: Workflow | None = None,
             gate: OperatorGate | None = None, lang: str = "en",
             crash: Callable[[str], None] | None = None,
             camera_check: Callable[[], Any] | None = None, **window_kw: Any) -> Rig:
        camera = CameraRig(frames)
        booth = Booth(kiosk, camera.factory, CAMERA, workflow=workflow,
                      retry_interval_s=0.2, max_failures=3, camera_check=camera_check,
                      **({"crash": crash} if crash is not None else {}))
        console = OperatorConsole(kiosk, gate or OperatorGate(kiosk.config.operator))
        timeline = ScreenTimeline(theme.BACKGROUND_RGB)
        kw: dict[str, Any] = {"countdown_s": 1, "result_hold_s": 30.0, "motion_wake": False}
        kw.update(window_kw)
        window = KioskWindow(booth, console, Translator(lang), timeline=timeline, **kw)
        qtbot.addWidget(window)
        window.resize(1024, 768)
        window.show()
        booth.start()
        rig = Rig(window, booth, camera, timeline)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        rig.booth.close()
