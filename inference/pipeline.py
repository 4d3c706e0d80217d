"""The face pipeline: detect, landmarks, pose, blendshapes, align, embed, anti-spoof, age.

One FacePipeline owns one compiled model and one infer request per model: it is not thread-safe.
A second worker thread needs its own FacePipeline (see app.lab.benchmarks.inference_bench).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from inference.align import EyePoints, age_chip, arcface_crop, five_points
from inference.model_store import model_path
from inference.models.age import INPUT_SIZE as AGE_SIZE
from inference.models.age import AgeEstimator
from inference.models.antispoof import AntiSpoofer
from inference.models.blendshapes import BlendshapeScorer
from inference.models.detector import FaceDetector
from inference.models.embedder import FaceEmbedder, embedder_ir_path
from inference.models.landmarks import FaceLandmarker
from inference.pose import PoseEstimator
from inference.types import Detection, FaceAnalysis, FrameAnalysis, Landmarks

log = logging.getLogger(__name__)

STAGES = ("detect", "landmarks", "align", "embed", "antispoof", "age")


class PipelineConfig(BaseModel):
    """Options of the face pipeline (the `inference` section of the kiosk configuration)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    models_dir: Path
    detector: Literal["short", "full", "short_then_full"] = Field(
        default="short_then_full",
        description="BlazeFace short range (selfie distance), full range (small faces), or "
        "short range with the full-range model as a fallback when it finds nothing.",
    )
    min_detection_score: float = Field(default=0.5, gt=0.0, lt=1.0)
    nms_iou: float = Field(default=0.3, gt=0.0, lt=1.0)
    # At least 2: a second face must reach the checks to be refused (MULTIPLE_FACES_DETECTED);
    # with 1, a photo of two people would pass as the larger one.
    max_faces: int = Field(default=4, ge=2, le=32,
                           description="Largest faces analysed; the rest are counted only.")
    min_face_size: float = Field(default=24.0, ge=0.0, le=4096.0,
                                 description="Smallest box side, px.")
    min_landmark_presence: float = Field(default=0.5, ge=0.0, le=1.0)
    landmark_roi_scale: float = Field(default=1.5, gt=1.0, le=4.0)
    # Eye centres for the ArcFace alignment: the mean of the eye corners separated ORL's 400
    # faces as well as the iris centres (rank-1 100% both, closest impostor 0.62 against 0.66).
    eye_points: EyePoints = "corners"
    blendshapes: bool = True
    antispoof_crop_scale: float = Field(default=1.0, gt=0.5, le=4.0)
    age_chip_padding: float = Field(default=0.2, ge=0.0, le=2.0)
    # Off by default: on the shared 2-core test machine overlapping gave no steady gain.
    overlap_antispoof: bool = Field(
        default=False,
        description="Run anti-spoofing in OpenVINO's threads while the mesh, alignment, "
        "embedding and age run; its timing is then the wait left after those stages.",
    )
    threads: int = Field(default=0, ge=0, le=256,
                         description="OpenVINO threads per model; 0 = all cores.")


class _Timer:
    def __init__(self) -> None:
        self.ms: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.ms[name] = self.ms.get(name, 0.0) + (time.perf_counter() - t0) * 1000.0


def as_bgr(frame: np.ndarray) -> np.ndarray:
    """A uint8 3-channel BGR view of a grey, BGR or BGRA frame; anything else is bad input."""
    if frame.dtype != np.uint8:
        raise ValueError(f"frames must be uint8, got {frame.dtype}")
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    if frame.ndim == 3 and frame.shape[2] == 1:
        return cv2.cvtColor(frame[:, :, 0], cv2.COLOR_GRAY2BGR)
    if frame.ndim == 3 and frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    if frame.ndim == 3 and frame.shape[2] == 3:
        return frame
    raise ValueError(f"unsupported frame shape {frame.shape}")


def prepare_tight_face(image: np.ndarray, *, upscale: float = 3.0, border: float = 0.5
                       ) -> np.ndarray:
    """A selfie-like BGR frame from a face that fills its image (ORL: 92x112 grey).

    BlazeFace is trained on faces that take part of the frame, not all of it: the image is
    upscaled (bicubic) and padded on each side by `border` x its size with replicated edges.
    """
    bgr = as_bgr(image)
    big = cv2.resize(bgr, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_CUBIC)
    h, w = big.shape[:2]
    py, px = round(h * border), round(w * border)
    return cv2.copyMakeBorder(big, py, py, px, px, cv2.BORDER_REPLICATE)


def required_models(config: PipelineConfig) -> tuple[str, ...]:
    """Manifest names of the models this configuration loads."""
    detectors = {"short": ("face_detector",), "full": ("face_detector_full",),
                 "short_then_full": ("face_detector", "face_detector_full")}[config.detector]
    extra = ("face_blendshapes",) if config.blendshapes else ()
    return (*detectors, "face_landmarks", *extra, "face_embedder", "anti_spoofing", "age")


def check_models(config: PipelineConfig) -> None:
    """Every model present and matching its checksum, before anything is compiled."""
    for name in required_models(config):
        model_path(config.models_dir, name)
    embedder_ir_path(config.models_dir)


class FacePipeline:
    """All the face models, compiled once; `analyze` for a full answer, `track` for live cues."""

    def __init__(self, config: PipelineConfig) -> None:
        self.config = config
        md, th = config.models_dir, config.threads
        check_models(config)
        self._short = self._full = None
        if config.detector != "full":
            self._short = FaceDetector(md, range_="short", min_score=config.min_detection_score,
                                       iou_threshold=config.nms_iou, threads=th)
        if config.detector != "short":
            self._full = FaceDetector(md, range_="full", min_score=config.min_detection_score,
                                      iou_threshold=config.nms_iou, threads=th)
        self.landmarker = FaceLandmarker(md, roi_scale=config.landmark_roi_scale, threads=th)
        self.blendshaper = BlendshapeScorer(md, threads=th) if config.blendshapes else None
        self.embedder = FaceEmbedder(md, threads=th)
        self.antispoofer = AntiSpoofer(md, crop_scale=config.antispoof_crop_scale, threads=th)
        self.age_estimator = AgeEstimator(md, threads=th)
        self.pose = PoseEstimator()
        log.info("face pipeline ready (detector %s, models in %s)", config.detector, md)

    def precisions(self) -> dict[str, str]:
        """Inference precision each compiled model runs at (all must be f32)."""
        wrappers = {"detector_short": self._short, "detector_full": self._full,
                    "landmarks": self.landmarker, "blendshapes": self.blendshaper,
                    "embedder": self.embedder, "antispoof": self.antispoofer,
                    "age": self.age_estimator}
        return {name: w.precision for name, w in wrappers.items() if w is not None}

    def detect(self, frame_bgr: np.ndarray) -> list[Detection]:
        """Faces, largest first, at most max_faces, none smaller than min_face_size."""
        return self._detect_all(frame_bgr)[: self.config.max_faces]

    def _detect_all(self, frame_bgr: np.ndarray) -> list[Detection]:
        """Every face at least min_face_size, largest first (before the max_faces cap)."""
        dets: list[Detection] = []
        if self._short is not None:
            dets = self._short.infer(frame_bgr)
        if not dets and self._full is not None:
            dets = self._full.infer(frame_bgr)
        dets = [d for d in dets if min(d.box.width, d.box.height) >= self.config.min_face_size]
        dets.sort(key=lambda d: d.box.width * d.box.height, reverse=True)
        return dets

    def analyze(
        self,
        frame: np.ndarray,
        *,
        embed: bool = True,
        antispoof: bool = True,
        age: bool = True,
        landmarks: bool = True,
    ) -> FrameAnalysis:
        """Every face in the frame. The mesh is computed whenever embed or age needs it;
        `landmarks` switches pose and blendshapes. A face whose mesh presence is below
        min_landmark_presence keeps its detection but gets no embedding or age (fail closed)."""
        frame_bgr = as_bgr(frame)
        timer = _Timer()
        with timer.stage("detect"):
            found = self._detect_all(frame_bgr)
        faces = tuple(
            self._face(frame_bgr, d, timer, embed=embed, antispoof=antispoof, age=age,
                       landmarks=landmarks)
            for d in found[: self.config.max_faces]
        )
        timer.ms["total"] = sum(timer.ms.values())
        return FrameAnalysis((frame_bgr.shape[0], frame_bgr.shape[1]), faces, timer.ms,
                             detected=len(found))

    def track(self, frame: np.ndarray) -> FrameAnalysis:
        """Fast path for live cues: detection, mesh, pose and blendshapes only."""
        return self.analyze(frame, embed=False, antispoof=False, age=False, landmarks=True)

    def complete(self, frame: np.ndarray, tracked: FrameAnalysis, *, antispoof: bool = True,
                 age: bool = True) -> FrameAnalysis:
        """Finish a `track` result: embedding, age and (if asked) anti-spoofing for each face,
        reusing its detection and mesh. Equal to `analyze(frame, antispoof=antispoof, age=age)`
        on the same frame, without detecting and meshing it twice."""
        frame_bgr = as_bgr(frame)
        if (frame_bgr.shape[0], frame_bgr.shape[1]) != tracked.image_shape:
            raise ValueError("complete() needs the frame that was tracked")
        timer = _Timer()
        timer.ms.update({k: v for k, v in tracked.timings_ms.items() if k != "total"})
        faces = []
        for face in tracked.faces:
            done = self._embed_stages(frame_bgr, face, timer, embed=True, age=age)
            if antispoof:
                with timer.stage("antispoof"):
                    done = dataclasses.replace(
                        done, spoof_score=self.antispoofer.infer(frame_bgr,
                                                                 face.detection.box).score)
            faces.append(done)
        timer.ms["total"] = sum(timer.ms.values())
        return FrameAnalysis(tracked.image_shape, tuple(faces), timer.ms,
                             detected=tracked.detected)

    def _face(self, frame: np.ndarray, det: Detection, timer: _Timer, *, embed: bool,
              antispoof: bool, age: bool, landmarks: bool) -> FaceAnalysis:
        spoof: float | None = None
        if antispoof and self.config.overlap_antispoof:
            with timer.stage("antispoof"):
                self.antispoofer.start(frame, det.box)
            try:
                parts = self._mesh_stages(frame, det, timer, embed=embed, age=age,
                                          landmarks=landmarks)
            finally:
                # Always collect the request, or the next start() finds it busy.
                with timer.stage("antispoof"):
                    spoof = self.antispoofer.result().score
        else:
            parts = self._mesh_stages(frame, det, timer, embed=embed, age=age,
                                      landmarks=landmarks)
            if antispoof:
                with timer.stage("antispoof"):
                    spoof = self.antispoofer.infer(frame, det.box).score
        return dataclasses.replace(parts, spoof_score=spoof)

    def _mesh_stages(self, frame: np.ndarray, det: Detection, timer: _Timer, *, embed: bool,
                     age: bool, landmarks: bool) -> FaceAnalysis:
        mesh: Landmarks | None = None
        if landmarks or embed or age:
            with timer.stage("landmarks"):
                mesh = self.landmarker.infer(frame, det)
            if mesh.presence < self.config.min_landmark_presence:
                log.debug("mesh presence %.3f below threshold: face dropped", mesh.presence)
                mesh = None
        pose = None
        shapes: dict[str, float] = {}
        if mesh is not None and landmarks:
            with timer.stage("pose"):
                pose = self.pose.infer(mesh.points)
            if self.blendshaper is not None:
                with timer.stage("blendshapes"):
                    shapes = self.blendshaper.infer(mesh)
        face = FaceAnalysis(detection=det, landmarks=mesh, pose=pose, five_points=None,
                            blendshapes=shapes)
        return self._embed_stages(frame, face, timer, embed=embed, age=age)

    def _embed_stages(self, frame: np.ndarray, face: FaceAnalysis, timer: _Timer, *,
                      embed: bool, age: bool) -> FaceAnalysis:
        """Alignment, embedding and age of a face whose mesh is known (None: nothing to do)."""
        mesh = face.landmarks
        five = aligned = chip = None
        if mesh is not None and (embed or age):
            with timer.stage("align"):
                five = five_points(mesh.points, self.config.eye_points)
                if embed:
                    aligned = arcface_crop(frame, five)
                if age:
                    chip = age_chip(frame, mesh.points, AGE_SIZE, self.config.age_chip_padding)
        embedding = None
        if aligned is not None:
            with timer.stage("embed"):
                embedding = self.embedder.infer(aligned)
        age_est = None
        if chip is not None:
            with timer.stage("age"):
                age_est = self.age_estimator.infer(chip)
        return dataclasses.replace(
            face,
            five_points=five,
            embedding=embedding,
            age=age_est.age if age_est else None,
            age_spread=age_est.spread if age_est else None,
        )

