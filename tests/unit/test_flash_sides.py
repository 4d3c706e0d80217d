"""Two-sided flash (the screen's halves in different colours): the per-pixel side balance and
the side figures, on synthetic arrays whose answer is known."""

from __future__ import annotations

import numpy as np

from inference.active.flash import SCREEN_GAMMA, mean_cues
from inference.active.rolling import row_emission, side_balance
from inference.active.shape import side_answer

CROP = 16
FPS = 30.0


def _halves(rng: np.random.Generator, count: int = 10
            ) -> tuple[list[tuple[float, float, tuple[float, float, float]]], ...]:
    left, right = [], []
    t = 0.2
    for _ in range(count):
        d = float(rng.uniform(0.2, 0.3))
        a = tuple(float(v) for v in rng.choice([0.0, 1.0], 3))
        b = tuple(float(v) for v in rng.choice([0.0, 1.0], 3))
        left.append((t, t + d, (a[0], a[1], a[2])))
        right.append((t, t + d, (b[0], b[1], b[2])))
        t += d
    return left, right


def _frames(beta: np.ndarray, noise: float, seed: int = 3
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Frames of a surface whose pixels answer the left half with (1 + beta) / 2 of their colour
    response and the right half with (1 - beta) / 2 (a global-shutter camera: every row the
    same time)."""
    rng = np.random.default_rng(seed)
    left, right = _halves(rng)
    times = np.arange(0.25, left[-1][1] - 0.05, 1 / FPS)
    offsets = np.zeros(CROP)
    e_mean = row_emission(times, mean_cues(left, right), 1 / FPS, offsets, SCREEN_GAMMA)
    e_left = row_emission(times, left, 1 / FPS, offsets, SCREEN_GAMMA)
    e_right = row_emission(times, right, 1 / FPS, offsets, SCREEN_GAMMA)
    # Each pixel's own colour response (camera channel <- screen channel) and ambient image.
    k = rng.uniform(0.02, 0.08, (CROP, CROP, 3, 3)) + np.eye(3) * rng.uniform(
        0.3, 0.6, (CROP, CROP, 1, 1))
    amb = rng.uniform(0.2, 0.5, (CROP, CROP, 3))
    w_left = (1 + beta) / 2
    y = (amb[None]
         + np.einsum("rwck,rnk->nrwc", k * w_left[..., None, None], e_left)
         + np.einsum("rwck,rnk->nrwc", k * (1 - w_left)[..., None, None], e_right))
    y = y + rng.normal(0.0, noise, y.shape)
    return y.reshape(len(times), -1), e_mean, e_left - e_mean, times


def test_mean_cues_light_is_the_halves_mean() -> None:
    left = [(0.0, 1.0, (1.0, 0.0, 0.5))]
    right = [(0.0, 1.0, (0.0, 1.0, 0.5))]
    (_, _, m), = mean_cues(left, right)
    light = np.array(m) ** SCREEN_GAMMA
    assert np.allclose(light, [0.5, 0.5, 0.5 ** SCREEN_GAMMA])


def test_side_balance_recovers_each_pixel_s_share_of_the_halves() -> None:
    yy, xx = np.mgrid[0:CROP, 0:CROP]
    beta = 0.3 * (xx - CROP / 2) / CROP + 0.1 * np.sin(yy / 2.0)
    y, e_mean, half_diff, _ = _frames(beta, noise=0.001)
    got, _ = side_balance(y, e_mean, half_diff, CROP)
    assert np.abs(got - beta).max() < 0.03


def test_side_balance_of_a_whole_screen_answer_is_zero() -> None:
    y, e_mean, half_diff, _ = _frames(np.zeros((CROP, CROP)), noise=0.002)
    got, _ = side_balance(y, e_mean, half_diff, CROP)
    assert np.abs(got).max() < 0.05
    assert abs(float(got.mean())) < 0.01


def _nx_map(size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """A face-like normal map: a dome plus a nose ridge (n_x changes sign across it) whose n_x
    is more than a quadric of the image coordinates; and the mask of its pixels."""
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    x, y = (xx - size / 2) / size, (yy - size / 2) / size
    depth = -0.6 * (x ** 2 + y ** 2) + 0.08 * np.exp(-(x ** 2) / 0.002 - (y / 0.2) ** 2)
    gx, gy = np.gradient(depth, 1 / size)
    n = np.dstack([gx, gy, -np.ones_like(gx)])
    n /= np.linalg.norm(n, axis=2, keepdims=True)
    good = (x ** 2 / 0.16 + y ** 2 / 0.2) < 1
    return n, good


def test_side_answer_follows_the_normals_of_a_face_not_a_sheet() -> None:
    n, good = _nx_map()
    rng = np.random.default_rng(1)
    size = n.shape[0]
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    noise = rng.normal(0.0, 0.01, n.shape[:2])
    face = 0.2 * n[..., 0] + noise
    slope, partial = side_answer(face, good, n)
    assert 0.15 < slope < 0.25 and partial > 0.3
    # A sheet, tilted and bent: its answer is a smooth function of where it is in the image.
    sheet = 0.05 + 0.1 * (xx / size) - 0.03 * (xx / size) ** 2 + 0.02 * (yy / size) + noise
    slope, partial = side_answer(sheet, good, n)
    assert abs(slope) < 0.03 and partial < 0.02
    # Turned around (a camera that mirrors its image): the slope's sign says so.
    assert side_answer(-face, good, n)[0] < -0.15


def test_side_answer_needs_pixels() -> None:
    n, good = _nx_map()
    assert side_answer(np.ones(good.shape), np.zeros_like(good), n) == (0.0, 0.0)
