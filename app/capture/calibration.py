"""Display delay calibration (for `poh kiosk calibrate`, later): how long after the screen reports
a colour as presented (after the buffer swap) the camera sees it.

The booth shows known colours and records; the camera's mean colour over the frame (or the face)
is compared with the shown sequence delayed by each candidate delay, and the delay whose model
explains the response best wins. Pure numpy: the caller supplies the frames' mean colours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAX_DELAY_S = 0.300
STEP_S = 0.005


@dataclass(frozen=True)
class DelayEstimate:
    delay_s: float  # presented -> seen by the camera
    fit: float  # R^2 of the response on the shown light at that delay
    fits: tuple[tuple[float, float], ...]  # (candidate delay, R^2), every candidate


def shown_light(times: np.ndarray, shown: Sequence[tuple[float, float, tuple[float, float, float]]],
                exposure: float, delay: float, gamma: float = 2.2) -> np.ndarray:
    """Linear screen light per channel averaged over each frame's exposure, `delay` late.
    Frames that see no shown colour get NaN."""
    t = np.asarray(times, np.float64)[:, None] - delay
    t0s = np.array([s[0] for s in shown], np.float64)[None, :]
    t1s = np.array([s[1] for s in shown], np.float64)[None, :]
    rgb = np.array([s[2] for s in shown], np.float64) ** gamma
    ov = np.clip(np.minimum(t1s, t + exposure / 2) - np.maximum(t0s, t - exposure / 2), 0.0, None)
    tot = ov.sum(1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, (ov @ rgb) / tot, np.nan)


def estimate_display_delay(times: Sequence[float], frames_mean_rgb: np.ndarray,
                           shown: Sequence[tuple[float, float, tuple[float, float, float]]],
                           max_delay_s: float = MAX_DELAY_S, step_s: float = STEP_S,
                           exposure_s: float | None = None, gamma: float = 2.2
                           ) -> DelayEstimate:
    """The delay in 0..max_delay_s (step_s steps) that best explains the camera's response.

    times: the frames' capture times; frames_mean_rgb: (n, 3) mean colour per frame (any channel
    order and scale: the response is regressed on all three shown channels plus an offset, so the
    camera's colour mixing and gain do not matter); shown: (t_start, t_end, rgb drive 0..1) as
    presented, on the same clock. Only frames that see the shown sequence at every candidate
    delay are used, so every candidate is judged on the same frames. The exposure defaults to
    the median frame interval."""
    t = np.asarray(times, np.float64)
    y = np.asarray(frames_mean_rgb, np.float64)
    if y.ndim != 2 or y.shape != (len(t), 3):
        raise ValueError("frames_mean_rgb must be (n, 3), one row per frame time")
    if not shown:
        raise ValueError("no colour was shown")
    if len(t) < 3 or np.any(np.diff(t) <= 0):
        raise ValueError("need at least three frames with increasing times")
    exposure = float(np.median(np.diff(t))) if exposure_s is None else float(exposure_s)
    delays = np.round(np.arange(0.0, max_delay_s + step_s / 2, step_s), 9)
    models = [shown_light(t, shown, exposure, float(d), gamma) for d in delays]
    usable = np.all(np.stack([np.isfinite(m).all(1) for m in models]), axis=0)
    if usable.sum() < 10:
        raise ValueError("fewer than 10 frames see the shown colours at every candidate delay")
    yu = y[usable]
    total = float(((yu - yu.mean(0)) ** 2).sum())
    if total <= 1e-12:
        raise ValueError("the camera's response does not change: nothing to time")
    fits: list[tuple[float, float]] = []
    for d, m in zip(delays, models, strict=True):
        x = np.hstack([np.ones((int(usable.sum()), 1)), m[usable]])
        coef, *_ = np.linalg.lstsq(x, yu, rcond=None)
        resid = yu - x @ coef
        fits.append((float(d), 1.0 - float((resid ** 2).sum()) / total))
    best = max(fits, key=lambda f: f[1])
    return DelayEstimate(best[0], best[1], tuple(fits))
