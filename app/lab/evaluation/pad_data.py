"""Run the face pipeline and the passive signals over a PAD set (simulated or on disk)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.capture.images import load_image
from app.errors import BadInputError
from app.lab.simulation.dataset import generate
from app.lab.simulation.settings import Split
from inference.passive import FaceSignals, face_signals
from inference.pipeline import FacePipeline

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
LIVE = "live"

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Observation:
    species: str  # "live" or an attack species (folder name)
    name: str
    source: str  # portrait the sample shows (simulated) or the file name
    n_faces: int
    signals: FaceSignals | None  # None unless exactly one face was found


def observe(pipeline: FacePipeline, frame: np.ndarray, species: str, name: str,
            source: str) -> Observation:
    faces = pipeline.analyze(frame, embed=False, age=False, landmarks=False).faces
    sig = face_signals(frame, faces[0]) if len(faces) == 1 else None
    return Observation(species, name, source, len(faces), sig)


def _run(items: Iterable[tuple[str, str, str, Callable[[], np.ndarray]]], total: int,
         pipeline: FacePipeline, on_progress: Progress | None) -> list[Observation]:
    out = []
    for i, (species, name, source, load) in enumerate(items, 1):
        out.append(observe(pipeline, load(), species, name, source))
        if on_progress is not None and (i % 20 == 0 or i == total):
            on_progress(i, total)
    return out


def observe_simulated(pipeline: FacePipeline, data_dir: Path, split: Split, n: int, seed: int,
                      on_progress: Progress | None = None) -> list[Observation]:
    """n samples per species of the simulated set, rendered in memory."""
    def items() -> Iterator[tuple[str, str, str, Callable[[], np.ndarray]]]:
        for s in generate(data_dir, split, n, seed):
            yield s.species, s.name, s.source, functools.partial(np.asarray, s.image)

    return _run(items(), 3 * n, pipeline, on_progress)


def pad_folder(root: Path) -> dict[str, list[Path]]:
    """root/live and one folder per attack species, each holding images."""
    if not root.is_dir():
        raise BadInputError(f"{root}: not a folder (expected live/ and one folder per attack)")
    folders = {p.name: sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
               for p in sorted(root.iterdir()) if p.is_dir()}
    if not folders.get(LIVE):
        raise BadInputError(f"{root}: needs a live/ folder holding images")
    attacks = {k: v for k, v in folders.items() if k != LIVE and v}
    if not attacks:
        raise BadInputError(f"{root}: needs at least one attack folder (e.g. print/) with images")
    return {LIVE: folders[LIVE], **attacks}


def observe_folder(pipeline: FacePipeline, root: Path,
                   on_progress: Progress | None = None) -> list[Observation]:
    files = pad_folder(root)
    items = [(sp, f.name, f.name, functools.partial(load_image, f))
             for sp, paths in files.items() for f in paths]
    return _run(items, len(items), pipeline, on_progress)
