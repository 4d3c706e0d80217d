"""Active liveness on the simulator: BPCER for live trials, APCER per attack species.

FLASHING species: live, print, replay, retint0, retint2; ACTIVE_3D: live, moved_photo.
Settings come from the chosen split's family (app.lab.simulation.flash.settings).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from app.capture.analyze import analyze_recording
from app.lab.simulation.flash.scene import SPECIES_ACTIVE, SPECIES_FLASH, FaceScene, simulate
from app.lab.simulation.flash.settings import Split, draw_settings
from inference.active.analyzer import ActiveLiveness


def evaluate_active(liveness: ActiveLiveness, face3d: Path, split: Split, trials: int,
                    seed: int, on_progress: Callable[[int, int], None] | None = None,
                    room_rgb: tuple[float, float, float] = (1.0, 1.0, 1.0),
                    halves: bool = False) -> dict[str, Any]:
    """room_rgb: colour of the room light for every trial (a stress test; white by default,
    which leaves the drawn settings and the random stream as they were). on_progress: (trials
    done, trials in all) after each trial. halves: two-sided plans."""
    scene = FaceScene(face3d)
    rng = np.random.default_rng(seed)
    plan = [("FLASHING", sp) for sp in ("live", *SPECIES_FLASH)]
    plan += [("ACTIVE_3D", sp) for sp in ("live", *SPECIES_ACTIVE)]
    rows: dict[str, dict[str, Any]] = {}
    t_start = time.perf_counter()
    done = 0
    for method, sp in plan:
        errors = 0
        seen: dict[str, list[float]] = {}
        for _ in range(trials):
            s = dataclasses.replace(draw_settings(split, rng), room_rgb=room_rgb)
            rec = simulate(scene, sp, method, s, rng, halves=halves)
            res = analyze_recording(liveness, rec)
            accepted = res.status == "Approved"
            for k, v in res.figures.get("flash", {}).items():
                seen.setdefault(k, []).append(float(v))
            for a in res.figures.get("actions", []):
                if a.get("parallax") is not None:
                    seen.setdefault("parallax", []).append(float(a["parallax"]))
                seen.setdefault("action_peak", []).append(float(a["peak"]))
            errors += int(accepted != (sp == "live"))
            done += 1
            if on_progress is not None:
                on_progress(done, len(plan) * trials)
        key = f"{method}/{sp}"
        metric = "bpcer" if sp == "live" else "apcer"
        rows[key] = {"method": method, "species": sp, "metric": metric, "errors": errors,
                     "trials": trials, "rate": errors / trials,
                     "figures": {k: _spread(v) for k, v in seen.items() if k != "flash_frames"}}
    return {"split": split, "seed": seed, "trials_per_species": trials,
            "room_light": [round(c, 4) for c in room_rgb], "results": rows,
            "seconds": round(time.perf_counter() - t_start, 1)}


def _spread(values: list[float]) -> dict[str, float]:
    a = np.asarray(values)
    return {"min": round(float(a.min()), 4), "median": round(float(np.median(a)), 4),
            "max": round(float(a.max()), 4)}


def render(doc: dict[str, Any]) -> str:
    room = "" if doc["room_light"] == [1.0, 1.0, 1.0] else (
        ", room light " + "/".join(f"{c:g}" for c in doc["room_light"]))
    lines = [f"active liveness on the simulator ({doc['split']} settings, seed {doc['seed']}"
             f"{room})"]
    for r in doc["results"].values():
        lines.append(f"  {r['method']:<9} {r['species']:<12} {r['metric'].upper()} "
                     f"{100 * r['rate']:5.1f}% ({r['errors']}/{r['trials']})")
    return "\n".join(lines)
