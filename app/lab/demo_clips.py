"""Short sample clips from real portraits: a live person, the same person again, and a print.

There is no real video of a person in the sample data, so a clip is one camera frame of a real
portrait (rendered through the simulator's camera model, as live and attack frames must be) set
in slight motion: a drift, a slow zoom, a small roll and fresh sensor noise every frame, written
as MJPG .avi. The print clip is the simulator's print attack of the same portrait, moved the same
way. Figures from these clips are simulation, not field data.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from app.lab.simulation.dataset import demo_attacks
from app.lab.simulation.scene import SOURCES

log = logging.getLogger(__name__)

BgrImage = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class ClipSpec:
    seconds: float = 2.0
    fps: float = 10.0
    start_scale: float = 1.0  # below 1 steps back from the camera (edges are replicated)
    drift_px: float = 5.0
    zoom: float = 0.04
    roll_deg: float = 1.0
    noise_sigma: float = 2.0


def animate(base: BgrImage, spec: ClipSpec = ClipSpec(), seed: int = 0) -> list[BgrImage]:
    """Frames of `base` in slight motion, each with its own sensor noise."""
    rng = np.random.default_rng(seed)
    h, w = base.shape[:2]
    n = max(1, int(round(spec.seconds * spec.fps)))
    phase = rng.uniform(0, 2 * math.pi, size=3)
    frames: list[BgrImage] = []
    for i in range(n):
        s = i / max(n - 1, 1)
        dx = spec.drift_px * math.sin(2 * math.pi * s + phase[0])
        dy = 0.6 * spec.drift_px * math.sin(2 * math.pi * s + phase[1])
        scale = spec.start_scale * (1.0 + spec.zoom * s)
        angle = spec.roll_deg * math.sin(2 * math.pi * s + phase[2])
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
        m[:, 2] += np.array([dx, dy])
        moved = cv2.warpAffine(base, m, (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
        noisy = moved.astype(np.float32) + rng.normal(0, spec.noise_sigma, moved.shape)
        frames.append(np.clip(noisy, 0, 255).astype(np.uint8))
    return frames


def write_avi(frames: list[BgrImage], path: Path, fps: float) -> Path:
    if not frames:
        raise ValueError("no frames to write")
    h, w = frames[0].shape[:2]
    path.parent.mkdir(parents=True, exist_ok=True)
    # OpenCV's own MJPG writer at quality 100: at its default quality the JPEG artefacts alone
    # make the Deep Tree anti-spoofing model call a live face an attack (0.99 against 0.006)
    writer = cv2.VideoWriter(str(path), cv2.CAP_OPENCV_MJPEG, cv2.VideoWriter.fourcc(*"MJPG"),
                             fps, (w, h), [cv2.VIDEOWRITER_PROP_QUALITY, 100])
    if not writer.isOpened():
        raise OSError(f"cannot open a video writer for {path}")
    try:
        for f in frames:
            writer.write(f)
    finally:
        writer.release()
    return path


def _face_box(name: str) -> tuple[float, float, float, float]:
    for src in SOURCES:
        if src.file == name:
            return src.face
    raise ValueError(f"{name}: no known face box; known portraits: "
                     f"{', '.join(s.file for s in SOURCES)}")


def portrait_frames(colour_dir: Path, name: str, seed: int = 0) -> dict[str, BgrImage]:
    """One simulated camera frame each of the live portrait, its print and its screen replay."""
    path = colour_dir / name
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"{path}: portrait missing (run `poh data fetch`)")
    return {str(k): np.asarray(v, dtype=np.uint8)
            for k, v in demo_attacks(image, _face_box(name), seed=seed).items()}


def make_demo_clips(colour_dir: Path, out_dir: Path, person: str = "obama.jpg",
                    again: str = "obama2.jpg", spec: ClipSpec = ClipSpec(),
                    seed: int = 0) -> dict[str, Path]:
    """live.avi (person), again.avi (another photo of the same person), print.avi (a print)."""
    first = portrait_frames(colour_dir, person, seed)
    second = portrait_frames(colour_dir, again, seed + 1)
    clips = {
        "live": write_avi(animate(first["live"], spec, seed), out_dir / "live.avi", spec.fps),
        # the second photo is framed tight; step back so the face is not too large to use
        "again": write_avi(animate(second["live"], replace(spec, start_scale=0.8), seed + 1),
                           out_dir / "again.avi", spec.fps),
        "print": write_avi(animate(first["print"], spec, seed + 2), out_dir / "print.avi",
                           spec.fps),
    }
    log.info("demo clips in %s: %s", out_dir, ", ".join(str(p.name) for p in clips.values()))
    return clips
