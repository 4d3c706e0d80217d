"""Family B's people: the sample colour portraits, each meshed once by the face pipeline's
478-point FaceLandmarker, as their own geometry and under another portrait's geometry."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from app.lab.simulation.family_b.faces import FaceSurface, Portrait, cut_portrait, surface
from inference.pipeline import FacePipeline

log = logging.getLogger(__name__)

PORTRAITS = ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "grace_hopper.jpg",
             "astronaut.png")


@dataclass(frozen=True)
class Person:
    portrait: Portrait
    surfaces: tuple[FaceSurface, ...]  # own geometry, then another portrait's


def load_people(pipeline: FacePipeline, folder: Path) -> list[Person]:
    """Every portrait of PORTRAITS in folder with one face; the geometry swap pairs each with
    the next one in the list."""
    cut: list[Portrait] = []
    for name in PORTRAITS:
        img = cv2.imread(str(folder / name), cv2.IMREAD_COLOR)
        if img is None:
            log.warning("family b: portrait %s missing in %s", name, folder)
            continue
        faces = [f for f in pipeline.track(img).faces if f.landmarks is not None]
        if len(faces) != 1 or faces[0].landmarks is None:
            log.warning("family b: portrait %s has %d faces", name, len(faces))
            continue
        cut.append(cut_portrait(name, img, np.asarray(faces[0].landmarks.points)))
    if len(cut) < 2:
        raise FileNotFoundError(f"family b needs at least two sample portraits in {folder}")
    return [Person(p, (surface(p), surface(p, cut[(i + 1) % len(cut)].mesh)))
            for i, p in enumerate(cut)]
