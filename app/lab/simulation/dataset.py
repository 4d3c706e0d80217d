"""Simulated presentation-attack sets: live, print and replay frames for one settings family.

Sample i of a species is fully determined by (seed, split, species, i): the same call always gives
the same pixels. Sources rotate through the split's portraits, so every identity is present in
every species in equal shares; `tuning` uses only tuning portraits and tuning settings, `heldout`
only held-out ones.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from app.lab.simulation import settings as st
from app.lab.simulation.camera import capture
from app.lab.simulation.print_attack import render_print
from app.lab.simulation.scene import (
    F32,
    OUT_H,
    OUT_W,
    OVERSAMPLE,
    Source,
    live_scene,
    load_rgb,
    room_background,
    sources,
    srgb_to_linear,
)
from app.lab.simulation.screen_replay import render_replay

log = logging.getLogger(__name__)

Species = Literal["live", "print", "replay"]
SPECIES: tuple[Species, ...] = ("live", "print", "replay")
ATTACKS: tuple[Species, ...] = ("print", "replay")
_SPLIT_ID = {"tuning": 1, "heldout": 2}
_SPECIES_ID = {"live": 1, "print": 2, "replay": 3}


@dataclass(frozen=True)
class SimSample:
    species: Species
    split: st.Split
    index: int
    source: str  # portrait file the sample shows
    image: np.ndarray  # BGR frame
    face_box: tuple[float, ...]  # where the simulator put the face (output pixels)

    @property
    def name(self) -> str:
        return f"{self.species}_{self.index:04d}_{Path(self.source).stem}.png"


def _background(data_dir: Path | None, split: st.Split, seed: int) -> F32:
    bg = room_background(data_dir, split, seed, (OUT_W, OUT_H))
    big: F32 = cv2.resize(bg, (OUT_W * OVERSAMPLE, OUT_H * OVERSAMPLE),
                          interpolation=cv2.INTER_LINEAR)
    return big


def render(rgb: F32, src: Source, species: Species, split: st.Split,
           rng: np.random.Generator, data_dir: Path | None) -> tuple[np.ndarray, tuple[float, ...]]:
    """One frame of `species` showing the portrait `rgb` (linear RGB) through the camera."""
    if species == "live":
        scene, box = live_scene(rgb, src, st.draw_live(rng))
    elif species == "print":
        ps = st.draw_print(rng, split)
        bg = _background(data_dir, split, ps.placement.background)
        scene, box = render_print(rgb, src, ps, bg, rng)
    else:
        rs = st.draw_replay(rng, split)
        bg = _background(data_dir, split, rs.placement.background)
        scene, box = render_replay(rgb, src, rs, bg)
    frame = capture(scene, box, st.draw_camera(rng, split), rng)
    return frame, box


def sample(data_dir: Path, split: st.Split, species: Species, index: int, seed: int) -> SimSample:
    """Frame `index` of a species in a split: deterministic in (seed, split, species, index)."""
    srcs = sources(split)
    src = srcs[index % len(srcs)]
    rng = np.random.default_rng([seed, _SPLIT_ID[split], _SPECIES_ID[species], index])
    frame, box = render(load_rgb(data_dir, src), src, species, split, rng, data_dir)
    return SimSample(species, split, index, src.file, frame, box)


def generate(data_dir: Path, split: st.Split, n: int, seed: int,
             species: tuple[Species, ...] = SPECIES) -> Iterator[SimSample]:
    """n frames per species, interleaved (live 0, print 0, replay 0, live 1, ...)."""
    for i in range(n):
        for sp in species:
            yield sample(data_dir, split, sp, i, seed)


def write_set(out_dir: Path, data_dir: Path, split: st.Split, n: int, seed: int,
              on_progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Write OUT/live, OUT/print, OUT/replay as PNG; returns the count per folder.
    on_progress: (frames written, frames in all) after each frame."""
    counts: dict[str, int] = {sp: 0 for sp in SPECIES}
    for sp in SPECIES:
        (out_dir / sp).mkdir(parents=True, exist_ok=True)
    for s in generate(data_dir, split, n, seed):
        path = out_dir / s.species / s.name
        if not cv2.imwrite(str(path), s.image):
            raise OSError(f"cannot write {path}")
        counts[s.species] += 1
        if on_progress is not None:
            on_progress(sum(counts.values()), n * len(SPECIES))
    return counts


def demo_attacks(image_bgr: np.ndarray, face: tuple[float, float, float, float],
                 seed: int = 0) -> dict[Species, np.ndarray]:
    """A live capture, a print and a screen replay of any photo (held-out settings, plain wall)."""
    rgb = srgb_to_linear(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))
    src = Source("input", "input", "heldout", face)
    out: dict[Species, np.ndarray] = {}
    for sp in SPECIES:
        rng = np.random.default_rng([seed, 99, _SPECIES_ID[sp]])
        out[sp] = render(rgb, src, sp, "heldout", rng, None)[0]
    return out
