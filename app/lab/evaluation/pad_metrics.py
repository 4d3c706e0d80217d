"""ISO/IEC 30107-3 style error rates from liveness scores (higher = more live).

BPCER: share of bona fide (live) presentations declined. APCER (per attack species): share of
attack presentations accepted. A presentation whose face was not found counts as declined for
both: a live person who is not seen is a bona fide rejection, an attack that is not seen is no
accepted attack.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Rate:
    errors: int
    trials: int

    @property
    def value(self) -> float:
        return self.errors / self.trials if self.trials else float("nan")

    def to_dict(self) -> dict[str, float | int]:
        return {"rate": round(self.value, 4), "errors": self.errors, "trials": self.trials}


def bpcer(live_scores: np.ndarray, threshold: float) -> Rate:
    s = np.asarray(live_scores, np.float64)
    return Rate(int((s < threshold).sum()), int(s.size))


def apcer(attack_scores: np.ndarray, threshold: float) -> Rate:
    s = np.asarray(attack_scores, np.float64)
    return Rate(int((s >= threshold).sum()), int(s.size))


def equal_error_rate(live_scores: np.ndarray, attack_scores: np.ndarray) -> tuple[float, float]:
    """(EER, threshold): where BPCER and APCER cross, interpolated over candidate thresholds."""
    live = np.asarray(live_scores, np.float64)
    atk = np.asarray(attack_scores, np.float64)
    if live.size == 0 or atk.size == 0:
        return float("nan"), float("nan")
    cands = np.unique(np.concatenate([live, atk, [np.inf]]))
    b = np.array([(live < t).mean() for t in cands])
    a = np.array([(atk >= t).mean() for t in cands])
    i = int(np.argmin(np.abs(a - b)))
    return float((a[i] + b[i]) / 2), float(cands[i])


def threshold_at_bpcer(live_scores: np.ndarray, target: float) -> float:
    """The largest threshold whose BPCER does not exceed `target` on these live scores."""
    live = np.sort(np.asarray(live_scores, np.float64))
    k = int(np.floor(target * live.size))  # at most k lives may fall below the threshold
    return float(live[k]) if live.size else float("nan")


def apcer_at_bpcer(live_scores: np.ndarray, attack_scores: np.ndarray,
                   target: float) -> tuple[float, Rate, Rate]:
    t = threshold_at_bpcer(live_scores, target)
    return t, bpcer(live_scores, t), apcer(attack_scores, t)
