"""`sim_capture_factory("sim:SPECIES[:SEED]", timeline)`: a CaptureFactory for the camera thread
whose every call opens a ClosedLoopCamera with one simulated person (or attack) in front of the
kiosk screen that writes `timeline`.

Each opened camera draws its own settings (room, camera, attack, head-turn amplitude) from the
chosen family (tuning or heldout, app/lab/simulation/flash/settings.py) with the factory's
seeded random stream, so a run of sessions is reproducible. The scan is loaded once and, with
`warm`, every head pose and expression the person can reach is rendered ahead (about 70
renders, some 10 s), so that no frame of a head turn waits for a new render. One factory serves
one camera at a time (its scene cache is not shared between threads).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np

from app.capture.screen_timeline import ScreenTimeline
from app.errors import BadInputError
from app.lab.simulation.closed_loop.camera import DEFAULT_FPS, ClosedLoopCamera, Delays
from app.lab.simulation.flash.challenge_camera import SPECIES
from app.lab.simulation.flash.expressions import BLINK_STEPS, SMILE_STEPS
from app.lab.simulation.flash.face_scene import FaceScene
from app.lab.simulation.flash.settings import Split, draw_settings, setting_range
from sync.verdict import CaptureSource
from sync.vocabulary import CaptureKind

log = logging.getLogger(__name__)

PREFIX = "sim:"
SPLITS: tuple[Split, ...] = ("tuning", "heldout")


def parse_sim_spec(spec: str) -> tuple[str, int | None]:
    """"sim:SPECIES[:SEED]" -> (species, seed); BadInputError (one line) otherwise."""
    if not spec.startswith(PREFIX):
        raise BadInputError(f"camera {spec!r}: a simulated camera is sim:SPECIES[:SEED]")
    species, _, seed = spec[len(PREFIX):].partition(":")
    if species not in SPECIES:
        raise BadInputError(f"camera {spec!r}: unknown species {species!r}; one of "
                            f"{', '.join(SPECIES)}")
    if seed and not (seed.isascii() and seed.isdigit() and len(seed) <= 12):
        raise BadInputError(f"camera {spec!r}: the seed must be a whole number")
    return species, (int(seed) if seed else None)


def warm_scene(scene: FaceScene, split: Split) -> int:
    """Render every pose and expression a live person of this settings family can reach: head
    turns to the largest amplitude (2 degree steps), looking up, blinks, smiles. Returns the
    number of renders made."""
    turn = setting_range("turn", split)[1]
    made = 0
    poses = [(float(y), 0.0, 0.0, 0.0) for y in range(-int(turn) - 2, int(turn) + 3, 2)]
    poses += [(0.0, float(p), 0.0, 0.0) for p in range(2, int(turn * 0.7) + 3, 2)]
    poses += [(0.0, 0.0, k / BLINK_STEPS, 0.0) for k in range(1, BLINK_STEPS + 1)]
    poses += [(0.0, 0.0, 0.0, k / SMILE_STEPS) for k in range(1, SMILE_STEPS + 1)]
    for yaw, pitch, blink, smile in poses:
        if not scene.cached(yaw, pitch, blink, smile):
            scene.lit(yaw, pitch, 45.0, blink, smile)
            made += 1
    return made


class SimCaptureFactory:
    """The CaptureFactory (a callable making a Capture); see the module docstring."""

    kind = CaptureKind.SIMULATION

    def __init__(self, species: str, timeline: ScreenTimeline, scene: FaceScene, *,
                 split: Split = "tuning", seed: int | None = None, fps: float = DEFAULT_FPS,
                 delays: Delays | None = None) -> None:
        if split not in SPLITS:
            raise BadInputError(f"settings split must be tuning or heldout, not {split!r}")
        if species not in SPECIES:
            raise BadInputError(f"unknown species {species!r}; one of {', '.join(SPECIES)}")
        self.species = species
        self.split: Split = split
        self.fps = fps
        self.delays = delays or Delays()
        self.timeline = timeline
        self.scene = scene
        self.description = f"closed-loop simulated {species} face (3D scan, {split} settings)"
        self._rng = np.random.default_rng(seed)
        self._lock = threading.Lock()
        self.opened: list[ClosedLoopCamera] = []

    def __call__(self) -> ClosedLoopCamera:
        with self._lock:
            settings = draw_settings(self.split, self._rng)
            cam_rng = np.random.default_rng(self._rng.integers(0, 2 ** 63))
            cam = ClosedLoopCamera(self.scene, self.species, self.timeline, settings, cam_rng,
                                   fps=self.fps, delays=self.delays)
            self.opened.append(cam)
            return cam

    def capture_source(self) -> CaptureSource:
        """What a verdict on this camera's frames names as its source (never the booth's)."""
        return CaptureSource(kind=CaptureKind.SIMULATION, device_id=None,
                             detail=self.description[:200])


def sim_capture_factory(spec: str, timeline: ScreenTimeline, *, split: Split = "tuning",
                        seed: int | None = None, fps: float = DEFAULT_FPS,
                        delays: Delays | None = None, face3d: Path | None = None,
                        scene: FaceScene | None = None, warm: bool = True) -> SimCaptureFactory:
    """Parse "sim:SPECIES[:SEED]" (a seed in the spec wins over `seed`) and build the factory.
    face3d: the scan folder (default: the lab's data folder); scene: a scene to share."""
    species, spec_seed = parse_sim_spec(spec)
    if scene is None:
        if face3d is None:
            from app.lab.datasets import face3d_dir
            from app.paths import data_dir

            face3d = face3d_dir(data_dir())
        if not (face3d / "james.obj").is_file():
            raise BadInputError(f"no 3D face scan in {face3d}: run `poh-lab data fetch`")
        scene = FaceScene(face3d)
    if warm:
        t0 = time.perf_counter()
        n = warm_scene(scene, split)
        log.info("closed-loop camera: %d poses rendered ahead in %.1f s", n,
                 time.perf_counter() - t0)
    return SimCaptureFactory(species, timeline, scene, split=split,
                             seed=spec_seed if spec_seed is not None else seed, fps=fps,
                             delays=delays)
