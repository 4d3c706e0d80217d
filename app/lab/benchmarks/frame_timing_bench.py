"""`poh-lab bench frame-timing`: what the frame-timing check sees of synthetic sources here.

A fake camera whose read() is paced by sleep (to a deadline, as ffmpeg -re or a frame
generator does; or by sleeping one period after each frame) runs on the kiosk's real camera
thread, which stamps each frame with time.monotonic() after the read; a reader takes the
newest frame from the latest-only mailbox as the session worker does, either doing nothing,
running the face tracking path on each frame (the kiosk's load, contending for the GIL), or
beside a busy Python thread. Each run's (seq, t) go through the analyser; the table shows the
median interval deviation that the "too regular" limit (0.05 ms) is compared with. No real
camera is here: that side of the threshold rests on the README's reasoning.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from app.capture.camera_thread import CameraThread
from app.capture.frame_timing import analyse_frame_times
from app.capture.mailbox import LatestFrameMailbox
from inference.pipeline import FacePipeline

Progress = Callable[[str], None]


class PacedCamera:
    """cv2.VideoCapture's read/release/isOpened, paced by sleep like a software feed."""

    def __init__(self, image: np.ndarray, fps: float, frames: int, deadline: bool) -> None:
        self.image, self.period, self.frames, self.deadline = image, 1.0 / fps, frames, deadline
        self.reads = 0
        self.t0 = time.monotonic()
        self.done = threading.Event()  # set by the reader: the run is over
        self._open = True

    def read(self) -> tuple[bool, Any]:
        if self.reads >= self.frames:
            self.done.wait(10.0)  # no "camera lost": the reader stops the thread first
            return False, None
        self.reads += 1
        if self.deadline:
            wait = self.t0 + self.reads * self.period - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        else:
            time.sleep(self.period)
        return True, self.image

    def release(self) -> None:
        self._open = False

    def isOpened(self) -> bool:  # OpenCV's name
        return self._open


def _busy(stop: threading.Event) -> None:
    x = 0
    while not stop.is_set():
        for i in range(2000):
            x += i * i


def one_run(image: np.ndarray, *, fps: float, frames: int, deadline: bool, load: str,
            pipeline: FacePipeline | None) -> dict[str, Any]:
    mailbox = LatestFrameMailbox()
    fake = PacedCamera(image, fps, frames, deadline)
    camera = CameraThread(lambda: fake, mailbox, on_lost=lambda _reason: mailbox.close(),
                          max_failures=1)
    stop = threading.Event()
    busy = threading.Thread(target=_busy, args=(stop,), daemon=True)
    if load == "python thread":
        busy.start()
    seqs: list[int] = []
    times: list[float] = []
    camera.start()
    try:
        while True:
            frame = mailbox.get(2.0)
            if frame is None:
                break
            seqs.append(frame.seq)
            times.append(frame.t)
            if frame.seq >= frames - 1:
                break
            if load == "face tracking" and pipeline is not None:
                pipeline.track(frame.image)
    finally:
        stop.set()
        camera.stop()
        fake.done.set()
        camera.join(10.0)
    rep = analyse_frame_times(seqs, times, fps)
    return {"source": "deadline sleep" if deadline else "sleep per frame", "load": load,
            "frames_seen": len(seqs), "camera_frames": rep.frames + 1 if seqs else 0,
            "period_ms": rep.period_ms, "deviation_ms": rep.deviation_ms,
            "flagged": [p.split(":")[0] for p in rep.problems]}


def run_bench(image: np.ndarray, pipeline: FacePipeline | None, *, fps: float = 30.0,
              frames: int = 150, repeats: int = 2,
              progress: Progress = lambda _m: None,
              count: Callable[[int, int], None] = lambda _done, _total: None
              ) -> dict[str, Any]:
    """progress(text) names each run; count(runs done, runs) after each."""
    rows: list[dict[str, Any]] = []
    loads = ["none", "python thread"] + (["face tracking"] if pipeline is not None else [])
    for deadline in (True, False):
        for load in loads:
            for _ in range(repeats):
                progress(f"{'deadline' if deadline else 'per-frame'} sleep, load {load}")
                rows.append(one_run(image, fps=fps, frames=frames, deadline=deadline,
                                    load=load, pipeline=pipeline))
                count(len(rows), 2 * len(loads) * repeats)
    return {"fps": fps, "frames": frames, "load_average": [round(x, 2)
                                                           for x in os.getloadavg()],
            "limit_ms": 0.05, "rows": rows}


def format_report(r: dict[str, Any]) -> str:
    lines = [f"Synthetic {r['fps']:g} fps sources through the camera thread, {r['frames']} "
             f"frames each (load average {r['load_average']}); too regular below "
             f"{r['limit_ms']} ms", "",
             f"{'source':16} {'load':14} {'seen':>5} {'period ms':>10} {'deviation ms':>13}  "
             f"flagged"]
    for row in r["rows"]:
        lines.append(f"{row['source']:16} {row['load']:14} {row['frames_seen']:5d} "
                     f"{row['period_ms'] or 0:10.3f} {row['deviation_ms'] or 0:13.4f}  "
                     f"{', '.join(row['flagged']) or '-'}")
    return "\n".join(lines)
