"""Action analysis: each requested action within its window, in order, and motion parallax.

Yaw and pitch come from the mesh's rigid fit (inference.pose), blink and smile from the
blendshapes. Parallax: between the frontal frame and the most turned frame of a turn, the
landmarks of a rigid 3D head do not move by one planar homography (nose and cheek points shift
against the ears); a photo moved to fake a turn does, up to landmark noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from inference.active.flash import FloatArray

TURNS = ("TURN_LEFT", "TURN_RIGHT", "LOOK_UP")


@dataclass(frozen=True)
class ActionThresholds:
    min_turn_deg: float = 15.0
    min_look_up_deg: float = 10.0
    # From tuning renders (a closed rendered eye reads 0.49-0.58 eyeBlink, open 0.17-0.29; a
    # closed-lip smile 0.38-0.69 mouthSmile, neutral below 0.01; photos at most 0.37 / 0.02).
    min_blink: float = 0.45
    min_smile: float = 0.35
    min_parallax: float = 0.03  # homography residual RMS / inter-ocular distance


@dataclass(frozen=True)
class ActionSample:
    t: float
    yaw: float
    pitch: float
    blink: float
    smile: float
    points: FloatArray  # (478, 3)


@dataclass(frozen=True)
class ActionFigures:
    action: str
    peak: float  # degrees of turn, or blendshape score
    done: bool
    parallax: float | None = None  # None for blink and smile
    samples: int = 0

    def to_dict(self) -> dict[str, object]:
        return {"action": self.action, "peak": round(self.peak, 3), "done": self.done,
                "parallax": None if self.parallax is None else round(self.parallax, 4),
                "samples": self.samples}


@dataclass(frozen=True)
class ActionsResult:
    actions: tuple[ActionFigures, ...] = field(default_factory=tuple)

    @property
    def all_done(self) -> bool:
        return bool(self.actions) and all(a.done for a in self.actions)


def parallax_residual(a: FloatArray, b: FloatArray) -> float:
    """RMS residual of the best planar homography mapping mesh a to mesh b, per eye distance."""
    src = a[:468, :2].astype(np.float32)
    dst = b[:468, :2].astype(np.float32)
    h, _ = cv2.findHomography(src, dst, 0)
    if h is None:
        return 0.0
    proj = cv2.perspectiveTransform(src[None], h)[0]
    iod = float(np.linalg.norm(a[33, :2] - a[263, :2])) or 1.0
    return float(np.sqrt(((proj - dst) ** 2).sum(1).mean()) / iod)


def analyze_actions(windows: list[tuple[float, float, str]], samples: list[ActionSample],
                    baseline: ActionSample | None, th: ActionThresholds) -> ActionsResult:
    """windows: (t_start, t_end, action) in order; samples: tracked frames (sorted by t)."""
    base_yaw = baseline.yaw if baseline else 0.0
    base_pitch = baseline.pitch if baseline else 0.0
    out = []
    for t0, t1, action in windows:
        inside = [s for s in samples if t0 <= s.t <= t1]
        if not inside:
            out.append(ActionFigures(action, 0.0, False, None, 0))
            continue
        parallax: float | None = None
        if action in TURNS:
            if action == "TURN_LEFT":
                vals = [s.yaw - base_yaw for s in inside]
                need = th.min_turn_deg
            elif action == "TURN_RIGHT":
                vals = [base_yaw - s.yaw for s in inside]
                need = th.min_turn_deg
            else:
                vals = [s.pitch - base_pitch for s in inside]
                need = th.min_look_up_deg
            k = int(np.argmax(vals))
            peak = float(vals[k])
            ref = baseline if baseline is not None else inside[0]
            parallax = parallax_residual(ref.points, inside[k].points)
            done = peak >= need and parallax >= th.min_parallax
        elif action == "BLINK":
            peak = max(s.blink for s in inside)
            done = peak >= th.min_blink
        else:
            peak = max(s.smile for s in inside)
            done = peak >= th.min_smile
        out.append(ActionFigures(action, peak, done, parallax, len(inside)))
    return ActionsResult(tuple(out))
