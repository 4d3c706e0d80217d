"""Active liveness (FLASHING, ACTIVE_3D): track a few frames, run the flash and action checks,
and shape the result like Didit's liveness report {status, method, score, warnings, figures}.

Speed: the face is tracked on a few keyframes only (3 over the flash, about 6 per second in
action windows) and interpolated in between; the flash regression runs on a 64 px face crop.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inference.active.actions import (
    ActionSample,
    ActionsResult,
    ActionThresholds,
    analyze_actions,
)
from inference.active.flash import (
    FlashFigures,
    FlashThresholds,
    analyze_flash,
    flash_passes,
    interpolate_landmarks,
)
from inference.active.rolling import Cue
from inference.active.shape_model import SIDES_MODEL_PATH, ShapeModel
from inference.codes import LivenessCode, LivenessStatus
from inference.pipeline import FacePipeline
from inference.types import FaceAnalysis

NO_MODEL_MARGIN = -30.0  # the shape check's margin when no model judges this kind of flash


@dataclass(frozen=True)
class ActiveInput:
    method: str  # FLASHING | ACTIVE_3D
    fps: float
    times: tuple[float, ...]
    frames: tuple[np.ndarray, ...]
    colours: tuple[Cue, ...]  # the whole screen's, or its left half's (as the person sees it)
    actions: tuple[tuple[float, float, str], ...] = ()
    # The right half's colours at the same times, when the halves differ; empty: whole screen.
    colours_right: tuple[Cue, ...] = ()


@dataclass(frozen=True)
class ActiveResult:
    status: LivenessStatus
    method: str
    score: float
    warnings: tuple[LivenessCode, ...]
    figures: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "method": self.method, "score": round(self.score, 1),
                "warnings": [{"code": w} for w in self.warnings], "figures": self.figures}


def _face(fp: FacePipeline, frame: np.ndarray) -> tuple[FaceAnalysis | None, int]:
    fa = fp.track(frame)
    faces = [f for f in fa.faces if f.landmarks is not None]
    return (faces[0] if faces else None), len(fa.faces)


def _margin(value: float, threshold: float, scale: float) -> float:
    """0..1, 0.5 at the threshold."""
    return 1.0 / (1.0 + math.exp(-(value - threshold) / scale))


class ActiveLiveness:
    def __init__(self, pipeline: FacePipeline, flash: FlashThresholds | None = None,
                 actions: ActionThresholds | None = None, flash_keyframes: int = 3,
                 action_rate_hz: float = 6.0, blink_rate_hz: float = 15.0,
                 shape: ShapeModel | None = None, sides: ShapeModel | None = None) -> None:
        self.fp = pipeline
        self.flash_th = flash or FlashThresholds()
        self.shape = shape or ShapeModel.load()
        self._sides = sides
        self.action_th = actions or ActionThresholds()
        self.flash_keyframes = flash_keyframes
        self.action_rate_hz = action_rate_hz
        self.blink_rate_hz = blink_rate_hz

    @property
    def sides(self) -> ShapeModel | None:
        """The two-sided flash's model, loaded when first needed (None: not shipped, so a
        two-sided flash cannot pass: the lab collects its figures to fit one)."""
        if self._sides is None and SIDES_MODEL_PATH.is_file():
            self._sides = ShapeModel.load(SIDES_MODEL_PATH)
        return self._sides

    def analyze(self, inp: ActiveInput) -> ActiveResult:
        t_start = time.perf_counter()
        times = np.asarray(inp.times, np.float64)
        c0 = min(c[0] for c in inp.colours)
        c1 = max(c[1] for c in inp.colours)
        sel = np.nonzero((times >= c0) & (times <= c1))[0]
        if len(sel) < 8:
            return ActiveResult(LivenessStatus.DECLINED, inp.method, 0.0,
                                (LivenessCode.LOW_LIVENESS_SCORE,),
                                {"reason": "too few frames during the flash sequence"})
        keys = np.unique(np.linspace(sel[0], sel[-1], self.flash_keyframes).round().astype(int))
        key_faces: list[FaceAnalysis] = []
        max_faces = 0
        for k in keys:
            face, nf = _face(self.fp, inp.frames[k])
            max_faces = max(max_faces, nf)
            if face is None or face.landmarks is None:
                return ActiveResult(LivenessStatus.DECLINED, inp.method, 0.0,
                                    (LivenessCode.NO_FACE_DETECTED,),
                                    {"reason": f"no face in frame {int(k)}"})
            key_faces.append(face)
        key_pts = [f.landmarks.points for f in key_faces if f.landmarks is not None]
        pts = interpolate_landmarks(times[sel], [float(times[k]) for k in keys], key_pts)
        flash = analyze_flash([inp.frames[i] for i in sel], times[sel], pts,
                              list(inp.colours), inp.fps,
                              cues_right=list(inp.colours_right) or None)
        flash_figures = flash.to_dict()
        # A two-sided flash is judged by its sides' answer, a whole screen's by its shading.
        model = self.sides if inp.colours_right else self.shape
        shape_margin = model.margin(flash_figures) if model is not None else NO_MODEL_MARGIN
        passes = flash_passes(flash, self.flash_th, shape_margin)
        figures: dict[str, Any] = {"flash": flash_figures, "checks": dict(passes)}
        score = self._flash_score(flash, shape_margin)
        if inp.method == "ACTIVE_3D":
            acts = self._actions(inp, times, key_faces[len(key_faces) // 2])
            figures["actions"] = [a.to_dict() for a in acts.actions]
            passes = {**passes, "actions": acts.all_done}
            figures["checks"] = dict(passes)
            if not acts.all_done:
                score = min(score, 25.0)
        warnings: list[LivenessCode] = []
        if max_faces > 1:
            warnings.append(LivenessCode.MULTIPLE_FACES_DETECTED)
        ok = all(passes.values())
        if not ok:
            warnings.append(LivenessCode.LIVENESS_FACE_ATTACK)
            score = min(score, 49.0)
        elif score < 50.0:
            score = 50.0
        figures["analysis_ms"] = round(1000 * (time.perf_counter() - t_start), 1)
        return ActiveResult(LivenessStatus.APPROVED if ok else LivenessStatus.DECLINED,
                            inp.method, score,
                            tuple(warnings), figures)

    def _flash_score(self, f: FlashFigures, shape_margin: float) -> float:
        th = self.flash_th
        m = min(_margin(f.fit, th.min_fit, 0.08),
                _margin(-abs(f.lag_frames), -th.max_lag_frames, 0.25),
                _margin(f.row_fit, th.min_row_fit, 0.01),
                _margin(math.log(max(f.strength, 1e-6)), math.log(th.min_strength), 0.3),
                _margin(shape_margin, 0.0, 0.5),
                _margin(-math.log(max(f.tint_camera, 1e-6)), -math.log(th.max_tint), 0.3))
        return 100.0 * m

    def _actions(self, inp: ActiveInput, times: np.ndarray, base: FaceAnalysis
                 ) -> ActionsResult:
        baseline = _sample(float("nan"), base)
        samples: list[ActionSample] = []
        for t0, t1, action in inp.actions:
            # a blink closes the eye for 50-200 ms: sampled at 6 Hz it can fall between samples
            rate = self.blink_rate_hz if action == "BLINK" else self.action_rate_hz
            stride = max(1, int(round(inp.fps / rate)))
            idx = np.nonzero((times >= t0) & (times <= t1))[0][::stride]
            for i in idx:
                face, _n = _face(self.fp, inp.frames[i])
                if face is not None:
                    s = _sample(float(times[i]), face)
                    if s is not None:
                        samples.append(s)
        return analyze_actions(list(inp.actions), samples, baseline, self.action_th)


def _sample(t: float, face: FaceAnalysis) -> ActionSample | None:
    if face.landmarks is None or face.pose is None:
        return None
    b = face.blendshapes
    return ActionSample(t, face.pose.yaw, face.pose.pitch,
                        (b.get("eyeBlinkLeft", 0.0) + b.get("eyeBlinkRight", 0.0)) / 2,
                        (b.get("mouthSmileLeft", 0.0) + b.get("mouthSmileRight", 0.0)) / 2,
                        face.landmarks.points)
