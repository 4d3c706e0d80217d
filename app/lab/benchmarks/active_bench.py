"""Median analysis time of a 3-second FLASHING recording (simulated, analysed repeatedly)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from app.capture.analyze import analyze_recording
from app.lab.simulation.flash.scene import FaceScene, simulate
from app.lab.simulation.flash.settings import draw_settings
from inference.active.analyzer import ActiveLiveness


def run_active_bench(liveness: ActiveLiveness, face3d: Path, runs: int = 15,
                     count: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """count(analyses done, runs) after each timed analysis."""
    scene = FaceScene(face3d)
    rng = np.random.default_rng(7)
    rec = simulate(scene, "live", "FLASHING", draw_settings("heldout", rng), rng)
    duration = rec.times[-1] - rec.times[0]
    analyze_recording(liveness, rec)  # warm-up
    ms = []
    for _ in range(runs):
        t = time.perf_counter()
        analyze_recording(liveness, rec)
        ms.append(1000 * (time.perf_counter() - t))
        if count is not None:
            count(len(ms), runs)
    return {"recording_seconds": round(duration, 2), "frames": len(rec.frames), "runs": runs,
            "median_ms": round(statistics.median(ms), 1), "max_ms": round(max(ms), 1)}


def format_report(doc: dict[str, Any]) -> str:
    return (f"active liveness (FLASHING): {doc['frames']} frames over "
            f"{doc['recording_seconds']} s, median {doc['median_ms']} ms "
            f"(max {doc['max_ms']} ms, {doc['runs']} runs)")
