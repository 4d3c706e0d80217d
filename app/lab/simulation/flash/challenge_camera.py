"""The simulator as a kiosk's screen and camera: it renders the 3D face scan (or an attack on it)
answering whatever plan the session hands it. A fake camera for headless sessions and tests:
the runner, the challenge checks and the analyzer around it are the real ones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.capture.plan import ChallengePlan
from app.capture.recording import Recording
from app.lab.simulation.flash.scene import SPECIES_ACTIVE, SPECIES_FLASH, FaceScene, simulate
from app.lab.simulation.flash.settings import Split, draw_settings
from sync.vocabulary import CaptureKind

SPECIES = ("live", *SPECIES_FLASH, *SPECIES_ACTIVE)


class SimulatedChallengeCamera:
    def __init__(self, face3d: Path, species: str = "live", split: Split = "tuning",
                 seed: int | None = None) -> None:
        if species not in SPECIES:
            raise ValueError(f"unknown species {species!r}; one of {', '.join(SPECIES)}")
        self.species = species
        self.kind = CaptureKind.SIMULATION
        self.description = f"simulated {species} face (3D scan, {split} settings)"
        self._scene = FaceScene(face3d)
        self._split = split
        self._rng = np.random.default_rng(seed)

    def capture(self, plan: ChallengePlan) -> Recording:
        settings = draw_settings(self._split, self._rng)
        return simulate(self._scene, self.species, plan.method, settings, self._rng, plan=plan)
