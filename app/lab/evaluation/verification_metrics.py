"""Verification error rates from genuine and impostor similarity scores (ISO/IEC 19795-1 terms)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Scores = npt.NDArray[np.float64]

# Doddington's rule of 30: a rate is quoted only where the trials could show 30 errors at it.
RULE_OF_30 = 30


@dataclass(frozen=True)
class OperatingPoint:
    target_fmr: float
    threshold: float | None  # None: too few impostor pairs to carry this FMR
    fmr: float | None
    fnmr: float | None
    false_non_matches: int | None


@dataclass(frozen=True)
class VerificationReport:
    genuine_pairs: int
    impostor_pairs: int
    eer: float
    eer_threshold: float
    points: tuple[OperatingPoint, ...]
    genuine_min: float
    impostor_max: float


def pair_scores(embeddings: npt.NDArray[np.float32], labels: list[str]) -> tuple[Scores, Scores]:
    """All unordered pairs: cosine similarities of same-label and different-label pairs."""
    emb = embeddings.astype(np.float64)
    sims = emb @ emb.T
    lab = np.asarray(labels)
    iu = np.triu_indices(len(labels), k=1)
    same = lab[iu[0]] == lab[iu[1]]
    values = sims[iu]
    return values[same], values[~same]


def operating_point(genuine: Scores, impostor: Scores, target_fmr: float) -> OperatingPoint:
    n_imp = len(impostor)
    if n_imp * target_fmr < RULE_OF_30 / 10 or n_imp == 0:
        # fewer than 3 expected false matches at this FMR: the data cannot carry the figure
        return OperatingPoint(target_fmr, None, None, None, None)
    imp_sorted = np.sort(impostor)[::-1]
    allowed = int(np.floor(target_fmr * n_imp))
    # the threshold sits just above the (allowed+1)-th highest impostor score
    threshold = float(np.nextafter(imp_sorted[allowed], np.inf)) if allowed < n_imp else -1.0
    fmr = float(np.mean(impostor >= threshold))
    misses = int(np.sum(genuine < threshold))
    fnmr = misses / len(genuine) if len(genuine) else float("nan")
    return OperatingPoint(target_fmr, threshold, fmr, fnmr, misses)


def equal_error_rate(genuine: Scores, impostor: Scores) -> tuple[float, float]:
    """EER and its threshold, scanning every observed score as a threshold."""
    thresholds = np.unique(np.concatenate([genuine, impostor]))
    g = np.sort(genuine)
    i = np.sort(impostor)
    fnmr = np.searchsorted(g, thresholds, side="left") / max(len(g), 1)
    fmr = 1.0 - np.searchsorted(i, thresholds, side="left") / max(len(i), 1)
    k = int(np.argmin(np.abs(fnmr - fmr)))
    return float((fnmr[k] + fmr[k]) / 2), float(thresholds[k])


def verification_report(
    genuine: Scores, impostor: Scores, fmr_targets: tuple[float, ...] = (1e-2, 1e-3)
) -> VerificationReport:
    eer, eer_t = equal_error_rate(genuine, impostor)
    return VerificationReport(
        genuine_pairs=len(genuine),
        impostor_pairs=len(impostor),
        eer=eer,
        eer_threshold=eer_t,
        points=tuple(operating_point(genuine, impostor, t) for t in fmr_targets),
        genuine_min=float(genuine.min()) if len(genuine) else float("nan"),
        impostor_max=float(impostor.max()) if len(impostor) else float("nan"),
    )
