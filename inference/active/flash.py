"""Flash challenge analysis: does the face answer the screen's colour sequence like a 3D skin
surface, on time?

Inputs are frames, their capture times, the colour cues shown, and face landmarks at a few
keyframes (the caller tracks them; in between they are interpolated). Frames are aligned to the
reference keyframe by a similarity fit of the mesh and cut to a small face crop. Per pixel, the
linear-light response is regressed on the emitted light: I(t) = A + K e(t); A is the ambient
image, K the flash response. Checks:
- timing: the regression's fit (R^2) over trial delays; the best delay must be within a frame;
- strength: flash response per unit ambient, too weak = a self-emissive screen;
- relief: K / A per pixel cancels albedo and printed shading, leaving the surface's orientation
  towards the screen; only the diffuse part of K counts (a window's slope of K_c against A_c:
  glass mirrors the screen's light in every channel alike, skin answers in its own colour), and
  after removing a best-fit quadric (tilt and bend of a sheet) its spread must be that of a face.
  A print or relit replay is flat; a glare spot on a replay's glass is specular.
- sides (two-sided plans, the screen's halves in different colours): per pixel, how much more
  of the answer comes from the left half than from the right; a face's follows its normals'
  left-right component, a sheet's or a screen's is one number (inference/active/shape.py).
Auto exposure and white balance drift are divided out with a background region's gain per frame;
head sway left over by the registration is removed by Lucas-Kanade steps against the ambient
image (with a gain and offset per channel, so the flash's colour is not read as motion).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from inference.active.colour import camera_colour_spread
from inference.active.rolling import (
    MIN_ROW_PIXELS,
    Cue,
    crop_row_positions,
    estimate_timing,
    row_emission,
    row_offsets,
    row_regression,
    side_balance,
)
from inference.active.shape import (
    dense_normals,
    dense_shape,
    explained_beyond,
    normal_terms,
    partial_mesh_r2,
    side_answer,
)
from inference.align import similarity_transform

FloatArray = npt.NDArray[np.floating]  # any float width: the analysis mixes f32 and f64

CROP = 64  # face crop side (pixels) for the per-pixel regression
SCREEN_GAMMA = 2.2
EDGE_KEEP_PERCENT = 40.0
SHIFT_PASSES = 2  # Lucas-Kanade corrections of the residual head sway
SLOPE_WINDOW = 5  # pixels pooled per local diffuse/specular split
CLIP_LEVEL = 0.95  # linear level at which a crop pixel is taken as clipped
MIN_DIFFUSE_LEVEL = 0.05  # median diffuse K/A below which a face does not answer diffusely
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
             377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67,
             109)
_SRGB_LUT = np.array([(i / 255) / 12.92 if i / 255 <= 0.04045 else ((i / 255 + 0.055) / 1.055)
                      ** 2.4 for i in range(256)], np.float32)


@dataclass(frozen=True)
class FlashThresholds:
    min_fit: float = 0.5  # R^2 of the face-mean answer at the best delay
    max_lag_frames: float = 0.75
    # Share of the per-row answer that the camera's own timing (readout, delay, exposure) must
    # explain. Light reflected by the face reaches every row as the screen changes; a replay that
    # re-tints itself shows its guess on a display that holds each picture for its own refresh,
    # so parts of rows answer at the wrong moment. Set after the fourth cross-family round, whose
    # passing re-tints read 0.69-0.91 against live faces at 0.979 and above on both families,
    # so chosen on family B: B's figures with it are not cross-family evidence (docs/accuracy.md,
    # Active liveness, fifth round).
    min_row_fit: float = 0.95
    min_strength: float = 0.2  # flash response per unit ambient (white screen), 25th pct
    # Colour spread of K/A in the camera's own colour space (tint_camera): glass mirrors the
    # screen's colour (spreads of 2 and more), diffuse skin answers in its own colour. A loose
    # physical bound, not a tuned one: a camera's colour matrix left a live face's spread
    # below 0.5 on both families.
    max_tint: float = 1.0
    min_relief: float = 0.038  # reported since the cross-family check; no longer gating


@dataclass(frozen=True)
class FlashFigures:
    fit: float
    lag_frames: float
    strength: float
    relief: float  # robust spread of K/A after removing a quadric, per its level
    frames: int
    shape_corr: float = 0.0  # correlation of that residual with the mesh orientation map
    tint: float = 0.0  # spread of K/A across colour channels (p90 over the face)
    # Share of the flat-removed K/A's variance over the mesh points that the mesh's own normals
    # (first and second order) explain: a face answers with its shape, a print or a re-tint
    # with its albedo or its screen. One of the shape model's four figures
    # (inference/active/shape_model.py).
    mesh_r2: float = 0.0
    # Rolling shutter (inference/active/rolling.py): the readout fraction and the answer's delay
    # (frames, sub-frame) that best explain the per-row answer, and the share they explain.
    readout: float = 0.0
    row_lag: float = 0.0
    row_fit: float = 0.0
    # What the mesh normals explain of K/A beyond the picture (inference/active/shape.py).
    mesh_partial: float = 0.0
    # Median over the face of the colour spread (tint is its 90th percentile): a camera's colour
    # matrix tints the saturated or dark few pixels of a live face, glass tints them all.
    tint_median: float = 0.0
    # The colour spread in the camera's own colour space (inference/active/colour.py) and the
    # saturation change that gave it.
    tint_camera: float = 0.0
    saturation: float = 0.0
    # The normals' share of K/A over every usable face pixel (the mesh's depth spread over the
    # crop), alone and beyond the picture terms (inference/active/shape.py).
    dense_r2: float = 0.0
    dense_partial: float = 0.0
    exposure: float = 1.0  # each row's exposure, share of the frame period (rolling.py)
    # Screen halves of different colours (inference/active/shape.py, side_answer): how strongly,
    # and how much, the left-minus-right answer follows the mesh's n_x. 0 for a whole screen.
    side_slope: float = 0.0
    side_partial: float = 0.0

    def to_dict(self) -> dict[str, float]:
        return {"fit_r2": round(self.fit, 4), "lag_frames": round(self.lag_frames, 3),
                "strength": round(self.strength, 4), "relief": round(self.relief, 4),
                "shape_corr": round(self.shape_corr, 4), "tint": round(self.tint, 4),
                "mesh_r2": round(self.mesh_r2, 4), "readout": round(self.readout, 3),
                "row_lag": round(self.row_lag, 4), "row_fit": round(self.row_fit, 4),
                "mesh_partial": round(self.mesh_partial, 4),
                "tint_median": round(self.tint_median, 4),
                "tint_camera": round(self.tint_camera, 4), "saturation": round(self.saturation, 3),
                "dense_r2": round(self.dense_r2, 4), "dense_partial": round(self.dense_partial, 4),
                "exposure": round(self.exposure, 3),
                "side_slope": round(self.side_slope, 4),
                "side_partial": round(self.side_partial, 4), "flash_frames": self.frames}


def emission(times: FloatArray, cues: list[tuple[float, float, tuple[float, float, float]]],
             exposure: float, shift: float = 0.0) -> FloatArray:
    """Screen light (linear, per channel) averaged over each frame's exposure around t + shift."""
    t = np.asarray(times, np.float64)[:, None] + shift
    t0s = np.array([c[0] for c in cues])[None, :]
    t1s = np.array([c[1] for c in cues])[None, :]
    rgb = np.array([c[2] for c in cues], np.float64) ** SCREEN_GAMMA
    ov = np.clip(np.minimum(t1s, t + exposure / 2) - np.maximum(t0s, t - exposure / 2), 0.0, None)
    tot = ov.sum(1, keepdims=True)
    # Outside every cue (should not happen inside the flash window) the screen mean is assumed.
    return np.where(tot > 0, (ov @ rgb) / np.maximum(tot, 1e-12), rgb.mean(0)[None, :])


def phase_shift(ref: np.ndarray, img: np.ndarray, window: np.ndarray
                ) -> tuple[tuple[float, float], float]:
    """cv2.phaseCorrelate on copies: OpenCV 5.0 multiplies its inputs by the window in place,
    so a reference reused over a recording would shrink to its centre, call after call, and
    the late frames' shifts would come out wrong (measured: wrong by 5-15 pixels from about
    the 80th call)."""
    (dx, dy), response = cv2.phaseCorrelate(ref.copy(), img.copy(), window)
    return (float(dx), float(dy)), float(response)


def _smooth_shifts(shifts: FloatArray, half: int = 2, jump: float = 1.0) -> FloatArray:
    """Replace the estimates that jump away from their neighbours (Hampel filter: more than
    `jump` fine pixels from the running median over 2*half+1 frames), and fill failed ones
    (NaN) from their neighbours. Sway moves a head a fraction of a pixel per frame and is
    kept; a single estimate the flash colour threw off is not, and a frame left unregistered
    by a pixel shows up as relief."""
    n = len(shifts)
    out = shifts.copy()
    for i in range(n):
        win = shifts[max(0, i - half):i + half + 1]
        good = win[~np.isnan(win).any(axis=1)]
        if not len(good):
            continue
        med = np.median(good, axis=0)
        if np.isnan(shifts[i]).any() or float(np.abs(shifts[i] - med).max()) > jump:
            out[i] = med
    missing = np.isnan(out).any(axis=1)
    if missing.all():
        return np.zeros_like(shifts)
    idx = np.arange(n)
    for k in range(2):
        out[missing, k] = np.interp(idx[missing], idx[~missing], out[~missing, k])
    return out


def _undo_residual_shifts(y: FloatArray, amb: FloatArray, mask: np.ndarray) -> FloatArray:
    """First-order correction of what registration left (Lucas-Kanade against the ambient
    image): each frame is modelled as a gain and offset per channel of the ambient image plus
    its gradient times a shift, so the flash's change of colour does not read as motion."""
    a = amb.reshape(CROP, CROP, 3).astype(np.float32)
    gx = cv2.Sobel(a, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(a, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    sel = np.repeat(mask.reshape(-1), 3)
    chan = np.tile(np.eye(3), (CROP * CROP, 1))  # (P*3, 3) which channel each entry is
    g = np.stack([gx.reshape(-1), gy.reshape(-1)], 1).astype(np.float64)  # (P*3, 2)
    design = np.hstack([chan * a.reshape(-1, 1), chan, g])[sel]
    sol, *_ = np.linalg.lstsq(design, y[:, sel].T, rcond=None)  # (8, n)
    return np.asarray(y - sol[6:].T @ g.T)


def diffuse_ratio(amb_c: FloatArray, resp_c: FloatArray, mask: np.ndarray) -> FloatArray:
    """Flash response per unit ambient light of the diffuse part alone (dichromatic model).

    Skin answers in its own colour (K_c = s A_c), glass mirrors the screen's light equally in
    every channel (K_c += g): over a small window, the slope of K_c against A_c across pixels
    and channels is s, the specular offset g falls into the intercept. K/A itself would read a
    glare spot, or the glass's uniform reflection divided by the albedo, as relief."""
    m = mask.astype(np.float32)[..., None]

    def pooled(v: FloatArray) -> np.ndarray:
        return cv2.boxFilter((v * m).sum(-1).astype(np.float32), -1,
                             (SLOPE_WINDOW, SLOPE_WINDOW), normalize=False)

    a = amb_c.astype(np.float64)
    k = resp_c.astype(np.float64)
    cnt = np.maximum(pooled(np.ones_like(a)), 1.0)
    sa, sk = pooled(a), pooled(k)
    var = pooled(a * a) - sa * sa / cnt
    cov = pooled(a * k) - sa * sk / cnt
    return np.asarray(cov / np.maximum(var, 1e-12), np.float32)


def _smoothed_maps(coef: FloatArray) -> tuple[np.ndarray, np.ndarray]:
    """Ambient image A_c and response to white K_c per channel from the per-pixel regression's
    coefficients (constant, then one per screen channel), lightly blurred."""
    amb_c = cv2.GaussianBlur(coef[0].reshape(CROP, CROP, 3).astype(np.float32), (0, 0), 1.0)
    resp_c = cv2.GaussianBlur(coef[1:4].sum(0).reshape(CROP, CROP, 3).astype(np.float32),
                              (0, 0), 1.0)
    return amb_c, resp_c


def mean_cues(left: list[Cue], right: list[Cue]) -> list[Cue]:
    """Whole-screen cues whose light (drive ** gamma) is the two halves' mean: what the face as a
    whole, a row's mean or a flat sheet facing the screen answers to."""
    out = []
    for (t0, t1, a), (_, _, b) in zip(left, right, strict=True):
        m = [((x ** SCREEN_GAMMA + y ** SCREEN_GAMMA) / 2) ** (1 / SCREEN_GAMMA)
             for x, y in zip(a, b, strict=True)]
        out.append((t0, t1, (m[0], m[1], m[2])))
    return out


def _diffuse_ratio_of(e_rows: FloatArray, y: FloatArray, mask: np.ndarray, balance: FloatArray
                      ) -> FloatArray:
    amb_c, resp_c = _smoothed_maps(row_regression(y, e_rows, CROP))
    return diffuse_ratio(amb_c * balance, resp_c, mask)


def channel_balance(amb_px: FloatArray, resp_px: FloatArray) -> FloatArray:
    """Per colour channel, how strongly the face answers the white flash per unit of ambient
    light, over the mean of the three (3,). A room light of another colour than the screen's
    white makes the channels answer in different proportions (bluish room: red answers most);
    pooled across channels, that difference would follow the albedo's colour and paint a
    print's picture into the relief. Scaling A_c by it puts the channels back in step.

    Estimated under the same dichromatic model as the relief (K_c = s b_c A_c + g per pixel,
    g the glare, equal in every channel): the b whose scaled ambient colour lines up with the
    answer's colour once each pixel's grey offset is removed. A plain per-channel median of
    K_c / A_c would read glare as colour (g / A_c is largest in the darkest channel). A white
    room gives ones; so does a surface with no diffuse answer (a screen): nothing to balance."""
    a = np.asarray(amb_px, np.float64)
    k = np.asarray(resp_px, np.float64)
    if len(a) < 50 or np.median(k.sum(1) / np.maximum(a.sum(1), 1e-4)) < MIN_DIFFUSE_LEVEL:
        return np.ones(3)
    if len(a) > 600:  # a few hundred pixels pin three numbers down; the grid below is costly
        pick = np.linspace(0, len(a) - 1, 600).astype(int)
        a, k = a[pick], k[pick]
    kc = k - k.mean(1, keepdims=True)

    def cost(u: np.ndarray, v: np.ndarray) -> np.ndarray:  # b = (e^u, 1, e^v), a grid of them
        b = np.stack([np.exp(u), np.ones_like(u), np.exp(v)], -1)  # (G, 3)
        x = a[None] * b[:, None, :]  # (G, P, 3)
        xc = x - x.mean(2, keepdims=True)
        slope = (xc * kc[None]).sum(2) / np.maximum((xc * xc).sum(2), 1e-12)
        return np.asarray(((kc[None] - slope[..., None] * xc) ** 2).sum((1, 2)))

    best = np.zeros(2)
    for span, step in ((1.0, 0.125), (0.125, 0.025)):  # log ratios to green, coarse then fine
        g = np.arange(-span, span + step / 2, step)
        uu, vv = np.meshgrid(best[0] + g, best[1] + g, indexing="ij")
        c = cost(uu.ravel(), vv.ravel())
        i = int(np.argmin(c))
        best = np.array([uu.ravel()[i], vv.ravel()[i]])
    b = np.array([np.exp(best[0]), 1.0, np.exp(best[1])])
    return np.asarray(b / b.mean(), np.float64)


def interpolate_landmarks(times: FloatArray, key_t: list[float], key_pts: list[FloatArray]
                          ) -> list[FloatArray]:
    kt = np.asarray(key_t)
    kp = np.stack(key_pts)
    out = []
    for t in times:
        j = int(np.clip(np.searchsorted(kt, t), 1, len(kt) - 1)) if len(kt) > 1 else 0
        if len(kt) == 1:
            out.append(kp[0])
            continue
        w = float(np.clip((t - kt[j - 1]) / max(kt[j] - kt[j - 1], 1e-9), 0.0, 1.0))
        out.append((1 - w) * kp[j - 1] + w * kp[j])
    return out


def _crop_transform(ref: FloatArray) -> np.ndarray:
    """Similarity from reference image pixels to the CROP x CROP face crop."""
    xy = ref[:, :2]
    lo, hi = xy.min(0), xy.max(0)
    side = float((hi - lo).max()) * 1.05
    c = (lo + hi) / 2
    s = CROP / side
    return np.array([[s, 0, CROP / 2 - s * c[0]], [0, s, CROP / 2 - s * c[1]]], np.float64)


def _background_boxes(shape: tuple[int, ...], ref: FloatArray) -> list[tuple[int, int, int, int]]:
    """Top corners of the frame left of and right of the face (the wall behind the person)."""
    h, w = shape[:2]
    x1, y1 = ref[:, :2].min(0)
    x2, _ = ref[:, :2].max(0)
    boxes = []
    bh = max(4, int(0.35 * h))
    if x1 > 0.1 * w:
        boxes.append((0, 0, int(min(x1 - 0.03 * w, 0.25 * w)), bh))
    if x2 < 0.9 * w:
        boxes.append((int(max(x2 + 0.03 * w, 0.75 * w)), 0, w, bh))
    return [b for b in boxes if b[2] - b[0] >= 4 and y1 > 0]


def _frame_gains(frames: list[np.ndarray], boxes: list[tuple[int, int, int, int]]
                 ) -> np.ndarray:
    """Exposure and white-balance gain of each frame (n, 3), from the wall behind the person:
    per pixel, the frame's value over that pixel's median over frames; then the median over
    pixels. A mean over the boxes would also follow whatever else they catch — the edge of a
    replay screen or a print that answers the flash, a shoulder swaying in and out — and
    dividing by that takes part of the face's answer away."""
    n = len(frames)
    if not boxes:
        return np.ones((n, 3))
    px = np.stack([np.concatenate([_SRGB_LUT[f[y1:y2:2, x1:x2:2]].reshape(-1, 3)
                                   for x1, y1, x2, y2 in boxes]) for f in frames])  # (n, P, 3)
    ref = np.median(px, axis=0)
    lit = (ref > 0.02).all(axis=1)  # dark pixels are mostly noise
    if lit.sum() < 16:
        return np.ones((n, 3))
    gains = np.median(px[:, lit] / ref[lit], axis=1).astype(np.float64)
    return np.where(gains > 1e-3, gains, 1.0)


def _expected_shading(pts: FloatArray) -> FloatArray:
    """How much each mesh point faces the camera (and the screen around it): n . towards."""
    normal = mesh_normals(pts)
    return np.asarray(np.abs(normal[:, 2]))


def mesh_normals(pts: FloatArray) -> FloatArray:
    """Unit normal of the mesh at each point (PCA of its 10 nearest neighbours in the image),
    turned towards the camera (image z points away from it)."""
    p = pts[:, :3].astype(np.float64)
    d2 = ((p[:, None, :2] - p[None, :, :2]) ** 2).sum(-1)
    nn = np.argpartition(d2, 10, axis=1)[:, :10]
    nb = p[nn]  # (N, 10, 3)
    cen = nb - nb.mean(1, keepdims=True)
    cov = np.einsum("nki,nkj->nij", cen, cen)
    _, vecs = np.linalg.eigh(cov)
    normal = vecs[:, :, 0]  # smallest eigenvalue
    normal = normal / np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-9)
    return np.asarray(np.where(normal[:, 2:3] > 0, -normal, normal))


def mesh_r2(xs: FloatArray, ys: FloatArray, ratio_pts: FloatArray, normals: FloatArray) -> float:
    """Share of K/A at the mesh points left after a quadric in the image that the normal terms
    (nx, ny, nz, nx^2, ny^2, nx ny: Lambert's ratio of screen to room cosines, to second order,
    whatever the room light's direction; inference/active/shape.py) explain."""
    return explained_beyond(np.asarray(ratio_pts, np.float64),
                            np.stack([np.ones_like(xs), xs, ys, xs * xs, xs * ys, ys * ys], 1),
                            normal_terms(normals))


def _remove_quadric(x: FloatArray, y: FloatArray, v: FloatArray) -> FloatArray:
    a = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], 1)
    coef, *_ = np.linalg.lstsq(a, v, rcond=None)
    return np.asarray(v - a @ coef)


def _corr(a: FloatArray, b: FloatArray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 1e-12 else 0.0


def analyze_flash(frames: list[np.ndarray], times: FloatArray, landmarks: list[FloatArray],
                  cues: list[Cue], fps: float, maps: dict[str, np.ndarray] | None = None,
                  cues_right: list[Cue] | None = None) -> FlashFigures:
    """frames: BGR uint8; landmarks: (478, 3) per frame (interpolated between keyframes).
    cues: the whole screen's colours, or its left half's (as the person sees it) when
    cues_right gives the right half's at the same times."""
    left = cues
    if cues_right is not None:
        cues = mean_cues(left, cues_right)
    n = len(frames)
    ref = landmarks[n // 2]
    to_crop = _crop_transform(ref)
    bg_boxes = _background_boxes(frames[0].shape, ref)
    crops = np.empty((n, CROP, CROP, 3), np.float32)
    fine = 2 * CROP  # warp at twice the crop size, then box-filter down (no aliasing)
    to_fine = np.vstack([to_crop * 2.0, [0, 0, 1]])
    sims = [similarity_transform(pts[:468:4, :2], ref[:468:4, :2]).astype(np.float64)
            for pts in landmarks]
    # A still head mostly sways: when no frame turns or scales noticeably, keep only the
    # translation, so that landmark jitter does not wobble the crop (phase correlation below
    # refines the translation to a fraction of a pixel).
    still = all(abs(np.linalg.det(m[:, :2]) - 1.0) < 0.04 and abs(m[1, 0]) < 0.035 for m in sims)
    mats: list[np.ndarray] = []
    for sim in sims:
        m = sim.copy()
        if still:
            m[:, :2] = np.eye(2)
        mats.append(to_fine @ np.vstack([m, [0, 0, 1]]))
    # Sub-pixel refinement: interpolated keyframe meshes miss head sway between keyframes;
    # phase correlation of each face crop against the reference crop finds the residual shift,
    # then a Hampel filter over frames drops the estimates a flash colour threw off.
    # Warping 8-bit frames then linearising the small crop is much cheaper than the reverse.
    window = cv2.createHanningWindow((fine, fine), cv2.CV_32F)
    ref_grey = cv2.warpAffine(frames[n // 2], mats[n // 2][:2], (fine, fine),
                              flags=cv2.INTER_LINEAR)
    ref_grey = cv2.cvtColor(ref_grey, cv2.COLOR_BGR2GRAY).astype(np.float32)
    shifts = np.full((n, 2), np.nan)
    shifts[n // 2] = 0.0
    for i in range(n):
        if i != n // 2:
            warped = cv2.warpAffine(frames[i], mats[i][:2], (fine, fine), flags=cv2.INTER_LINEAR)
            grey = cv2.cvtColor(warped, cv2.COLOR_BGR2GRAY).astype(np.float32)
            (dx, dy), _ = phase_shift(ref_grey, grey, window)
            if abs(dx) < fine / 8 and abs(dy) < fine / 8:
                shifts[i] = (dx, dy)
    shifts = _smooth_shifts(shifts)
    for i in range(n):
        fix = np.array([[1, 0, -shifts[i, 0]], [0, 1, -shifts[i, 1]], [0, 0, 1]], np.float64)
        warped = cv2.warpAffine(frames[i], (fix @ mats[i])[:2], (fine, fine),
                                flags=cv2.INTER_LINEAR)
        crops[i] = cv2.resize(_SRGB_LUT[warped], (CROP, CROP), interpolation=cv2.INTER_AREA)
    # Pixels the camera clipped at some frame do not answer the flash linearly.
    clipped = crops.max(axis=(0, 3)) >= CLIP_LEVEL
    crops /= _frame_gains(frames, bg_boxes)[:, None, None, :].astype(np.float32)

    oval = ref[list(FACE_OVAL), :2]
    hull = cv2.transform(oval[None].astype(np.float64), to_crop)[0]
    mask = np.zeros((CROP, CROP), np.uint8)
    cv2.fillPoly(mask, [np.round(hull).astype(np.int32)], 1)
    mask = cv2.erode(mask, np.ones((5, 5), np.uint8)).astype(bool)
    if mask.sum() < 50:
        return FlashFigures(0.0, 0.0, 0.0, 0.0, n)

    # Timing: fit the face-mean answer at trial delays (response = emission shifted by -lag).
    face = crops[:, mask].mean(1).astype(np.float64)  # (n, 3)
    exposure = 1.0 / fps
    best = (-np.inf, 0.0)
    for lag in np.arange(-3.0, 3.01, 0.25):
        e = emission(times, cues, exposure, shift=-lag / fps)
        x = np.hstack([np.ones((n, 1)), e])
        coef, *_ = np.linalg.lstsq(x, face, rcond=None)
        resid = face - x @ coef
        r2 = 1.0 - float((resid ** 2).sum() / max(((face - face.mean(0)) ** 2).sum(), 1e-12))
        if r2 > best[0]:
            best = (r2, float(lag))
    fit, lag = best

    # Rolling shutter: each crop row gets the light its own image row saw (readout, delay and
    # exposure estimated from the per-row mean answer), then the per-pixel regression at that
    # timing: ambient image A and response to white K.
    counts = mask.sum(1)
    row_means = np.stack([crops[:, r][:, mask[r]].mean(1) if counts[r] else np.zeros((n, 3))
                          for r in range(CROP)]).astype(np.float64)  # (CROP, n, 3)
    row_pos = crop_row_positions(to_crop, CROP, frames[0].shape[0])
    timing = estimate_timing(
        row_means, np.where(counts >= MIN_ROW_PIXELS, counts, 0).astype(np.float64), times, cues,
        fps, row_pos, SCREEN_GAMMA)
    readout, row_lag, row_fit = timing.readout, timing.lag, timing.fit
    offsets = row_offsets(readout, row_lag, row_pos, exposure)
    e_rows = row_emission(times, cues, timing.exposure * exposure, offsets, SCREEN_GAMMA)
    half_diff = None
    if cues_right is not None:  # the left half's light minus the halves' mean
        half_diff = row_emission(times, left, timing.exposure * exposure, offsets,
                                 SCREEN_GAMMA) - e_rows
    y: FloatArray = crops.reshape(n, -1).astype(np.float64)
    coef = row_regression(y, e_rows, CROP)  # (4, CROP*CROP*3)
    for _ in range(SHIFT_PASSES):
        y = _undo_residual_shifts(y, coef[0], mask)
        coef = row_regression(y, e_rows, CROP)
    beta = None
    if half_diff is not None:  # the halves' shares, and the answer to their mean without them
        beta, coef = side_balance(y, e_rows, half_diff, CROP)
    amb_c, resp_c = _smoothed_maps(coef)
    amb_s, resp_s = amb_c.sum(-1), resp_c.sum(-1)  # blurring is linear: blur of the sums
    # Skin answers everywhere on the face; a glare patch on glass only where it sits: take a
    # low quantile of the per-pixel answer, not its mean.
    strength = float(np.percentile(resp_s[mask] / np.maximum(amb_s[mask], 1e-4), 25))
    # Colour: diffuse skin answers in its own colour (K_c / A_c equal across channels up to
    # one illuminant factor per channel); glass mirrors the screen's colour whatever the face.
    bright = mask & (amb_s > 0.35 * float(np.median(amb_s[mask])))
    r_c = resp_c[bright] / np.maximum(amb_c[bright], 1e-4)
    rho = np.log(np.maximum(r_c / np.maximum(np.median(r_c, axis=0), 1e-6), 1e-3))
    tint = float(np.percentile(rho.std(axis=1), 90)) if len(rho) >= 50 else 1.0
    tint_med = float(np.median(rho.std(axis=1))) if len(rho) >= 50 else 1.0
    tint_cam, sat = camera_colour_spread(amb_c[bright], resp_c[bright])
    balance = channel_balance(amb_c[bright], resp_c[bright])
    ratio = diffuse_ratio(amb_c * balance.astype(np.float32), resp_c, mask)
    if maps is not None:  # for inspection: the maps behind the figures
        maps.update(ambient=amb_s, response=resp_s, ratio=ratio, mask=mask, ambient_rgb=amb_c,
                    response_rgb=resp_c, bright=bright)

    # Relief: diffuse K/A over the bright enough face pixels (dark ones: quantisation and noise
    # rule), minus the best-fit quadric (a sheet's tilt and bend); its robust spread per its level.
    ok = bright.copy()
    ok &= cv2.dilate(clipped.astype(np.uint8),
                     np.ones((SLOPE_WINDOW, SLOPE_WINDOW), np.uint8)) == 0
    unclipped = ok.copy()
    # Pixels on strong albedo edges (eyes, brows, lips) carry registration error, not shape:
    # keep the smoother half of the face, where relief shows as shading.
    log_a = np.log(np.maximum(amb_s, 1e-4))
    edge = np.hypot(cv2.Sobel(log_a, cv2.CV_32F, 1, 0), cv2.Sobel(log_a, cv2.CV_32F, 0, 1))
    if ok.sum() >= 100:
        ok &= edge <= float(np.percentile(edge[ok], EDGE_KEEP_PERCENT))
    yy, xx = np.nonzero(ok)
    if len(yy) < 50:
        return FlashFigures(fit, lag, strength, 0.0, n, 0.0, tint, 0.0, readout, row_lag,
                            row_fit, 0.0, tint_med, tint_cam, sat, exposure=timing.exposure)
    level = float(np.median(ratio[yy, xx]))
    if level < MIN_DIFFUSE_LEVEL:  # no diffuse answer at all (a screen): no relief to speak of
        return FlashFigures(fit, lag, strength, 0.0, n, 0.0, tint, 0.0, readout, row_lag,
                            row_fit, 0.0, tint_med, tint_cam, sat, exposure=timing.exposure)

    def spread(v: FloatArray) -> float:
        flat = _remove_quadric((xx - CROP / 2) / CROP, (yy - CROP / 2) / CROP,
                               v[yy, xx].astype(np.float64))
        return float(1.4826 * np.median(np.abs(flat - np.median(flat))) / level)

    # The camera's noise spreads K/A too, the more so the weaker the screen: half the difference
    # of the maps from even and from odd frames has the noise of the full map and no relief;
    # only the spread above it counts.
    halves = [_diffuse_ratio_of(e_rows[:, k::2], y[k::2], mask, balance) for k in (0, 1)]
    noise = spread((halves[0] - halves[1]) / 2)
    relief = float(np.sqrt(max(spread(ratio) ** 2 - noise ** 2, 0.0)))
    # Also reported: agreement with the orientation map of the mesh (sign depends on the room).
    pts_c = cv2.transform(ref[None, :468, :2].astype(np.float64), to_crop)[0]
    xi = np.clip(np.round(pts_c[:, 0]).astype(int), 0, CROP - 1)
    yi = np.clip(np.round(pts_c[:, 1]).astype(int), 0, CROP - 1)
    inside = ok[yi, xi]
    shape_corr = r2_mesh = partial = 0.0
    if inside.sum() >= 30:
        xs = (pts_c[inside, 0] - CROP / 2) / CROP
        ys = (pts_c[inside, 1] - CROP / 2) / CROP
        normals = mesh_normals(ref[:468])[inside]
        ratio_pts = ratio[yi, xi][inside].astype(np.float64)
        shape_corr = _corr(_remove_quadric(xs, ys, ratio_pts),
                           _remove_quadric(xs, ys, np.abs(normals[:, 2])))
        r2_mesh = mesh_r2(xs, ys, ratio_pts, normals)
        partial = partial_mesh_r2(xs, ys, ratio_pts, normals,
                                  amb_c[yi, xi][inside] * balance[None, :])
    # Every usable pixel, edges included (the picture terms answer for what edges leak).
    scale = float(np.sqrt(abs(np.linalg.det(to_crop[:, :2]))))
    pts_z = np.column_stack([pts_c, ref[:468, 2] * scale])
    dense_n, covered = dense_normals(pts_z, CROP)
    d_r2, d_partial = dense_shape(ratio, amb_c * balance[None, None, :], unclipped & covered,
                                  dense_n)
    side_slope = side_partial = 0.0
    if beta is not None:
        side_slope, side_partial = side_answer(beta, unclipped & covered, dense_n)
        if maps is not None:
            maps.update(side_balance=beta)
    if maps is not None:
        maps.update(unclipped=unclipped, covered=covered, dense_normals=dense_n,
                    reference_mesh=ref, to_crop=to_crop, balance=balance)
    return FlashFigures(fit, lag, strength, relief, n, shape_corr, tint, r2_mesh, readout,
                        row_lag, row_fit, partial, tint_med, tint_cam, sat, d_r2, d_partial,
                        timing.exposure, side_slope, side_partial)


def flash_passes(f: FlashFigures, th: FlashThresholds, shape_margin: float) -> dict[str, bool]:
    """shape_margin: the shape model's logit minus its threshold for these figures
    (inference/active/shape_model.py)."""
    return {"fit": f.fit >= th.min_fit, "lag": abs(f.lag_frames) <= th.max_lag_frames,
            "row_fit": f.row_fit >= th.min_row_fit,
            "strength": f.strength >= th.min_strength, "colour": f.tint_camera <= th.max_tint,
            "shape": shape_margin >= 0.0}
