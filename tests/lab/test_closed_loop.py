"""The closed-loop simulated camera driving the real chain without Qt: a challenge plan from the
session's nonce, drawn by the headless screen on its thread, seen by the closed-loop camera
(lit by what the screen presented, a display and a camera delay late), read by the real camera
thread, recorded by the FrameTap, assembled from the presented times, pushed by the session
worker into the real flow (real models, real encrypted database, scratch key), signed verdict.

Only the screen (no pixels) and the camera (the simulator) stand in for hardware. Nothing
asserts timing: the presented-time and frame-rate figures are printed by
`poh-lab eval closed-loop`. Threads are bounded by generous joins.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.capture.calibration import estimate_display_delay
from app.capture.camera_thread import CameraThread
from app.capture.frame_tap import FrameTap
from app.capture.mailbox import LatestFrameMailbox
from app.capture.plan import make_plan
from app.capture.presentation import cues_as_presented
from app.capture.screen_timeline import ScreenTimeline
from app.errors import BadInputError
from app.kiosk.config import KioskConfig
from app.kiosk.root import Kiosk, open_kiosk
from app.lab.datasets import face3d_dir
from app.lab.kiosk_sim.headless_screen import HeadlessScreen
from app.lab.kiosk_sim.runner import SessionRun, run_closed_loop_session
from app.lab.simulation.closed_loop.camera import ClosedLoopCamera, Delays
from app.lab.simulation.closed_loop.factory import SimCaptureFactory, sim_capture_factory
from app.lab.simulation.flash.face_scene import FaceScene
from app.workflows import ACTIVE_3D_WORKFLOW, DEFAULT_WORKFLOW, FLASHING_WORKFLOW, load_workflow
from inference.pipeline import FacePipeline
from sync.device_key import DeviceKey
from sync.vocabulary import CaptureKind, LivenessMethod, SessionStatus, WarningCode

S = SessionStatus
DELAYS = Delays()  # 80 ms camera + 30 ms display
JOIN = 60.0


@pytest.fixture(scope="module")
def scene(data_dir: Path) -> FaceScene:
    return FaceScene(face3d_dir(data_dir))


@pytest.fixture()
def kiosk(tmp_path: Path, models_dir: Path, face_pipeline: FacePipeline) -> Iterator[Kiosk]:
    """A lab kiosk (scratch key) whose challenge config holds the camera's true delay, as
    `poh kiosk calibrate` would have stored it."""
    cfg = KioskConfig.model_validate({"inference": {"models_dir": str(models_dir)},
                                      "challenge": {"display_delay_s": DELAYS.total}})
    k = open_kiosk(cfg, tmp_path / "home", db_key=bytes(range(32)), pipeline=face_pipeline,
                   scratch_key=DeviceKey.generate(device_id="lab-closed-loop-test"))
    yield k
    k.close()


def _factory(scene: FaceScene, species: str, seed: int, warm: bool = False
             ) -> SimCaptureFactory:
    return sim_capture_factory(f"sim:{species}:{seed}", ScreenTimeline(), scene=scene,
                               delays=DELAYS, warm=warm)


def _run(kiosk: Kiosk, factory: SimCaptureFactory, workflow: Path, *,
         screen: HeadlessScreen | None = None, vendor: str = "sim-person") -> SessionRun:
    return run_closed_loop_session(kiosk, factory, screen or HeadlessScreen(factory.timeline),
                                   vendor, workflow=load_workflow(workflow))


def _verdict_ok(run: SessionRun, method: LivenessMethod) -> None:
    r = run.result
    assert r is not None, run.outcome
    v = r.verdict
    assert v.capture_source.kind is CaptureKind.SIMULATION  # never the booth's camera
    assert v.capture_source.device_id is None
    assert v.liveness.method is method


def test_live_flashing_session_is_approved(kiosk: Kiosk, scene: FaceScene) -> None:
    run = _run(kiosk, _factory(scene, "live", 1), FLASHING_WORKFLOW)
    _verdict_ok(run, LivenessMethod.FLASHING)
    v = run.result.verdict if run.result else None
    assert v is not None and v.status is S.APPROVED, run.summary()
    assert v.challenge is not None  # the nonce and the digest of the recording as presented
    # the recording is the camera thread's frames while the screen presented the plan
    assert run.challenge_frames >= 8 and run.presentation is not None
    assert run.presentation.t_end is not None


def test_live_active_3d_session_follows_the_prompts_and_is_approved(
        kiosk: Kiosk, scene: FaceScene) -> None:
    run = _run(kiosk, _factory(scene, "live", 2, warm=True), ACTIVE_3D_WORKFLOW)
    _verdict_ok(run, LivenessMethod.ACTIVE_3D)
    v = run.result.verdict if run.result else None
    assert v is not None and v.status is S.APPROVED, run.summary()


@pytest.mark.parametrize(("species", "seed"), [("print", 3), ("retint0", 4)])
def test_print_and_retinting_replay_are_declined(kiosk: Kiosk, scene: FaceScene,
                                                 species: str, seed: int) -> None:
    run = _run(kiosk, _factory(scene, species, seed), FLASHING_WORKFLOW, vendor=species)
    _verdict_ok(run, LivenessMethod.FLASHING)
    v = run.result.verdict if run.result else None
    assert v is not None and v.status is S.DECLINED, run.summary()
    assert WarningCode.LIVENESS_FACE_ATTACK in v.warnings


def test_live_person_passes_passive_liveness_in_front_of_the_dark_ui(
        kiosk: Kiosk, scene: FaceScene) -> None:
    run = _run(kiosk, _factory(scene, "live", 5), DEFAULT_WORKFLOW)
    _verdict_ok(run, LivenessMethod.PASSIVE)
    v = run.result.verdict if run.result else None
    assert v is not None and v.status is S.APPROVED, run.summary()


def test_a_flash_presented_150_ms_late_fails_the_timing_check(kiosk: Kiosk,
                                                              scene: FaceScene) -> None:
    factory = _factory(scene, "live", 1)  # the person the on-time session approves
    run = _run(kiosk, factory, FLASHING_WORKFLOW,
               screen=HeadlessScreen(factory.timeline, late={3: 0.150}))
    v = run.result.verdict if run.result else None
    assert v is not None and v.status is not S.APPROVED, run.summary()
    # colour 2 stayed up 150 ms too long (colour 3 came late): the response does not match
    assert "shown for a different time" in (v.reason or ""), v.reason
    assert max(run.timing_errors) > 0.1  # the presentation log saw the lateness


def test_a_skipped_flash_fails_the_timing_check(kiosk: Kiosk, scene: FaceScene) -> None:
    factory = _factory(scene, "live", 1)
    run = _run(kiosk, factory, FLASHING_WORKFLOW,
               screen=HeadlessScreen(factory.timeline, skip={4}))
    v = run.result.verdict if run.result else None
    assert v is not None and v.status is not S.APPROVED, run.summary()
    assert run.capture_error is not None and "skipped" in run.capture_error
    assert "challenge capture failed" in (v.reason or ""), v.reason


def test_a_booth_key_kiosk_refuses_the_simulated_camera(tmp_path: Path, models_dir: Path,
                                                        face_pipeline: FacePipeline,
                                                        scene: FaceScene) -> None:
    cfg = KioskConfig.model_validate({"inference": {"models_dir": str(models_dir)}})
    booth = open_kiosk(cfg, tmp_path / "booth", db_key=bytes(range(32)), pipeline=face_pipeline)
    try:
        factory = _factory(scene, "live", 1)
        assert factory.kind is CaptureKind.SIMULATION
        with pytest.raises(BadInputError):
            booth.new_session(factory.capture_source(), "someone")
    finally:
        booth.close()


def test_the_camera_sees_the_screen_the_configured_delay_late(scene: FaceScene) -> None:
    """Calibration on the closed loop: the booth's delay estimator, fed the camera thread's
    frames and the presented colours, finds the simulated display + camera delay."""
    factory = _factory(scene, "live", 6)
    screen = HeadlessScreen(factory.timeline)
    box, tap = LatestFrameMailbox(), FrameTap()
    lost: list[str] = []
    cam = CameraThread(factory, box, preview=tap, on_lost=lost.append)
    plan = make_plan("FLASHING", bytes(range(16)))
    cam.start()
    try:
        tap.arm()
        p = screen.present(plan)
        assert p.done.wait(JOIN) and p.t_end is not None
        # the camera sees the last colour a delay after it left the screen: wait for that
        time.sleep(max(0.0, p.t_end + 0.4 - time.monotonic()))
        frames, _ = tap.disarm()
    finally:
        cam.stop()
        cam.join(JOIN)
    assert not lost
    opened = factory.opened[-1]
    cols, _ = cues_as_presented(plan, p.log)
    shown = [(c.t_start, c.t_end, c.rgb) for c in cols]
    times = [t for t, _ in frames]
    means = np.stack([img.reshape(-1, 3).mean(0) for _, img in frames])
    est = estimate_display_delay(times, means, shown, exposure_s=opened.exposure)
    truth = DELAYS.total - opened.settings.latency  # the settings' residual clock error
    assert abs(est.delay_s - truth) <= 0.03, (est.delay_s, truth, est.fit)
    # the delay explains the response far better than none would (the auto exposure and the
    # head's sway leave the rest)
    assert est.fit > dict(est.fits)[0.0] + 0.2, est.fit


def test_a_bad_spec_is_one_line_bad_input(scene: FaceScene) -> None:
    for spec in ("sim:ghost", "sim:live:x", "camera0"):
        with pytest.raises(BadInputError) as err:
            sim_capture_factory(spec, ScreenTimeline(), scene=scene, warm=False)
        assert "\n" not in str(err.value)


def test_the_camera_is_a_capture(scene: FaceScene) -> None:
    cam = _factory(scene, "print", 7)()
    assert isinstance(cam, ClosedLoopCamera)
    ok, frame = cam.read()
    assert ok and frame.dtype == np.uint8 and frame.shape == (256, 256, 3)
    assert cam.isOpened()
    cam.release()
    assert not cam.isOpened() and cam.read() == (False, None)


def _redder_on_image_left(scene: FaceScene, left: tuple[float, float, float],
                          right: tuple[float, float, float]) -> float:
    """(R - B) of the frame's left middle quarter minus its right one, lit by a two-sided
    screen state (the camera faces the person: their left is the image's right)."""
    factory = _factory(scene, "live", 3)
    cam = factory()
    factory.timeline.show(0.0, left, None, right)
    frame = cam.render(5.0).astype(np.float64)
    h, w = frame.shape[:2]
    rb = frame[h // 3:2 * h // 3, :, 2] - frame[h // 3:2 * h // 3, :, 0]  # BGR
    return float(rb[:, w // 4:w // 2].mean() - rb[:, w // 2:3 * w // 4].mean())


def test_a_two_sided_state_lights_the_face_from_either_side(scene: FaceScene) -> None:
    red, blue = (1.0, 0.0, 0.0), (0.0, 0.0, 1.0)
    # red on the person's left lights the image's right side redder, and the other way round
    # (about 20 levels apart on this seed)
    assert _redder_on_image_left(scene, blue, red) > _redder_on_image_left(scene, red, blue) + 8


def test_a_two_sided_session_runs_through_the_whole_chain(
        tmp_path: Path, models_dir: Path, face_pipeline: FacePipeline, scene: FaceScene) -> None:
    """active_liveness.screen_halves on: the flow plans the two-sided challenge, the headless
    screen presents both halves, the camera is lit by them, the recording assembled from the
    presented cues passes the challenge check, and the two-sided model approves the face."""
    cfg = KioskConfig.model_validate({"inference": {"models_dir": str(models_dir)},
                                      "challenge": {"display_delay_s": DELAYS.total},
                                      "active_liveness": {"screen_halves": True}})
    with open_kiosk(cfg, tmp_path / "home", db_key=bytes(range(32)), pipeline=face_pipeline,
                    scratch_key=DeviceKey.generate(device_id="lab-halves-test")) as k:
        factory = _factory(scene, "live", 1)
        run = _run(k, factory, FLASHING_WORKFLOW)
    _verdict_ok(run, LivenessMethod.FLASHING)
    p = run.presentation
    assert p is not None and p.t_end is not None and p.plan.halves
    shown = [s for s in factory.timeline.since(p.t0) if s.rgb_right is not None]
    assert len(shown) == len(p.plan.colours) - 1  # every colour after the neutral lead-in
    v = run.result.verdict if run.result else None
    assert v is not None and v.challenge is not None
    assert "challenge response refused" not in (v.reason or ""), run.summary()
    assert v.status is S.APPROVED, run.summary()
