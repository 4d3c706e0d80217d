"""`poh demo`: the main job on embedded defaults, on real sample faces and simulated attacks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2

from app.capture.images import load_image
from app.checks.passive_check import check_frame
from app.kiosk.config import load_config
from app.kiosk.root import passive_liveness
from app.lab.datasets import colour_dir, fetch_data
from app.paths import cache_dir, data_dir, models_dir
from inference.model_store import fetch_models, list_models
from inference.pipeline import FacePipeline

log = logging.getLogger(__name__)

PORTRAITS = ("obama.jpg", "obama2.jpg", "biden.jpg", "grace_hopper.jpg", "astronaut.png")
ATTACKED = "obama.jpg"


@dataclass(frozen=True)
class DemoRow:
    name: str
    truth: str  # "live" or the simulated attack species
    result: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "truth": self.truth, "result": self.result}


def ensure_ready(say: Callable[[str], None]) -> None:
    """First use: fetch and verify the models and the sample faces."""
    if not all(s.verified for s in list_models(models_dir())):
        say(f"first run: fetching models into {models_dir()}")
        fetch_models(models_dir(), cache_dir())
    if not (colour_dir(data_dir()) / ATTACKED).is_file():
        say(f"first run: extracting sample faces into {data_dir()}")
        fetch_data(data_dir(), cache_dir())


def passive_demo(say: Callable[[str], None]) -> list[DemoRow]:
    from app.lab.simulation.dataset import demo_attacks

    cfg = load_config()
    fp = FacePipeline(cfg.inference)
    liveness = passive_liveness(cfg.passive_liveness)
    quality = cfg.quality
    rows: list[DemoRow] = []
    for name in PORTRAITS:
        frame = load_image(colour_dir(data_dir()) / name)
        say(f"checking {name}")
        rows.append(DemoRow(name, "live", check_frame(frame, fp, liveness, quality)))
    frame = load_image(colour_dir(data_dir()) / ATTACKED)
    faces = fp.analyze(frame, embed=False, antispoof=False, age=False).faces
    if len(faces) != 1:
        raise RuntimeError(f"sample {ATTACKED} should hold one face, found {len(faces)}")
    b = faces[0].detection.box
    out_dir = data_dir() / "demo"
    out_dir.mkdir(parents=True, exist_ok=True)
    for species, image in demo_attacks(frame, (b.x1, b.y1, b.x2, b.y2)).items():
        name = f"{Path(ATTACKED).stem}_{species}.png"
        # sample data only (a public portrait), kept so that `poh check` can be tried on it
        cv2.imwrite(str(out_dir / name), image)
        say(f"checking simulated {species} of {ATTACKED}")
        truth = "live" if species == "live" else species
        rows.append(DemoRow(f"demo/{name}", truth,
                            check_frame(image, fp, liveness, quality)))
    return rows


def render_rows(rows: list[DemoRow]) -> str:
    lines = [f"{'image':<28} {'truth':<7} {'status':<9} {'score':>5}  warnings"]
    for r in rows:
        live = r.result["liveness"]
        codes = ",".join(w["code"] for w in live["warnings"]) or "-"
        lines.append(f"{r.name:<28} {r.truth:<7} {r.result['status']:<9} "
                     f"{live['score']:>5.0f}  {codes}")
    return "\n".join(lines)
