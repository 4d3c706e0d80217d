"""The hub's own face analysis for Didit's standalone passive-liveness API: the booth's pipeline
(inference.pipeline) and passive liveness (inference.passive), compiled once on first use and
used by one request at a time (OpenVINO infer requests are reused, not shared)."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from platformdirs import user_cache_dir

import inference.offline  # noqa: F401  (blocks OpenVINO's telemetry before it loads)
from inference.model_store import ModelMissingError
from inference.passive.liveness import PassiveLiveness, PassiveLivenessConfig
from inference.pipeline import FacePipeline, PipelineConfig, check_models
from inference.quality import QualityConfig, assess_quality
from inference.types import FaceAnalysis

log = logging.getLogger(__name__)


class ModelsUnavailable(RuntimeError):
    """The face models are not on this hub (`poh models fetch`); str() is one line."""


def default_models_dir() -> Path:
    """Where `poh models fetch` puts the verified models (as app.paths.models_dir does, also
    under systemd: the unit's CacheDirectory, CACHE_DIRECTORY, when POH_CACHE is unset)."""
    env = os.environ.get("POH_MODELS_DIR")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("POH_CACHE")
    if cache:
        return Path(cache).expanduser() / "models"
    unit_cache = os.environ.get("CACHE_DIRECTORY", "").split(":", 1)[0]
    if unit_cache and os.path.isabs(unit_cache):
        return Path(unit_cache) / "models"
    return Path(user_cache_dir("poh-kiosk")) / "models"


@dataclass(frozen=True)
class SearchFace:
    """The face an uploaded image gives the face search: its embedding (None: no single face
    to search), the faces found, and the rotation (degrees) they were found at."""

    embedding: np.ndarray | None
    faces: tuple[FaceAnalysis, ...]
    best_angle: int


_ROTATIONS = ((0, None), (90, cv2.ROTATE_90_CLOCKWISE), (180, cv2.ROTATE_180),
              (270, cv2.ROTATE_90_COUNTERCLOCKWISE))


@dataclass(frozen=True)
class PassiveOutcome:
    status: str
    score: float | None
    warnings: tuple[str, ...]
    faces: tuple[FaceAnalysis, ...]
    face_luma: float | None


class StandaloneEngine:
    def __init__(self, pipeline: FacePipeline, quality: QualityConfig | None = None) -> None:
        self.pipeline = pipeline
        self.quality = quality or QualityConfig()
        self.base = PassiveLivenessConfig()
        self._lock = threading.Lock()

    @classmethod
    def from_defaults(cls, models_dir: Path | None = None) -> StandaloneEngine:
        config = PipelineConfig(models_dir=models_dir or default_models_dir())
        try:
            check_models(config)
        except (ModelMissingError, OSError, ValueError) as exc:
            raise ModelsUnavailable(str(exc).splitlines()[0]) from None
        log.info("standalone API: compiling the face models from %s", config.models_dir)
        return cls(FacePipeline(config))

    def passive(self, image_bgr: np.ndarray, decline_threshold: float | None) -> PassiveOutcome:
        cfg = self.base
        if decline_threshold is not None:
            cfg = cfg.model_copy(update={"decline_threshold": decline_threshold,
                                         "review_threshold": max(decline_threshold,
                                                                 cfg.review_threshold)})
        liveness = PassiveLiveness(cfg)
        with self._lock:
            analysis = self.pipeline.analyze(image_bgr)
            faces = tuple(analysis.faces)
            live = liveness.assess(image_bgr, faces)
            face = faces[0] if len(faces) == 1 else None
            quality = assess_quality(image_bgr, face, len(faces), self.quality)
        codes = [str(c) for c in live.warnings]
        if analysis.faces_found > 1 and "MULTIPLE_FACES_DETECTED" not in codes:
            codes.append("MULTIPLE_FACES_DETECTED")
        if face is not None and not quality.ok and live.status == "Approved":
            codes.append("LOW_FACE_QUALITY")
        score = live.score if faces else None
        return PassiveOutcome(str(live.status), score, tuple(codes), faces,
                              quality.measures.get("face_luma"))

    def search_face(self, image_bgr: np.ndarray, rotate: bool) -> SearchFace:
        """The embedding of the one face in the image; with `rotate` (Didit's rotate_image),
        of the rotation by 0, 90, 180 or 270 degrees whose single face the detector is most
        confident of (upright faces score highest)."""
        found: list[SearchFace] = []
        for angle, code in _ROTATIONS if rotate else _ROTATIONS[:1]:
            image = image_bgr if code is None else cv2.rotate(image_bgr, code)
            with self._lock:
                faces = tuple(self.pipeline.analyze(image).faces)
            found.append(SearchFace(faces[0].embedding if len(faces) == 1 else None, faces,
                                    angle))
        usable = [f for f in found if f.embedding is not None]
        if not usable:
            return found[0]
        return max(usable, key=lambda f: float(f.faces[0].detection.score))
