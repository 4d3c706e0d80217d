"""The flash answer's shape check: a small calibrated model over the shape figures.

Four figures say how much of the flash answer's pattern (K/A) this person's own mesh explains:
over the mesh's points and over every face pixel, each alone and beyond what the picture
itself explains (inference/active/shape.py). A standardised logistic model (the passive
fusion's, inference/passive/fusion.py) turns them into one logit; the check passes at or above
the model's threshold. The shipped model is fitted on the tuning family only and reported on the
other (`poh-lab eval active-cross`, docs/accuracy.md, Active liveness across families).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assets import asset_path
from inference.passive.fusion import LinearModel

SHAPE_MODEL_PATH = asset_path("liveness", "flash_shape.json")
FEATURES = ("mesh_r2", "mesh_partial", "dense_r2", "dense_partial")
# A two-sided flash (the screen's halves in different colours) has a check of its own: how
# strongly and how much of the left-minus-right answer follows the mesh's n_x
# (inference/active/shape.py, side_answer), a model of the same kind in its own file.
SIDES_MODEL_PATH = asset_path("liveness", "flash_sides.json")
SIDE_FEATURES = ("side_slope", "side_partial")


@dataclass(frozen=True)
class ShapeModel:
    model: LinearModel
    threshold: float  # logit at which the check passes
    provenance: dict[str, Any]

    def margin(self, figures: dict[str, float]) -> float:
        """Logit minus the threshold: >= 0 passes."""
        x = np.array([float(figures.get(n, 0.0)) for n in self.model.names], np.float64)
        return float(self.model.logits(x)) - self.threshold

    def to_json(self) -> dict[str, Any]:
        return {"version": 1, "model": self.model.to_json(),
                "threshold": round(self.threshold, 6), "data": self.provenance}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ShapeModel:
        if raw.get("version") != 1:
            raise ValueError(f"unsupported flash shape model version {raw.get('version')}")
        model = LinearModel.from_json(raw["model"])
        unknown = [n for n in model.names if n not in FEATURES + SIDE_FEATURES]
        if unknown:
            raise ValueError(f"flash shape model names unknown figures: {unknown}")
        threshold = float(raw["threshold"])
        if not np.isfinite(threshold):
            raise ValueError("flash shape model threshold must be finite")
        return cls(model, threshold, dict(raw.get("data", {})))

    @classmethod
    def load(cls, path: Path | None = None) -> ShapeModel:
        p = path or SHAPE_MODEL_PATH
        try:
            raw = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ValueError(f"flash shape model missing: {p}") from exc
        return cls.from_json(raw)
