"""Median analysis time of a 3-second FLASHING recording (simulated, analysed repeatedly): a
whole-screen one and a two-sided one (the screen's halves in different colours), interleaved in
the same run, with their ratio."""

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
    recs = []
    for halves in (False, True):
        rng = np.random.default_rng(7)
        recs.append(simulate(scene, "live", "FLASHING", draw_settings("heldout", rng), rng,
                             halves=halves))
    for rec in recs:
        analyze_recording(liveness, rec)  # warm-up
    ms: list[list[float]] = [[], []]
    for i in range(runs):
        for k, rec in enumerate(recs):
            t = time.perf_counter()
            analyze_recording(liveness, rec)
            ms[k].append(1000 * (time.perf_counter() - t))
        if count is not None:
            count(i + 1, runs)
    whole, sides = statistics.median(ms[0]), statistics.median(ms[1])
    rec = recs[0]
    return {"recording_seconds": round(rec.times[-1] - rec.times[0], 2),
            "frames": len(rec.frames), "runs": runs,
            "median_ms": round(whole, 1), "max_ms": round(max(ms[0]), 1),
            "two_sided": {"frames": len(recs[1].frames), "median_ms": round(sides, 1),
                          "max_ms": round(max(ms[1]), 1),
                          "ratio_to_whole": round(sides / whole, 3)}}


def format_report(doc: dict[str, Any]) -> str:
    two = doc["two_sided"]
    return (f"active liveness (FLASHING): {doc['frames']} frames over "
            f"{doc['recording_seconds']} s, median {doc['median_ms']} ms "
            f"(max {doc['max_ms']} ms, {doc['runs']} runs)\n"
            f"two-sided flash: {two['frames']} frames, median {two['median_ms']} ms "
            f"(max {two['max_ms']} ms), {two['ratio_to_whole']:.2f}x the whole screen's")
