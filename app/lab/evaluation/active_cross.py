"""Cross-family check of the flash analysis: collect the analyzer's figures on FLASHING trials of
family A (the 3D-scan simulator, tuning or held-out settings) and family B (the independent
renderer), fit the shape model on one family, report per species on the other, with the
decision the booth makes (inference/active/flash.py, flash_passes).

A trial is accepted when the fixed checks pass (the timing fit, the frame lag, the per-row
timing bound on row_fit, the strength and the colour bound on tint_camera: thresholds the booth
ships, not refitted per family) and the shape model's logit clears its threshold. The shape
model is the passive fusion's standardised logistic regression over mesh_r2, mesh_partial,
dense_r2 and dense_partial (inference/active/shape.py), class-balanced, fitted on the trials of
the fitting family that pass every other check; its threshold is the logit midpoint between the
lowest live and the highest attack there. The relief is reported, not used: it is the figure
that did not carry from one renderer to the other. So is the sub-frame lag (row_lag): a bound
at twice the fitting family's largest live value stopped nothing of B's fitted on A and, fitted
on B, declined 29 of 50 held-out live faces of A, whose global-shutter estimate spreads wider.
`write_model` turns a fit into the file the booth ships.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from app.capture.analyze import analyze_recording
from inference.active.analyzer import ActiveLiveness
from inference.active.flash import FlashThresholds
from inference.active.shape_model import FEATURES, SIDE_FEATURES, ShapeModel
from inference.passive.fusion import fit_logistic

FIXED_CHECKS = ("fit", "lag", "strength")


def collect_a(liveness: ActiveLiveness, face3d: Path, split: str, trials: int, seed: int,
              on_progress: Callable[[int, int], None] | None = None,
              halves: bool = False) -> list[dict[str, Any]]:
    from app.lab.simulation.flash.scene import SPECIES_FLASH, FaceScene, simulate
    from app.lab.simulation.flash.settings import draw_settings

    scene = FaceScene(face3d)
    rng = np.random.default_rng(seed)
    rows = []
    for sp in ("live", *SPECIES_FLASH):
        for _ in range(trials):
            s = draw_settings("heldout" if split == "heldout" else "tuning", rng)
            rows.append(_row("a", sp, analyze_recording(liveness, simulate(
                scene, sp, "FLASHING", s, rng, halves=halves)).figures))
            _tick(on_progress, len(rows), (1 + len(SPECIES_FLASH)) * trials)
    return rows


def collect_b(liveness: ActiveLiveness, portraits: Path, trials: int, seed: int,
              on_progress: Callable[[int, int], None] | None = None,
              halves: bool = False) -> list[dict[str, Any]]:
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
            rec = simulate_b(person.portrait, surf, sp, draw_settings_b(rng), rng,
                             halves=halves)
            rows.append(_row("b", sp, analyze_recording(liveness, rec).figures))
            _tick(on_progress, len(rows), (1 + len(SPECIES_B)) * trials)
    return rows


def _tick(cb: Callable[[int, int], None] | None, done: int, total: int) -> None:
    if cb is not None:
        cb(done, total)


def _row(family: str, species: str, figures: dict[str, Any]) -> dict[str, Any]:
    return {"family": family, "species": species, "flash": figures.get("flash", {}),
            "checks": figures.get("checks", {})}


def features(row: dict[str, Any], names: tuple[str, ...] = FEATURES) -> np.ndarray:
    f = row["flash"]
    return np.array([float(f.get(k, 0.0)) for k in names])


def fixed_pass(row: dict[str, Any]) -> bool:
    """The checks whose thresholds the booth ships as they are: timing fit, frame lag, strength
    (from the row's own checks), the per-row timing fit and the colour bound on tint_camera (from
    the figures, so that files collected before those bounds are judged the same way)."""
    c, f, th = row["checks"], row["flash"], FlashThresholds()
    return (bool(c) and all(bool(c.get(k, False)) for k in FIXED_CHECKS)
            and "tint_camera" in f and float(f["tint_camera"]) <= th.max_tint
            and float(f.get("row_fit", 0.0)) >= th.min_row_fit)


def fit_model(rows: list[dict[str, Any]], names: tuple[str, ...] = FEATURES) -> dict[str, Any]:
    """The shape model fitted on one family's rows (names: SIDE_FEATURES for two-sided
    plans)."""
    use = [r for r in rows if fixed_pass(r)]
    y = np.array([1 if r["species"] == "live" else 0 for r in use])
    x = np.stack([features(r, names) for r in use])
    lin = fit_logistic(x, y, names)
    s = lin.logits(x)
    live_min, att_max = float(s[y == 1].min()), float(s[y == 0].max())
    return {"shape": ShapeModel(lin, (live_min + att_max) / 2, {}), "fit_live_min": live_min,
            "fit_attack_max": att_max, "fit_trials": len(rows)}


def score(model: dict[str, Any], row: dict[str, Any]) -> float:
    """The shape logit minus the threshold (>= 0 passes)."""
    shape: ShapeModel = model["shape"]
    return shape.margin(row["flash"])


def apply_model(model: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per species: accepted with the model (and, for comparison, by the checks the analyzer
    made when the figures were collected), and the closest score that reached the shape check
    (live: the lowest; an attack: the highest)."""
    out: dict[str, Any] = {}
    for sp in dict.fromkeys(r["species"] for r in rows):
        rs = [r for r in rows if r["species"] == sp]
        shipped = [bool(r["checks"]) and all(r["checks"].values()) for r in rs]
        reach = [score(model, r) for r in rs if fixed_pass(r)]  # the rows the shape decides
        out[sp] = {"trials": len(rs), "accepted": sum(1 for s in reach if s >= 0.0),
                   "accepted_as_collected": int(sum(shipped)),
                   "closest": (min(reach) if sp == "live" else max(reach)) if reach else None}
    return out


def render_cross(doc: dict[str, Any]) -> str:
    lines = []
    for key, res in doc["cross"].items():
        m = doc["models"][key.split("->")[0]]
        lines.append(f"{key}: shape threshold {m['threshold']:.3f} (fit: lowest live "
                     f"{m['fit_live_min']:.3f}, highest attack {m['fit_attack_max']:.3f})")
        for sp, r in res.items():
            what = "declined" if sp == "live" else "accepted"
            n_err = r["trials"] - r["accepted"] if sp == "live" else r["accepted"]
            n_old = (r["trials"] - r["accepted_as_collected"] if sp == "live"
                     else r["accepted_as_collected"])
            closest = "-" if r["closest"] is None else f"{r['closest']:+.3f}"
            lines.append(f"  {sp:<10} {what} {n_err}/{r['trials']}  (as collected: {n_old}/"
                         f"{r['trials']})  closest margin {closest}")
    return "\n".join(lines)


def _summary(model: dict[str, Any]) -> dict[str, Any]:
    shape: ShapeModel = model["shape"]
    return {"threshold": shape.threshold, "fit_live_min": model["fit_live_min"],
            "fit_attack_max": model["fit_attack_max"], "model": shape.model.to_json()}


def cross_family(rows_a: list[dict[str, Any]], rows_b: list[dict[str, Any]],
                 names: tuple[str, ...] = FEATURES) -> dict[str, Any]:
    models = {"a": fit_model(rows_a, names), "b": fit_model(rows_b, names)}
    return {"models": {k: _summary(m) for k, m in models.items()},
            "cross": {"a->b": apply_model(models["a"], rows_b),
                      "b->a": apply_model(models["b"], rows_a),
                      "a->a": apply_model(models["a"], rows_a),
                      "b->b": apply_model(models["b"], rows_b)}}


def write_model(rows: list[dict[str, Any]], provenance: dict[str, Any], path: Path,
                names: tuple[str, ...] = FEATURES) -> ShapeModel:
    """Fit on one family's rows and write the booth's shape model file."""
    m = fit_model(rows, names)
    shape = ShapeModel(m["shape"].model, m["shape"].threshold,
                       {**provenance, "fit_live_min": round(m["fit_live_min"], 4),
                        "fit_attack_max": round(m["fit_attack_max"], 4)})
    path.write_text(json.dumps(shape.to_json(), indent=1) + "\n", encoding="utf-8")
    return shape


def feature_names(docs: list[dict[str, Any]]) -> tuple[str, ...]:
    """The shape model's figures for these figures files: all two-sided or all whole-screen."""
    kinds = {bool(d.get("halves", False)) for d in docs}
    if len(kinds) != 1:
        raise ValueError("figures files mix two-sided and whole-screen plans")
    return SIDE_FEATURES if kinds.pop() else FEATURES
