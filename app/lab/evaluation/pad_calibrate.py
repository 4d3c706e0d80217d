"""Fit the passive-liveness fusion on the tuning split only and write its calibration file.

Steps: (1) the LBP histograms become one `lbp_score` through a logistic model; to keep the fusion
from trusting an over-fit score, the fusion sees out-of-fold LBP scores (leave one source portrait
out). (2) Forward selection: starting from no signal, add the candidate that most lowers the
out-of-fold criterion (mean over attack species of EER and of APCER at 5% BPCER) until no
candidate improves it; with four tuning portraits a model using every signal learns which
portrait it is looking at. (3) A logistic model fuses the selected signals. (4) The operating logit
is set where the out-of-fold tuning BPCER reaches TARGET_BPCER. (5) The ablation reports each
signal alone and the selected model without each of its signals.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from app.lab.evaluation.pad_data import LIVE, Observation
from app.lab.evaluation.pad_metrics import apcer_at_bpcer, equal_error_rate
from app.lab.simulation.settings import FAMILY_RANGES
from inference.passive.colour import LBP_BINS, LBP_CHANNELS
from inference.passive.fusion import LinearModel, fit_logistic
from inference.passive.liveness import LBP_SIGNAL

log = logging.getLogger(__name__)

# Candidate signals; forward selection on out-of-fold tuning figures keeps those that help.
SIGNALS: tuple[str, ...] = (
    "deep_tree", "moire_peak", "hf_ratio", "face_chroma", "face_black", "context_chroma_p95",
    "dynamic_range", "black_level", "face_luma_spread", "highlight_ratio", "edge_sides",
    LBP_SIGNAL,
)
MIN_GAIN = 0.0  # forward selection stops when no candidate improves the criterion
TARGET_BPCER = 0.03  # tuning operating point: leaves room below the 5% BPCER target
FUSION_L2 = 0.05
LBP_L2 = 0.3
LBP_NAMES = tuple(f"lbp_{c}_{i}" for c in LBP_CHANNELS for i in range(LBP_BINS))


def _usable(obs: Sequence[Observation]) -> list[Observation]:
    return [o for o in obs if o.signals is not None]


def _labels(obs: Sequence[Observation]) -> np.ndarray:
    return np.array([1 if o.species == LIVE else 0 for o in obs], np.int64)


def _folds(obs: Sequence[Observation]) -> np.ndarray:
    names = sorted({o.source for o in obs})
    return np.array([names.index(o.source) for o in obs], np.int64)


def _matrix(obs: Sequence[Observation], names: Sequence[str], lbp: np.ndarray) -> np.ndarray:
    rows = []
    for o, lbp_score in zip(obs, lbp, strict=True):
        assert o.signals is not None  # filtered by _usable
        vals = {**o.signals.values, LBP_SIGNAL: float(lbp_score)}
        rows.append([vals[n] for n in names])
    return np.array(rows, np.float64)


def _lbp_scores(obs: Sequence[Observation], folds: np.ndarray, y: np.ndarray
                ) -> tuple[np.ndarray, LinearModel]:
    hist = np.array([o.signals.lbp for o in obs if o.signals is not None], np.float64)
    oof = np.zeros(len(obs))
    for f in np.unique(folds):
        train = folds != f
        m = fit_logistic(hist[train], y[train], LBP_NAMES, l2=LBP_L2)
        oof[~train] = m.logits(hist[~train])
    return oof, fit_logistic(hist, y, LBP_NAMES, l2=LBP_L2)


def _oof_logits(x: np.ndarray, y: np.ndarray, folds: np.ndarray,
                names: tuple[str, ...]) -> np.ndarray:
    out = np.zeros(len(y))
    for f in np.unique(folds):
        train = folds != f
        out[~train] = fit_logistic(x[train], y[train], names, l2=FUSION_L2).logits(x[~train])
    return out


def _figures(logits: np.ndarray, obs: Sequence[Observation]) -> dict[str, Any]:
    species = np.array([o.species for o in obs])
    live = logits[species == LIVE]
    out: dict[str, Any] = {}
    for sp in sorted(set(species) - {LIVE}):
        atk = logits[species == sp]
        eer, _ = equal_error_rate(live, atk)
        _, b, a = apcer_at_bpcer(live, atk, 0.05)
        out[sp] = {"eer": round(eer, 4), "apcer_at_bpcer5": a.to_dict(), "bpcer": b.to_dict()}
    return out


def _criterion(fig: dict[str, Any]) -> float:
    vals = [(f["eer"] + f["apcer_at_bpcer5"]["rate"]) / 2 for f in fig.values()]
    return float(np.mean(vals))


def select_signals(x: np.ndarray, y: np.ndarray, folds: np.ndarray,
                   obs: Sequence[Observation]) -> tuple[tuple[str, ...], list[dict[str, Any]]]:
    chosen: list[str] = []
    best = 1.0
    path: list[dict[str, Any]] = []
    while len(chosen) < len(SIGNALS):
        trials = {}
        for cand in SIGNALS:
            if cand in chosen:
                continue
            names = (*chosen, cand)
            idx = [SIGNALS.index(n) for n in names]
            trials[cand] = _criterion(_figures(_oof_logits(x[:, idx], y, folds, names), obs))
        cand, value = min(trials.items(), key=lambda kv: kv[1])
        if best - value <= MIN_GAIN:
            break
        chosen.append(cand)
        best = value
        path.append({"added": cand, "criterion": round(value, 4)})
        log.info("selected %s (criterion %.4f)", cand, value)
    return tuple(chosen), path


def calibrate(observations: Sequence[Observation], data: dict[str, Any]) -> dict[str, Any]:
    """The calibration document (see module doc); `data` describes the tuning set."""
    obs = _usable(observations)
    y, folds = _labels(obs), _folds(obs)
    if len(np.unique(folds)) < 2 or y.sum() < 5 or (len(y) - y.sum()) < 5:
        raise ValueError("calibration needs >= 2 source portraits and >= 5 live and attack faces")
    lbp_oof, lbp_model = _lbp_scores(obs, folds, y)
    x_all = _matrix(obs, SIGNALS, lbp_oof)
    names, path = select_signals(x_all, y, folds, obs)
    x = x_all[:, [SIGNALS.index(n) for n in names]]
    oof = _oof_logits(x, y, folds, names)
    fusion = fit_logistic(x, y, names, l2=FUSION_L2)
    # Operating point: the out-of-fold live quantile (in-sample logits of the final model would
    # flatter the live class and put the threshold too high for unseen faces).
    live_oof = np.sort(oof[y == 1])
    operating = float(live_oof[int(np.floor(TARGET_BPCER * live_oof.size))])
    # Score scale: the slope of a one-variable logistic fit of out-of-fold logits (Platt), so
    # that the 0-100 score spreads like a probability rather than bunching up around 50.
    platt = fit_logistic(oof[:, None], y, ("logit",), l2=1e-6)
    scale = float(max(platt.weights[0] / platt.std[0], 0.05))
    ablation: dict[str, Any] = {"selected": _figures(oof, obs)}
    for drop in names:
        keep = tuple(n for n in names if n != drop)
        if keep:
            idx = [names.index(n) for n in keep]
            ablation[f"without {drop}"] = _figures(_oof_logits(x[:, idx], y, folds, keep), obs)
    for only in SIGNALS:
        idx = [SIGNALS.index(only)]
        ablation[f"only {only}"] = _figures(_oof_logits(x_all[:, idx], y, folds, (only,)), obs)
    ablation["all candidates"] = _figures(_oof_logits(x_all, y, folds, SIGNALS), obs)
    counts = {sp: int(sum(o.species == sp for o in observations))
              for sp in sorted({o.species for o in observations})}
    return {
        "version": 1,
        "created": dt.date.today().isoformat(),
        "data": {**data, "samples": counts, "usable_faces": len(obs),
                 "no_or_multiple_faces": len(observations) - len(obs),
                 "family_ranges_tuning": {k: v["tuning"] for k, v in FAMILY_RANGES.items()}},
        "method": (f"logistic fusion (numpy Newton, L2 {FUSION_L2}) of standardised signals; "
                   f"LBP riu2 histograms (Y, Cb, Cr, H, S, V) through their own logistic model "
                   f"(L2 {LBP_L2}); operating logit at out-of-fold tuning BPCER {TARGET_BPCER}; "
                   "folds = source portraits"),
        "operating_logit": round(operating, 6),
        "score_scale": round(scale, 6),
        "fusion": fusion.to_json(),
        "lbp": lbp_model.to_json(),
        "selection": path,
        "tuning_out_of_fold": ablation["selected"],
        "ablation_out_of_fold": ablation,
    }


def write_calibration(doc: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
