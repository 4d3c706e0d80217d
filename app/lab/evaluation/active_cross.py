"""Cross-family check of the flash analysis: collect the analyzer's figures on FLASHING trials of
family A (the 3D-scan simulator, tuning or held-out settings) and family B (the independent
renderer), fit a small calibrated model on one family, report per species on the other.

The model replaces the relief and colour checks: a trial is accepted when the shipped timing
and strength checks pass, the colour spread in the camera's own colour space (tint_camera,
inference/active/colour.py) is below the fitting family's threshold, and the model's shape
score clears its threshold. Shape features: mesh_r2 (how much of the answer's pattern the
person's own mesh normals explain) and mesh_partial (what they explain beyond the picture's
level and colour, inference/active/shape.py). The relief is left out: it is the figure that
did not carry from one renderer to the other. Logistic regression (L2, Newton steps); the
threshold is the logit midpoint between the lowest live and the highest attack score on the
fitting family (as the shipped relief threshold is the midpoint of its tuning figures); the
colour threshold is the geometric midpoint between the fitting family's highest live and
lowest passive-replay tint_camera.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from app.capture.analyze import analyze_recording
from inference.active.analyzer import ActiveLiveness

FEATURES = ("mesh_r2", "mesh_partial")
OTHER_CHECKS = ("fit", "lag", "strength")
COLOUR = "tint_camera"
SHIPPED_MAX_TINT = 0.5


def collect_a(liveness: ActiveLiveness, face3d: Path, split: str, trials: int, seed: int,
              on_progress: Callable[[int, int], None] | None = None) -> list[dict[str, Any]]:
    from app.lab.simulation.flash.scene import SPECIES_FLASH, FaceScene, simulate
    from app.lab.simulation.flash.settings import draw_settings

    scene = FaceScene(face3d)
    rng = np.random.default_rng(seed)
    rows = []
    for sp in ("live", *SPECIES_FLASH):
        for _ in range(trials):
            s = draw_settings("heldout" if split == "heldout" else "tuning", rng)
            rows.append(_row("a", sp, analyze_recording(liveness, simulate(
                scene, sp, "FLASHING", s, rng)).figures))
            _tick(on_progress, len(rows), (1 + len(SPECIES_FLASH)) * trials)
    return rows


def collect_b(liveness: ActiveLiveness, portraits: Path, trials: int, seed: int,
              on_progress: Callable[[int, int], None] | None = None) -> list[dict[str, Any]]:
    from app.lab.simulation.family_b.render import SPECIES_B, simulate_b
    from app.lab.simulation.family_b.settings import draw_settings_b
    from app.lab.simulation.family_b.sources import load_people

    people = load_people(liveness.fp, portraits)
    rng = np.random.default_rng(seed)
    rows = []
    for sp in ("live", *SPECIES_B):
        for _ in range(trials):
            person = people[int(rng.integers(len(people)))]
            surf = person.surfaces[int(rng.integers(len(person.surfaces)))]
            rec = simulate_b(person.portrait, surf, sp, draw_settings_b(rng), rng)
            rows.append(_row("b", sp, analyze_recording(liveness, rec).figures))
            _tick(on_progress, len(rows), (1 + len(SPECIES_B)) * trials)
    return rows


def _tick(cb: Callable[[int, int], None] | None, done: int, total: int) -> None:
    if cb is not None:
        cb(done, total)


def _row(family: str, species: str, figures: dict[str, Any]) -> dict[str, Any]:
    return {"family": family, "species": species, "flash": figures.get("flash", {}),
            "checks": figures.get("checks", {})}


def features(row: dict[str, Any]) -> np.ndarray:
    f = row["flash"]
    return np.array([float(f.get(k, 0.0)) for k in FEATURES])


def colour_ok(row: dict[str, Any], model: dict[str, Any] | None) -> bool:
    """The colour check: the model's threshold on tint_camera, or the shipped check when the
    row has no such figure (figures saved before it existed)."""
    f = row["flash"]
    if model is None or COLOUR not in f:
        return bool(row["checks"].get("colour", False))
    return float(f[COLOUR]) <= float(model["max_tint_camera"])


def timing_strength_pass(row: dict[str, Any]) -> bool:
    c = row["checks"]
    return bool(c) and all(bool(c.get(k, False)) for k in OTHER_CHECKS)


def others_pass(row: dict[str, Any], model: dict[str, Any] | None = None) -> bool:
    return timing_strength_pass(row) and colour_ok(row, model)


def colour_threshold(rows: list[dict[str, Any]]) -> float:
    """Geometric midpoint between the highest live and the lowest passive-replay tint_camera
    of the fitting family (the rows that pass timing and strength for the live side); the
    shipped threshold when either side is missing or they overlap."""
    live = [float(r["flash"][COLOUR]) for r in rows if r["species"] == "live"
            and COLOUR in r["flash"] and timing_strength_pass(r)]
    replay = [float(r["flash"][COLOUR]) for r in rows if r["species"] == "replay"
              and COLOUR in r["flash"] and r["flash"].get("flash_frames")]
    if not live or not replay or max(live) >= min(replay):
        return SHIPPED_MAX_TINT
    return math.sqrt(max(max(live), 1e-6) * min(replay))


def fit_model(rows: list[dict[str, Any]], l2: float = 1e-2) -> dict[str, Any]:
    """Logistic model live vs attack on the rows whose other checks pass (the attacks the
    model has to stop), standardised features; threshold at the score midpoint."""
    max_tint = colour_threshold(rows)
    use = [r for r in rows if others_pass(r, {"max_tint_camera": max_tint})]
    x = np.stack([features(r) for r in use])
    y = np.array([1.0 if r["species"] == "live" else 0.0 for r in use])
    mu, sd = x.mean(0), np.maximum(x.std(0), 1e-6)
    z = np.hstack([np.ones((len(x), 1)), (x - mu) / sd])
    w = np.zeros(z.shape[1])
    # class-balanced weights: live and attack rows count alike
    cw = np.where(y > 0, 0.5 / max(y.sum(), 1), 0.5 / max((1 - y).sum(), 1))
    for _ in range(50):
        p = 1 / (1 + np.exp(-z @ w))
        g = z.T @ (cw * (p - y)) + l2 * np.r_[0, w[1:]]
        h = (z * (cw * p * (1 - p))[:, None]).T @ z + l2 * np.diag(np.r_[0, np.ones(len(w) - 1)])
        w = w - np.linalg.solve(h, g)
    s = z @ w
    live_min = float(s[y > 0].min()) if (y > 0).any() else 0.0
    att_max = float(s[y == 0].max()) if (y == 0).any() else 0.0
    return {"features": list(FEATURES), "mean": mu.tolist(), "scale": sd.tolist(),
            "weights": w.tolist(), "threshold": (live_min + att_max) / 2,
            "fit_live_min": live_min, "fit_attack_max": att_max, "max_tint_camera": max_tint}


def score(model: dict[str, Any], row: dict[str, Any]) -> float:
    z = (features(row) - np.asarray(model["mean"])) / np.asarray(model["scale"])
    w = np.asarray(model["weights"])
    return float(w[0] + z @ w[1:])


def apply_model(model: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per species: accepted with the model (and, for comparison, by the shipped checks)."""
    out: dict[str, Any] = {}
    for sp in dict.fromkeys(r["species"] for r in rows):
        rs = [r for r in rows if r["species"] == sp]
        sc = [score(model, r) for r in rs]
        acc = [others_pass(r, model) and s >= model["threshold"]
               for r, s in zip(rs, sc, strict=True)]
        shipped = [bool(r["checks"]) and all(r["checks"].values()) for r in rs]
        reach = [s for r, s in zip(rs, sc, strict=True) if others_pass(r, model)]
        out[sp] = {"trials": len(rs), "accepted": int(sum(acc)),
                   "accepted_shipped": int(sum(shipped)),
                   "closest": (min(reach) if sp == "live" else max(reach)) if reach else None}
    return out


def render_cross(doc: dict[str, Any]) -> str:
    lines = []
    for key, res in doc["cross"].items():
        m = doc["models"][key.split("->")[0]]
        lines.append(f"{key}: threshold {m['threshold']:.3f}, tint_camera at most "
                     f"{m['max_tint_camera']:.3f}")
        for sp, r in res.items():
            what = "declined" if sp == "live" else "accepted"
            n_err = r["trials"] - r["accepted"] if sp == "live" else r["accepted"]
            n_old = (r["trials"] - r["accepted_shipped"] if sp == "live"
                     else r["accepted_shipped"])
            closest = "-" if r["closest"] is None else f"{r['closest']:.3f}"
            lines.append(f"  {sp:<10} model {what} {n_err}/{r['trials']}  shipped {what} "
                         f"{n_old}/{r['trials']}  closest score {closest}")
    return "\n".join(lines)


def cross_family(rows_a: list[dict[str, Any]], rows_b: list[dict[str, Any]]) -> dict[str, Any]:
    models = {"a": fit_model(rows_a), "b": fit_model(rows_b)}
    return {"models": models,
            "cross": {"a->b": apply_model(models["a"], rows_b),
                      "b->a": apply_model(models["b"], rows_a),
                      "a->a": apply_model(models["a"], rows_a),
                      "b->b": apply_model(models["b"], rows_b)}}
