"""Active liveness (FLASHING) on evaluation family B (app/lab/simulation/family_b): the renderer
written apart from the tuning simulator. Species: live (BPCER), print, replay (passive screen),
retint (a replay re-tinting itself in sync, no lag). Each trial draws a portrait, its own or a
swapped geometry, and family B's settings."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from app.capture.analyze import analyze_recording
from app.lab.simulation.family_b.render import SPECIES_B, simulate_b
from app.lab.simulation.family_b.settings import draw_settings_b
from app.lab.simulation.family_b.sources import load_people
from inference.active.analyzer import ActiveLiveness


def evaluate_active_b(liveness: ActiveLiveness, portraits: Path, trials: int, seed: int,
                      on_progress: Callable[[int, int], None] | None = None,
                      halves: bool = False) -> dict[str, Any]:
    people = load_people(liveness.fp, portraits)
    rng = np.random.default_rng(seed)
    rows: dict[str, dict[str, Any]] = {}
    t_start = time.perf_counter()
    for sp in ("live", *SPECIES_B):
        errors = 0
        seen: dict[str, list[float]] = {}
        trial_rows: list[dict[str, Any]] = []
        for _ in range(trials):
            person = people[int(rng.integers(len(people)))]
            geometry = int(rng.integers(len(person.surfaces)))
            rec = simulate_b(person.portrait, person.surfaces[geometry], sp,
                             draw_settings_b(rng), rng, halves=halves)
            res = analyze_recording(liveness, rec)
            accepted = res.status == "Approved"
            flash = res.figures.get("flash", {})
            for k, v in flash.items():
                seen.setdefault(k, []).append(float(v))
            trial_rows.append({"portrait": person.portrait.name,
                               "geometry": ("own", "swap")[geometry], "accepted": accepted,
                               "flash": flash, "checks": res.figures.get("checks", {})})
            errors += int(accepted != (sp == "live"))
            if on_progress is not None:  # (trials done, trials in all)
                on_progress(len(trial_rows) + len(rows) * trials, (1 + len(SPECIES_B)) * trials)
        metric = "bpcer" if sp == "live" else "apcer"
        rows[f"FLASHING/{sp}"] = {
            "method": "FLASHING", "species": sp, "metric": metric, "errors": errors,
            "trials": trials, "rate": errors / trials, "trials_detail": trial_rows,
            "figures": {k: _spread(v) for k, v in seen.items() if k != "flash_frames"}}
    return {"family": "b", "split": "family-b", "seed": seed, "trials_per_species": trials,
            "room_light": [1.0, 1.0, 1.0], "results": rows,
            "seconds": round(time.perf_counter() - t_start, 1)}


def _spread(values: list[float]) -> dict[str, float]:
    a = np.asarray(values)
    return {"min": round(float(a.min()), 4), "median": round(float(np.median(a)), 4),
            "max": round(float(a.max()), 4)}


def render_b(doc: dict[str, Any]) -> str:
    lines = [f"active liveness on evaluation family B (seed {doc['seed']})"]
    for r in doc["results"].values():
        dense = r["figures"].get("dense_r2", {})
        lines.append(f"  {r['method']:<9} {r['species']:<12} {r['metric'].upper()} "
                     f"{100 * r['rate']:5.1f}% ({r['errors']}/{r['trials']})"
                     f"  dense_r2 {dense.get('min', 0):.3f}-{dense.get('max', 0):.3f}")
    return "\n".join(lines)
