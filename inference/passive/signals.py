"""All passive signals of one face, as named scalars (and the raw LBP histograms)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from inference.passive.colour import gamut_stats, lbp_histograms
from inference.passive.edges import straight_edges
from inference.passive.regions import F32, U8, face_regions
from inference.passive.spectral import spectrum_peaks
from inference.passive.specular import highlight_stats
from inference.types import FaceAnalysis


@dataclass(frozen=True)
class FaceSignals:
    values: dict[str, float]  # named scalar signals
    lbp: F32  # 60 LBP histogram values (turned into `lbp_score` by the calibrated model)


def deep_tree_logit(spoof_score: float) -> float:
    """The Deep Tree score (0 live .. 1 attack) on a log-odds scale, clipped to +-7."""
    s = min(max(spoof_score, 1e-3), 1 - 1e-3)
    return float(np.clip(math.log(s / (1 - s)), -7.0, 7.0))


def face_signals(frame_bgr: U8, face: FaceAnalysis) -> FaceSignals:
    """Compute every signal; raises ValueError when the face has no Deep Tree score."""
    if face.spoof_score is None or not math.isfinite(face.spoof_score):
        raise ValueError("face has no Deep Tree spoof_score: analyze the frame with antispoof on")
    r = face_regions(frame_bgr, face.detection.box)
    values: dict[str, float] = {"deep_tree": deep_tree_logit(face.spoof_score)}
    values.update(spectrum_peaks(r.face))
    values.update(gamut_stats(r.face, r.context))
    values.update(highlight_stats(r.face, r.context, r.face_in_context))
    values.update(straight_edges(r.context, r.face_in_context, r.face_width))
    return FaceSignals(values, lbp_histograms(r.face_norm))
