"""Speed of the face pipeline on real faces: per stage, end to end, the passive check, and the
frame rate two worker threads sustain on the machine's cores.

Frames: the colour portraits resized so their longer side is `max_side` pixels (a kiosk camera
frame), and ORL faces prepared as the evaluation does (x3 upscale and a border), in turn until
`frames` frames. Every figure is wall-clock time on whatever else the machine is doing.
"""

from __future__ import annotations

import importlib
import logging
import os
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import cv2
import numpy as np

from app.lab.datasets import colour_dir, orl_dir
from inference.pipeline import STAGES, FacePipeline, PipelineConfig, prepare_tight_face
from inference.types import FaceAnalysis

log = logging.getLogger(__name__)

T = TypeVar("T")

TARGET_PASSIVE_MS = 150.0
TARGET_TRACK_FPS = 30.0


@dataclass(frozen=True)
class Stat:
    median: float
    p95: float
    n: int

    def to_dict(self) -> dict[str, float]:
        return {"median": round(self.median, 2), "p95": round(self.p95, 2), "n": self.n}


def stat(values: list[float]) -> Stat:
    if not values:
        return Stat(float("nan"), float("nan"), 0)
    return Stat(statistics.median(values), float(np.percentile(values, 95)), len(values))


def load_frames(data_dir: Path, n: int, max_side: int = 640) -> list[np.ndarray]:
    """`n` BGR frames of real faces, alternating colour portraits and prepared ORL faces."""
    colour = []
    for p in sorted(colour_dir(data_dir).glob("*")):
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is None:
            continue
        scale = max_side / max(img.shape[:2])
        if scale < 1.0:
            img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        colour.append(img)
    orl = []
    for p in sorted(orl_dir(data_dir).glob("s*/*.pgm")):
        grey = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
        if grey is not None:
            orl.append(grey)
    if not colour or not orl:
        raise FileNotFoundError(f"no sample faces under {data_dir}: run `poh data fetch`")
    frames: list[np.ndarray] = []
    step = max(1, len(orl) // max(1, n))
    i_orl = 0
    while len(frames) < n:
        if len(frames) % 4 == 0:
            frames.append(colour[(len(frames) // 4) % len(colour)])
        else:
            frames.append(prepare_tight_face(orl[(i_orl * step) % len(orl)]))
            i_orl += 1
    return frames


def _quality_fn() -> Callable[[np.ndarray, FaceAnalysis, int], object] | None:
    """inference.quality.assess_quality with its default config, when that module exists."""
    try:
        quality = importlib.import_module("inference.quality")
    except ImportError:
        return None
    config = quality.QualityConfig()

    def run(frame: np.ndarray, face: FaceAnalysis, n_faces: int) -> object:
        return quality.assess_quality(frame, face, n_faces, config)

    return run


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


def _cpu_ms(c0: float) -> float:
    return (time.process_time() - c0) * 1000.0


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _throughput(models_dir: Path, frames: list[np.ndarray], workers: int, seconds: float,
                threads_per_model: int) -> float:
    """Full-analysis frames per second with `workers` threads, each owning a pipeline."""
    pipelines = [FacePipeline(PipelineConfig(models_dir=models_dir, threads=threads_per_model))
                 for _ in range(workers)]
    for p in pipelines:
        p.analyze(frames[0])
    counts = [0] * workers
    stop = threading.Event()

    def work(k: int) -> None:
        i = k
        while not stop.is_set():
            pipelines[k].analyze(frames[i % len(frames)])
            counts[k] += 1
            i += workers

    threads = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(workers)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - t0)


class _Timed:
    """Wall and process-CPU milliseconds of repeated runs of one path."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def run(self, fn: Callable[[], T]) -> T:
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        self.wall.append(_ms(t))
        self.cpu.append(_cpu_ms(c))
        return out


def run_bench(models_dir: Path, data_dir: Path, *, frames: int = 120, max_side: int = 640,
              throughput_seconds: float = 10.0,
              progress: Callable[[str], None] | None = None,
              count: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Figures of the default pipeline, which runs its stages one after the other; the passive
    check is also timed, interleaved, on a pipeline that overlaps anti-spoofing with the other
    stages (PipelineConfig.overlap_antispoof), to compare. progress(text) names each phase,
    count(frames done, frames) follows the timed loops."""
    say = progress or (lambda _msg: None)
    tick = count or (lambda _done, _total: None)
    load_before = _load()
    imgs = load_frames(data_dir, frames, max_side)
    say(f"compiling the pipelines; {len(imgs)} frames")
    t0 = time.perf_counter()
    pipeline = FacePipeline(PipelineConfig(models_dir=models_dir))
    startup_ms = _ms(t0)
    overlapped = FacePipeline(PipelineConfig(models_dir=models_dir, overlap_antispoof=True))
    quality = _quality_fn()
    for img in imgs[:3]:  # first calls allocate buffers
        pipeline.analyze(img)
        overlapped.analyze(img)

    def passive(p: FacePipeline, img: np.ndarray) -> None:
        res = p.analyze(img, age=False)
        if quality is not None and res.faces:
            quality(img, res.faces[0], len(res.faces))

    per_stage: dict[str, list[float]] = {s: [] for s in (*STAGES, "pose", "blendshapes")}
    per_stage["quality"] = []
    full, passive_seq, passive_overlap, track = _Timed(), _Timed(), _Timed(), _Timed()
    no_face = 0
    say("per stage, end to end, passive check (detect, landmarks, quality, anti-spoof, embed)")
    for i, img in enumerate(imgs):
        res = full.run(partial(pipeline.analyze, img))
        for k, v in res.timings_ms.items():
            if k in per_stage:
                per_stage[k].append(v)
        if quality is not None and res.faces:
            tq = time.perf_counter()
            quality(img, res.faces[0], len(res.faces))
            per_stage["quality"].append(_ms(tq))
        no_face += not res.faces
        passive_seq.run(partial(passive, pipeline, img))
        passive_overlap.run(partial(passive, overlapped, img))
        tick(i + 1, len(imgs))
    say("detect + landmarks (track) per frame")
    for i, img in enumerate(imgs):
        track.run(partial(pipeline.track, img))
        tick(i + 1, len(imgs))

    one = two = float("nan")
    if throughput_seconds > 0:
        say(f"throughput: 1 and 2 worker threads, {throughput_seconds:.0f} s each")
        one = _throughput(models_dir, imgs, 1, throughput_seconds, 0)
        two = _throughput(models_dir, imgs, 2, throughput_seconds, 1)

    passive_stat = stat(passive_seq.wall)
    track_stat = stat(track.wall)
    track_fps = 1000.0 / track_stat.median if track_stat.median > 0 else 0.0
    return {
        "frames": len(imgs),
        "frames_without_face": no_face,
        "frame_max_side": max_side,
        "startup_ms": round(startup_ms, 1),
        "precisions": pipeline.precisions(),
        "cpu_count": os.cpu_count(),
        "load_average_before_after": [load_before, _load()],
        "stages_ms": {k: stat(v).to_dict() for k, v in per_stage.items() if v},
        "quality_timed": quality is not None,
        "end_to_end_ms": stat(full.wall).to_dict(),
        "end_to_end_cpu_ms": stat(full.cpu).to_dict(),
        "passive_check_ms": passive_stat.to_dict(),
        "passive_check_cpu_ms": stat(passive_seq.cpu).to_dict(),
        "passive_check_overlapped_ms": stat(passive_overlap.wall).to_dict(),
        "detect_landmarks_ms": track_stat.to_dict(),
        "detect_landmarks_cpu_ms": stat(track.cpu).to_dict(),
        "detect_landmarks_fps": round(track_fps, 1),
        "throughput_fps": {"one_worker": round(one, 2), "two_workers": round(two, 2)},
        "targets": {
            "passive_check_median_ms": TARGET_PASSIVE_MS,
            "passive_check_met": passive_stat.median <= TARGET_PASSIVE_MS,
            "detect_landmarks_fps": TARGET_TRACK_FPS,
            "detect_landmarks_met": track_fps >= TARGET_TRACK_FPS,
        },
    }


def format_report(r: dict[str, Any]) -> str:
    lines = [f"{r['frames']} frames (colour portraits at <= {r['frame_max_side']} px and "
             f"upscaled ORL faces), {r['frames_without_face']} without a face; "
             f"start-up {r['startup_ms']:.0f} ms",
             f"{r['cpu_count']} CPUs, load average (1/5/15 min) before "
             f"{r['load_average_before_after'][0]}, after {r['load_average_before_after'][1]}: "
             "wall times include whatever else the machine ran",
             f"{'stage':<14}{'median ms':>10}{'p95 ms':>10}"]
    for k, s in r["stages_ms"].items():
        lines.append(f"{k:<14}{s['median']:>10.1f}{s['p95']:>10.1f}")
    if not r["quality_timed"]:
        lines.append("quality: inference.quality not importable, not timed")
    for key, label in (("end_to_end_ms", "end to end"), ("passive_check_ms", "passive check"),
                       ("detect_landmarks_ms", "detect+landmarks")):
        s = r[key]
        cpu = r[key.replace("_ms", "_cpu_ms")]
        lines.append(f"{label:<17} median {s['median']:.1f} ms, p95 {s['p95']:.1f} ms "
                     f"(process CPU time median {cpu['median']:.1f} ms)")
    ovl = r["passive_check_overlapped_ms"]
    lines.append(f"passive check with anti-spoofing overlapped: median {ovl['median']:.1f} ms, "
                 f"p95 {ovl['p95']:.1f} ms")
    t = r["targets"]
    lines.append(f"detect+landmarks rate {r['detect_landmarks_fps']:.1f} fps "
                 f"(target >= {t['detect_landmarks_fps']:.0f}: "
                 f"{'met' if t['detect_landmarks_met'] else 'NOT met'})")
    lines.append(f"passive check target <= {t['passive_check_median_ms']:.0f} ms median: "
                 f"{'met' if t['passive_check_met'] else 'NOT met'}")
    tp = r["throughput_fps"]
    lines.append(f"full-analysis throughput: {tp['one_worker']:.2f} fps with one worker, "
                 f"{tp['two_workers']:.2f} fps with two worker threads (one per core)")
    return "\n".join(lines)
