"""The camera thread, the latest-only mailbox and the session worker on real threads, driving a
real kiosk flow (real pipeline, real encrypted database). Only the camera is fake: it plays the
demo clip (real portraits). Threads are joined with generous timeouts; nothing asserts timing.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.capture.camera_thread import CameraThread
from app.capture.frames import open_source
from app.capture.mailbox import Frame, LatestFrameMailbox
from app.flow.controller import SessionFlow
from app.flow.events import FlowEvent, ResultReady, SessionFailed, Stage, StageChanged
from app.flow.worker import SessionWorker, WorkerEnd, WorkerOutcome
from app.kiosk.root import Kiosk
from app.lab.demo_clips import make_demo_clips
from app.workflows import DEFAULT_WORKFLOW, load_workflow
from sync.verdict import CaptureSource
from sync.vocabulary import CaptureKind, SessionStatus

S = SessionStatus
CAMERA = CaptureSource(kind=CaptureKind.CAMERA, detail="fake camera")
JOIN = 60.0  # seconds: a bound for a hung thread, never a timing assertion
CAMERA_PACE = 1 / 25  # the fake camera delivers at a camera's rate, not in a busy loop


@pytest.fixture(scope="module")
def live_frames(tmp_path_factory: pytest.TempPathFactory) -> list[np.ndarray]:
    from app.paths import data_dir
    clips = make_demo_clips(data_dir() / "colour", tmp_path_factory.mktemp("clips"))
    return [f.image for f in open_source(str(Path(clips["live"])))]


class FakeCamera:
    """cv2.VideoCapture's read/release/isOpened over a list of frames.

    `loop`: play the frames again and again; otherwise after them the device disappears
    (`vanish`) or keeps failing reads while it says it is open. `stall`: read() blocks until
    `unstall` is set (a camera that gives no frames), then fails."""

    def __init__(self, frames: list[np.ndarray], *, loop: bool = True, vanish: bool = True,
                 stall: bool = False) -> None:
        self.frames, self.loop, self.vanish, self.stall = frames, loop, vanish, stall
        self.unstall = threading.Event()
        self.reads = 0
        self.released = threading.Event()
        self._open = True

    def read(self) -> tuple[bool, Any]:
        if self.stall:
            self.unstall.wait(JOIN)
            return False, None
        i = self.reads
        self.reads += 1
        if i >= len(self.frames) and not self.loop:
            if self.vanish:
                self._open = False
            return False, None
        time.sleep(CAMERA_PACE)
        return True, self.frames[i % len(self.frames)].copy()

    def release(self) -> None:
        self._open = False
        self.released.set()

    def isOpened(self) -> bool:  # OpenCV's name
        return self._open


class Recorder:
    """The worker's callbacks, as the kiosk screen would wrap them in Qt signals."""

    def __init__(self) -> None:
        self.events: list[FlowEvent] = []
        self.finished: list[WorkerOutcome] = []
        self.event_threads: set[str] = set()

    def on_event(self, event: FlowEvent) -> None:
        self.event_threads.add(threading.current_thread().name)
        self.events.append(event)

    def on_finished(self, outcome: WorkerOutcome) -> None:
        self.finished.append(outcome)


def _consent_now(flow: SessionFlow, t: float) -> None:
    flow.start(t, ask_consent=True)
    flow.consent(True, t)


def _rig(kiosk: Kiosk, camera: FakeCamera, *, on_start: Any = _consent_now,
         **worker_kw: Any) -> tuple[SessionWorker, CameraThread, Recorder, LatestFrameMailbox]:
    box, preview = LatestFrameMailbox(), LatestFrameMailbox()
    rec = Recorder()
    flow = kiosk.new_session(CAMERA, "alice", workflow=worker_kw.pop("workflow", None))
    worker = SessionWorker(flow, box, on_event=rec.on_event, on_finished=rec.on_finished,
                           on_start=on_start, **worker_kw)
    cam = CameraThread(lambda: camera, box, preview=preview, on_lost=worker.camera_lost,
                       max_failures=3)
    return worker, cam, rec, preview


def _finish(worker: SessionWorker, cam: CameraThread) -> None:
    assert worker.join(JOIN), "the worker did not end"
    cam.stop()
    cam.join(JOIN)
    assert not cam.is_alive(), "the camera thread did not end"


def test_camera_drives_a_kiosk_flow_to_approved(kiosk: Kiosk,
                                                live_frames: list[np.ndarray]) -> None:
    camera = FakeCamera(live_frames)
    worker, cam, rec, preview = _rig(kiosk, camera)
    cam.start()
    worker.start()
    _finish(worker, cam)
    assert len(rec.finished) == 1
    outcome = rec.finished[0]
    assert outcome.end is WorkerEnd.FINISHED and outcome.result is not None
    assert outcome.result.verdict.status is S.APPROVED
    assert outcome.result.verdict.capture_source.kind is CaptureKind.CAMERA
    assert [e for e in rec.events if isinstance(e, ResultReady)] == [ResultReady(outcome.result)]
    assert StageChanged(Stage.POSITIONING) in rec.events
    assert rec.event_threads == {"session-worker"}  # the flow ran on the worker's thread only
    assert preview.put_count == cam.next_seq  # the preview got every frame the camera read
    assert camera.released.is_set()


def test_consent_from_the_caller_then_the_worker_pushes(kiosk: Kiosk,
                                                         live_frames: list[np.ndarray]) -> None:
    camera = FakeCamera(live_frames)
    worker, cam, rec, _ = _rig(kiosk, camera, on_start=None)
    t = time.monotonic()
    worker.flow.start(t, ask_consent=True)
    worker.flow.consent(True, t)
    cam.start()
    worker.start()
    _finish(worker, cam)
    assert [o.end for o in rec.finished] == [WorkerEnd.FINISHED]
    result = worker.flow.result
    assert result is not None and result.verdict.status is S.APPROVED


def test_camera_dying_mid_session_abandons_it(kiosk: Kiosk,
                                              live_frames: list[np.ndarray]) -> None:
    camera = FakeCamera(live_frames[:3], loop=False, vanish=True)
    worker, cam, rec, _ = _rig(kiosk, camera)
    cam.start()
    worker.start()
    _finish(worker, cam)
    assert cam.lost_reason == "the camera disappeared"
    assert len(rec.finished) == 1
    outcome = rec.finished[0]
    assert outcome.end is WorkerEnd.CAMERA_LOST
    assert outcome.result is not None and outcome.result.verdict.status is S.ABANDONED
    assert "camera lost" in (outcome.result.verdict.reason or "")
    assert camera.released.is_set()


def test_cancel_ends_the_session_and_the_thread(kiosk: Kiosk,
                                                live_frames: list[np.ndarray]) -> None:
    started = threading.Event()

    def hold(flow: SessionFlow, t: float) -> None:
        flow.start(t, ask_consent=True)  # stays at consent: frames are only ticks
        started.set()

    camera = FakeCamera(live_frames)
    worker, cam, rec, _ = _rig(kiosk, camera, on_start=hold)
    cam.start()
    thread = worker.start()
    assert started.wait(JOIN)
    worker.cancel()
    _finish(worker, cam)
    assert not thread.is_alive()
    assert [o.end for o in rec.finished] == [WorkerEnd.CANCELLED]
    result = rec.finished[0].result
    assert result is not None and result.verdict.status is S.ABANDONED
    assert "cancelled" in (result.verdict.reason or "")
    assert cam.lost_reason is None  # a stop is not a lost camera


def test_no_frames_walk_away_by_ticks(kiosk: Kiosk) -> None:
    wf = load_workflow(DEFAULT_WORKFLOW)
    wf = wf.model_copy(update={"session": wf.session.model_copy(
        update={"abandon_after_seconds": 0.3})})
    camera = FakeCamera([], stall=True)
    worker, cam, rec, _ = _rig(kiosk, camera, workflow=wf, tick_interval=0.05)
    cam.start()
    worker.start()
    try:
        assert worker.join(JOIN), "the worker did not end"
    finally:
        cam.stop()
        camera.unstall.set()
    cam.join(JOIN)
    assert not cam.is_alive()
    assert cam.lost_reason is None and cam.next_seq == 0
    assert [o.end for o in rec.finished] == [WorkerEnd.FINISHED]
    result = rec.finished[0].result
    assert result is not None and result.verdict.status is S.ABANDONED
    assert "no face" in (result.verdict.reason or "")


def test_worker_exception_is_a_failure_and_finishes_once(kiosk: Kiosk,
                                                         caplog: pytest.LogCaptureFixture
                                                         ) -> None:
    box = LatestFrameMailbox()
    rec = Recorder()
    flow = kiosk.new_session(CAMERA, "alice")
    worker = SessionWorker(flow, box, on_event=rec.on_event, on_finished=rec.on_finished,
                           on_start=_consent_now)
    box.put(Frame(np.zeros((4, 4, 3), np.float32), time.monotonic(), 0))
    worker.start()
    assert worker.join(JOIN)
    assert len(rec.finished) == 1
    outcome = rec.finished[0]
    assert outcome.end is WorkerEnd.FAILED and outcome.error is not None
    assert "8-bit" in outcome.error
    assert [e for e in rec.events if isinstance(e, SessionFailed)] == [
        SessionFailed(outcome.error)]
    assert outcome.result is not None and outcome.result.verdict.status is S.ABANDONED  # closed
    assert any(r.exc_info for r in caplog.records if "session worker failed" in r.message)


def test_camera_thread_reports_lost_once_and_restarts(live_frames: list[np.ndarray]) -> None:
    lost: list[str] = []
    box = LatestFrameMailbox()
    broken = FakeCamera([], loop=False, vanish=False)  # open, but every read fails
    cameras = iter([broken, FakeCamera(live_frames[:4], loop=False)])
    cam = CameraThread(lambda: next(cameras), box, on_lost=lost.append, max_failures=3,
                       retry_delay=0.0)
    cam.start()
    cam.join(JOIN)
    assert not cam.is_alive()
    assert lost == ["3 reads in a row failed"] and broken.reads == 3
    assert broken.released.is_set()
    again = cam.again()  # the camera came back: a new thread, the same parts
    again.start()
    again.join(JOIN)
    assert not again.is_alive()
    assert lost == ["3 reads in a row failed", "the camera disappeared"]
    assert again.next_seq == 4
    last = box.get(0)
    assert last is not None and last.seq == 3
    assert box.dropped + box.taken == box.put_count == 4


def test_camera_that_cannot_open_or_raises_is_lost_not_raised() -> None:
    lost: list[str] = []

    class Closed(FakeCamera):
        def isOpened(self) -> bool:
            return False

    def explode() -> FakeCamera:
        raise OSError("no such device")

    box = LatestFrameMailbox()
    for factory in (lambda: Closed([]), explode):
        cam = CameraThread(factory, box, on_lost=lost.append)
        cam.start()
        cam.join(JOIN)
        assert not cam.is_alive()
    assert lost == ["the camera cannot be opened", "camera error: OSError: no such device"]
