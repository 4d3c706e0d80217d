"""Rolling shutter in the flash analysis: each image row is exposed at its own time.

A CMOS webcam reads its rows one after the other: row y of a frame stamped t is exposed around
t + readout * period * (y / H - 1/2) (the stamp taken as the middle row's exposure centre; any
other convention is a constant offset, which the display delay and the lag check absorb). When
the kiosk screen changes colour mid-frame, the top of the face sees one colour and the bottom
another. One expected screen colour per frame then misreads every row away from the middle,
the more the nearer a colour change: a row profile in the answer that is neither the face's
shape nor flat.

Here the expected light is computed per row of the face crop from the cue timeline, and the
readout fraction, the answer's delay and the exposure are estimated from the data: the timing
whose per-row expected light best explains the face's per-row mean answer. The per-pixel
regression then uses that very timing. With the readout alone (a coarse grid, no delay, a full
frame's exposure) a live face's answer showed bands across the crop wherever a colour change
fell, which the shape figures read as missing shape, and a screen that answers half a frame
late left a row pattern they read as shape. A face answers the kiosk's light at once; a screen
that re-tints itself to follow the kiosk must first see the colour, then draw it at its own
refresh: its delay is what `lag_ms` reports.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.floating]
Cue = tuple[float, float, tuple[float, float, float]]

READOUT_GRID = tuple(float(v) for v in np.linspace(0.0, 1.0, 11))
LAG_GRID_FRAMES = tuple(float(v) for v in np.arange(-0.75, 0.7501, 0.125))
# Exposure as a share of the frame period: a webcam in a bright booth exposes a row for less
# than a frame, which changes how much of a colour change each row sees.
EXPOSURE_GRID = (0.25, 0.4, 0.55, 0.7, 0.85, 1.0)
TIMING_ROUNDS = 2  # rounds of the coordinate search (readout, delay, exposure)
MIN_ROW_PIXELS = 4  # face pixels a crop row needs to count in the timing fit
TIMING_BANDS = 16  # crop rows are pooled into this many bands for the timing search (speed)


def row_emission(times: FloatArray, cues: list[Cue], exposure: float, row_dt: FloatArray,
                 gamma: float) -> FloatArray:
    """Linear screen light per row and frame (R, n, 3), each row averaged over its own exposure
    window centred on times + row_dt[row]."""
    t = (np.asarray(row_dt, np.float64)[:, None] + np.asarray(times, np.float64)[None, :])
    flat = t.reshape(-1, 1)
    t0s = np.array([c[0] for c in cues])[None, :]
    t1s = np.array([c[1] for c in cues])[None, :]
    rgb = np.array([c[2] for c in cues], np.float64) ** gamma
    ov = np.clip(np.minimum(t1s, flat + exposure / 2) - np.maximum(t0s, flat - exposure / 2),
                 0.0, None)
    tot = ov.sum(1, keepdims=True)
    e = np.where(tot > 0, (ov @ rgb) / np.maximum(tot, 1e-12), rgb.mean(0)[None, :])
    return np.asarray(e.reshape(*t.shape, 3))


def crop_row_positions(to_crop: FloatArray, crop: int, frame_h: int) -> FloatArray:
    """Position of each crop row in the frame, as a fraction of the frame height minus 1/2
    (the crop is a similarity of the reference frame: its centre column stands for the row)."""
    m = np.vstack([np.asarray(to_crop, np.float64), [0.0, 0.0, 1.0]])
    inv = np.linalg.inv(m)
    rows = np.arange(crop) + 0.5
    y_img = inv[1, 0] * (crop / 2) + inv[1, 1] * rows + inv[1, 2]
    return np.asarray(y_img / frame_h - 0.5)


def _sse_rows(y: FloatArray, e: FloatArray, w: FloatArray, yy: FloatArray) -> float:
    """Weighted residual of the per-row fits y_r = a_r + e_r k_r (batched normal equations).
    y: (R, n, 3) per-row mean answer; e: (R, n, 3) per-row light; w: (R,) row weights;
    yy: (R,) each row's sum of squared answers (the same for every timing tried)."""
    n = y.shape[1]
    x = np.concatenate([np.ones((len(e), n, 1)), e], axis=2)  # (R, n, 4)
    xt = x.transpose(0, 2, 1)
    xtx = xt @ x + 1e-9 * np.eye(4)[None]  # batched matmul: several times einsum's speed here
    xty = xt @ y
    coef = np.linalg.solve(xtx, xty)
    sse = yy - (coef * xty).sum((1, 2))
    return float((w * np.maximum(sse, 0.0)).sum())


def _bands(row_means: FloatArray, row_weight: FloatArray, row_pos: FloatArray
           ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Pool neighbouring rows into TIMING_BANDS bands (weighted by their face pixels): the
    light changes over a band by a few percent of a frame, and the search costs per row."""
    groups = np.array_split(np.arange(len(row_weight)), min(TIMING_BANDS, len(row_weight)))
    means, weights, pos = [], [], []
    for g in groups:
        w = row_weight[g]
        tot = float(w.sum())
        weights.append(tot)
        if tot > 0:
            means.append(np.einsum("r,rnc->nc", w, row_means[g]) / tot)
            pos.append(float((w * row_pos[g]).sum() / tot))
        else:
            means.append(np.zeros(row_means.shape[1:]))
            pos.append(float(row_pos[g].mean()))
    return np.stack(means), np.array(weights), np.array(pos)


class RowTiming(NamedTuple):
    readout: float  # share of the frame period the rows' read-out spans
    lag: float  # the answer's delay, frames (sub-frame)
    fit: float  # share of the per-row answer's variance the timing explains
    exposure: float  # each row's exposure, share of the frame period


SIDE_ROUNDS = 4  # alternating rounds of the two-sided fit (side_balance)


def estimate_timing(row_means: FloatArray, row_weight: FloatArray, times: FloatArray,
                    cues: list[Cue], fps: float, row_pos: FloatArray, gamma: float
                    ) -> RowTiming:
    """Readout fraction, delay (in frames) and exposure of the per-row answer, and the share of
    the per-row answer's variance that the best timing explains.

    row_means: (R, n, 3) mean of each crop row's face pixels per frame; row_weight: (R,) 0 for
    rows with too few face pixels. Coordinate search from a half readout, no delay and a full
    exposure: readout, delay, exposure, twice, then the readout once more and the delay to a
    sub-step. The per-pixel regression then uses this very timing, so that the rows a timing
    error would misread (bands across the face, a lagging screen's half-frame late answer) do
    not show up as shape."""
    period = 1.0 / fps
    row_means, row_weight, row_pos = _bands(np.asarray(row_means, np.float64),
                                            np.asarray(row_weight, np.float64),
                                            np.asarray(row_pos, np.float64))
    keep = row_weight > 0
    if keep.sum() < 4:
        return RowTiming(0.0, 0.0, 0.0, 1.0)
    y = np.asarray(row_means[keep], np.float64)
    y = y - y.mean(1, keepdims=True)
    w = np.asarray(row_weight[keep], np.float64)
    pos = np.asarray(row_pos[keep], np.float64)
    yy = (y * y).sum((1, 2))

    seen: dict[tuple[float, float, float], float] = {}

    def sse(readout: float, lag: float, exposure: float) -> float:
        key = (readout, lag, exposure)  # each sweep passes the point it starts from again
        if key not in seen:
            seen[key] = _sse_rows(y, row_emission(times, cues, exposure * period,
                                                  row_offsets(readout, lag, pos, period), gamma),
                                  w, yy)
        return seen[key]

    readout, lag, exposure = 0.5, 0.0, 1.0
    for _ in range(TIMING_ROUNDS):
        readout = min(READOUT_GRID, key=lambda r: sse(r, lag, exposure))
        lag = min(LAG_GRID_FRAMES, key=lambda g: sse(readout, g, exposure))
        exposure = min(EXPOSURE_GRID, key=lambda x: sse(readout, lag, x))
    readout = min(READOUT_GRID, key=lambda r: sse(r, lag, exposure))
    best = sse(readout, lag, exposure)
    tot = float((w * yy).sum())
    # Sub-step delay: the parabola through the best grid delay and its neighbours.
    step = LAG_GRID_FRAMES[1] - LAG_GRID_FRAMES[0]
    lo, hi = sse(readout, lag - step, exposure), sse(readout, lag + step, exposure)
    den = lo - 2 * best + hi
    if den > 1e-18:
        lag += float(np.clip(0.5 * (lo - hi) / den, -0.5, 0.5)) * step
    return RowTiming(float(readout), float(lag), 1.0 - best / tot if tot > 1e-18 else 0.0,
                     float(exposure))


def row_offsets(readout: float, lag: float, row_pos: FloatArray, period: float) -> FloatArray:
    """Each row's exposure centre relative to its frame's stamp, for a readout share and a
    delay in frames (a delayed answer is the light of that much earlier)."""
    return np.asarray(readout * period * np.asarray(row_pos, np.float64) - lag * period)


def _row_design(e_rows: FloatArray, crop: int, n: int) -> tuple[FloatArray, FloatArray]:
    """Each crop row's design (a constant, then its lights: (crop, n, 1 + L)) and its Gram
    matrix with a whisker of ridge, which a design of full rank does not feel."""
    x = np.concatenate([np.ones((crop, n, 1)), np.asarray(e_rows, np.float64)], axis=2)
    xtx = np.einsum("rni,rnj->rij", x, x)
    ridge = 1e-9 * np.trace(xtx, axis1=1, axis2=2)[:, None, None] * np.eye(x.shape[2])[None]
    return x, xtx + ridge


def row_regression(y: FloatArray, e_rows: FloatArray, crop: int) -> FloatArray:
    """Per-pixel regression with each crop row's own expected light.

    y: (n, crop*crop*3) frames (row-major crop, colour last); e_rows: (crop, n, L), L = 3 (one
    light per screen channel) or 6 (two: the halves' mean, then their half difference).
    Returns the coefficients (1 + L, crop*crop*3): ambient, then one per light. The rows'
    least-squares solutions are batched (normal equations with a whisker of ridge, which a
    design of full rank does not feel)."""
    n = y.shape[0]
    x, gram = _row_design(e_rows, crop, n)
    k = x.shape[2]
    solve = np.linalg.solve(gram, x.transpose(0, 2, 1))  # (crop, k, n)
    coef = np.einsum("rkn,nrc->krc", solve, np.asarray(y).reshape(n, crop, -1))
    return np.asarray(coef.reshape(k, -1))


def side_balance(y: FloatArray, e_rows: FloatArray, half_diff: FloatArray, crop: int,
                 rounds: int = SIDE_ROUNDS) -> tuple[FloatArray, FloatArray]:
    """Per pixel, beta = (K_left - K_right) / (K_left + K_right): how much more of its answer to
    the screen comes from the left half than from the right, for a screen whose halves show
    different colours; and the regression's coefficients on the halves' mean light.

    A surface answers both halves in its own colour, each with its own share of one colour
    response K (camera channel <- screen channel, per pixel): the frames are A + K e + beta K d
    (e the halves' mean light, d the left half's light minus e). beta is one number per pixel,
    fitted over every frame and channel; a free response to each half (six more numbers per
    pixel) lets the camera's noise drown it. Alternating least squares: K and A on the frames
    with the sides' part taken out, then beta on what they leave; a few rounds converge (the
    first alone reads beta about a third low: part of the sides' answer leaks into K). No
    division by the ambient image: the albedo cancels in the ratio.
    y: (n, crop*crop*3); e_rows, half_diff: (crop, n, 3) per row and frame. Returns beta
    (crop, crop) and the coefficients (4, crop*crop*3) as row_regression gives them."""
    n = y.shape[0]
    y_r = np.asarray(y, np.float64).reshape(n, crop, crop * 3).transpose(1, 0, 2)
    x, gram = _row_design(e_rows, crop, n)
    d = np.asarray(half_diff, np.float64)
    xt, dt = x.transpose(0, 2, 1), d.transpose(0, 2, 1)
    inv = np.linalg.inv(gram)  # (row, 4, 4)
    # Every round works on these cross-products alone (no pass over the frames): with
    # z = D K (the answer to d at beta = 1), sum_t (y - X C) z = K . D'y - C . X'D K, and the
    # refit C = (X'X)^-1 (X'y - X'D K beta).
    xty, dty, xtd, dtd = xt @ y_r, dt @ y_r, xt @ d, dt @ d
    coef = inv @ xty  # (row, 4, pixel-channel): ambient, then the response to each channel
    beta = np.zeros((crop, crop))
    for _ in range(rounds):
        k = coef[:, 1:, :]
        xdk = xtd @ k
        num = (k * dty).sum(1) - (coef * xdk).sum(1)
        den = (k * (dtd @ k)).sum(1)
        beta = num.reshape(crop, crop, 3).sum(2) / np.maximum(
            den.reshape(crop, crop, 3).sum(2), 1e-12)
        coef = inv @ (xty - xdk * np.repeat(beta, 3, axis=1)[:, None, :])
    return np.asarray(beta), np.asarray(coef.transpose(1, 0, 2).reshape(4, -1))
