"""`poh-lab bench closed-loop`: what the closed-loop simulated camera costs and delivers.

1. Render cost per frame by frame size (the scan's framing kept: the focal length scales with
   the size): a frame at a pose already rendered (the common case: light, sway, camera), a new
   pose (a head turn reaching a pose not rendered ahead), and a re-tinting replay's frame.
2. Delivery at the chosen size: a real CameraThread reads the closed-loop camera at its frame
   rate while the headless screen presents FLASHING plans and the main thread runs the tracking
   path of the real face pipeline on every newest frame (the session worker's load while it
   waits for the challenge): frames delivered per second, frames the camera dropped, hand-overs
   later than the frame clock, and the frame interval.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from app.capture.camera_thread import CameraThread
from app.capture.mailbox import LatestFrameMailbox
from app.capture.plan import make_plan
from app.capture.screen_timeline import ScreenTimeline
from app.lab.kiosk_sim.headless_screen import HeadlessScreen
from app.lab.simulation.closed_loop.camera import ClosedLoopCamera
from app.lab.simulation.closed_loop.factory import sim_capture_factory
from app.lab.simulation.flash.face_scene import FaceScene
from app.lab.simulation.flash.settings import draw_settings
from app.lab.simulation.render3d import Camera
from inference.pipeline import FacePipeline

SIZES = (256, 320, 384, 480)
BASE_SIZE, BASE_FOCAL = 256, 420.0


def _ms(values: list[float]) -> dict[str, float]:
    a = np.asarray(values) * 1000.0
    return {"median": round(float(np.median(a)), 1), "p95": round(float(np.percentile(a, 95)), 1)}


def render_costs(face3d: Path, sizes: tuple[int, ...], frames: int,
                 count: Callable[[int, int], None] | None = None) -> list[dict[str, Any]]:
    """count(frames rendered, frames in all) after each frame."""
    rows: list[dict[str, Any]] = []
    for size in sizes:
        scene = FaceScene(face3d, Camera(size=size, focal=BASE_FOCAL * size / BASE_SIZE))
        rng = np.random.default_rng(size)
        live = ClosedLoopCamera(scene, "live", ScreenTimeline(), draw_settings("tuning", rng),
                                rng)
        retint = ClosedLoopCamera(scene, "retint0", ScreenTimeline(),
                                  draw_settings("tuning", rng), rng)
        new_pose = []
        for yaw in (10.0, 20.0, 30.0):
            t0 = time.perf_counter()
            scene.lit(yaw, 0.0, 45.0)
            new_pose.append(time.perf_counter() - t0)
        cached, replay = [], []
        for i in range(frames):
            t0 = time.perf_counter()
            live.render(float(i) / 15.0)
            cached.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            retint.render(float(i) / 15.0)
            replay.append(time.perf_counter() - t0)
            if count is not None:
                count(len(rows) * frames + i + 1, len(sizes) * frames)
        c = _ms(cached)
        rows.append({"size": size, "cached_pose_ms": c, "new_pose_ms": _ms(new_pose),
                     "retint_ms": _ms(replay),
                     "render_bound_fps": round(1000.0 / max(c["p95"], 1e-3), 1)})
    return rows


def delivery(pipeline: FacePipeline, seconds: float, fps: float, seed: int,
             count: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """count(whole seconds run, seconds) as the run goes."""
    timeline = ScreenTimeline()
    factory = sim_capture_factory(f"sim:live:{seed}", timeline, fps=fps, warm=False)
    screen = HeadlessScreen(timeline)
    box = LatestFrameMailbox()
    lost: list[str] = []
    cam = CameraThread(factory, box, on_lost=lost.append)
    times: list[float] = []
    tracked = 0
    cam.start()
    try:
        t_end = time.monotonic() + seconds
        nonce = 0
        presentation = None
        while time.monotonic() < t_end and not lost:
            if count is not None:
                count(int(seconds - max(0.0, t_end - time.monotonic())), math.ceil(seconds))
            if presentation is None or presentation.done.is_set():
                nonce += 1
                presentation = screen.present(make_plan("FLASHING", nonce.to_bytes(16, "big")))
            frame = box.get(0.2)
            if frame is not None:
                times.append(frame.t)
                pipeline.track(frame.image)
                tracked += 1
        if count is not None:
            count(math.ceil(seconds), math.ceil(seconds))
    finally:
        screen.stop()
        cam.stop()
        cam.join(30.0)
    camera = factory.opened[-1].figures() if factory.opened else {}
    put = box.put_count
    intervals = np.diff(np.asarray(times)) if len(times) > 1 else np.zeros(0)
    return {"seconds": seconds, "fps_asked": fps, "frames_delivered": put,
            "fps_delivered": round(put / seconds, 1), "frames_tracked": tracked,
            "frames_dropped_by_camera": int(camera.get("frames_dropped", 0)),
            "late_handovers": int(camera.get("late_frames", 0)),
            "late_ms_median": round(camera.get("late_ms_median", 0.0), 1),
            "late_ms_max": round(camera.get("late_ms_max", 0.0), 1),
            "render_ms_median": round(camera.get("render_ms_median", float("nan")), 1),
            "render_ms_p95": round(camera.get("render_ms_p95", float("nan")), 1),
            "tracked_interval_ms_median": (round(float(np.median(intervals)) * 1000, 1)
                                           if intervals.size else None),
            "lost": lost[0] if lost else None}


def run_bench(face3d: Path, pipeline: FacePipeline, *, frames: int, seconds: float, fps: float,
              sizes: tuple[int, ...] = SIZES, seed: int = 1,
              progress: Callable[[str], None] | None = None,
              count: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """progress(text) names each phase; count(sizes done, sizes) follows the render costs (the
    delivery run lasts `seconds`)."""
    if progress is not None:
        progress(f"render cost at {', '.join(map(str, sizes))} px")
    costs = render_costs(face3d, sizes, frames, count)
    if progress is not None:
        progress(f"delivery at {BASE_SIZE} px, {fps:g} fps, {seconds:g} s, tracking each frame")
    return {"render": costs, "delivery": delivery(pipeline, seconds, fps, seed, count)}


def format_report(doc: dict[str, Any]) -> str:
    lines = ["closed-loop camera: render cost per frame (ms, median / p95)",
             f"  {'size':>5} {'cached pose':>13} {'new pose':>13} {'retint replay':>14} "
             f"{'render-bound fps':>17}"]
    for r in doc["render"]:
        def mp(d: dict[str, float]) -> str:
            return f"{d['median']:.1f} / {d['p95']:.1f}"
        lines.append(f"  {r['size']:>5} {mp(r['cached_pose_ms']):>13} {mp(r['new_pose_ms']):>13} "
                     f"{mp(r['retint_ms']):>14} {r['render_bound_fps']:>17.1f}")
    d = doc["delivery"]
    lines.append(f"delivery at {BASE_SIZE} px, asked {d['fps_asked']:g} fps for {d['seconds']:g} s "
                 f"with the tracking path on every newest frame and FLASHING plans on screen:")
    lines.append(f"  delivered {d['frames_delivered']} frames ({d['fps_delivered']:.1f} fps), "
                 f"dropped by the camera {d['frames_dropped_by_camera']}, late hand-overs "
                 f"{d['late_handovers']} (by {d['late_ms_median']:.1f} ms median, "
                 f"{d['late_ms_max']:.1f} max), render {d['render_ms_median']:.1f} ms median "
                 f"({d['render_ms_p95']:.1f} p95), tracked {d['frames_tracked']} "
                 f"(interval median {d['tracked_interval_ms_median']} ms)")
    return "\n".join(lines)
