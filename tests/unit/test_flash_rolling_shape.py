"""Rolling shutter timing and shape agreement in the flash analysis, on synthetic arrays."""

from __future__ import annotations

import dataclasses

import numpy as np

from app.lab.evaluation.active_cross import apply_model, fit_model
from inference.active.colour import camera_colour_spread, colour_spread, saturation_matrix
from inference.active.flash import FlashFigures, FlashThresholds, flash_passes
from inference.active.rolling import (
    crop_row_positions,
    estimate_timing,
    row_emission,
    row_regression,
)
from inference.active.shape import partial_mesh_r2
from inference.active.shape_model import FEATURES

FPS = 30.0


def _cues(rng: np.random.Generator, start: float = 0.2, count: int = 10
          ) -> list[tuple[float, float, tuple[float, float, float]]]:
    cues = []
    t = start
    for _ in range(count):
        d = float(rng.uniform(0.2, 0.3))
        rgb = tuple(float(v) for v in rng.choice([0.1, 1.0], 3))
        cues.append((t, t + d, (rgb[0], rgb[1], rgb[2])))
        t += d
    return cues


def _rows_answer(readout: float, lag_frames: float, rng: np.random.Generator,
                 exposure: float = 1.0) -> tuple[np.ndarray, np.ndarray, list, np.ndarray]:
    """Per-row mean answer of a surface seen by a rolling-shutter camera: each row its own
    time (frame stamp at the middle row), answering the screen with a fixed 3x3 matrix."""
    cues = _cues(rng)
    times = np.arange(0.25, cues[-1][1] - 0.05, 1 / FPS)
    pos = np.linspace(-0.3, 0.3, 40)
    dt = readout * pos / FPS - lag_frames / FPS
    e = row_emission(times, cues, exposure / FPS, dt, 2.2)
    k = np.array([[0.5, 0.05, 0.0], [0.04, 0.45, 0.05], [0.0, 0.05, 0.4]])
    y = 0.3 + e @ k.T + rng.normal(0, 0.002, e.shape)
    return y, times, cues, pos


def test_row_emission_sees_a_colour_change_at_each_row_s_own_time() -> None:
    cues = [(0.0, 0.5, (1.0, 0.0, 0.0)), (0.5, 1.0, (0.0, 0.0, 1.0))]
    e = row_emission(np.array([0.5]), cues, 0.002, np.array([-0.01, 0.0, 0.01]), 1.0)
    assert np.allclose(e[0, 0], [1, 0, 0])  # the top row is exposed before the change
    assert np.allclose(e[1, 0], [0.5, 0, 0.5])  # the middle row straddles it
    assert np.allclose(e[2, 0], [0, 0, 1])


def test_estimate_timing_finds_the_readout_and_a_delay() -> None:
    rng = np.random.default_rng(5)
    for readout, lag, exposure in ((0.0, 0.0, 1.0), (0.75, 0.0, 1.0), (1.0, 0.3, 1.0),
                                   (0.6, -0.2, 0.4)):
        y, times, cues, pos = _rows_answer(readout, lag, rng, exposure)
        est = estimate_timing(y, np.ones(len(pos)), times, cues, FPS, pos, 2.2)
        assert abs(est.readout - readout) <= 0.13, (readout, est.readout)
        assert abs(est.lag - lag) < 0.07, (lag, est.lag)
        assert abs(est.exposure - exposure) <= 0.16, (exposure, est.exposure)
        assert est.fit > 0.95


def test_row_regression_recovers_each_row_s_answer() -> None:
    rng = np.random.default_rng(2)
    crop = 4
    cues = _cues(rng)
    times = np.arange(0.25, cues[-1][1] - 0.05, 1 / FPS)
    e_rows = row_emission(times, cues, 1 / FPS, np.linspace(-0.01, 0.01, crop), 2.2)
    amb = rng.uniform(0.1, 0.5, (crop, crop, 3))
    resp = rng.uniform(0.05, 0.3, (crop, crop, 3))
    # each pixel answers white light with resp, split evenly over the screen's channels
    frames = amb[None] + np.einsum("rnk,rcj->nrcj", e_rows, resp / 3)
    coef = row_regression(frames.reshape(len(times), -1), e_rows, crop)
    assert np.allclose(coef[0], amb.reshape(-1), atol=1e-6)
    assert np.allclose(coef[1:].sum(0), resp.reshape(-1), atol=1e-6)


def test_crop_row_positions_follow_the_crop_transform() -> None:
    to_crop = np.array([[0.5, 0.0, -10.0], [0.0, 0.5, -20.0]])  # frame y = 2 * (crop y + 20)
    pos = crop_row_positions(to_crop, 4, 240)
    assert np.allclose(pos, (2 * (np.arange(4) + 0.5 + 20)) / 240 - 0.5)


def _face_points(rng: np.random.Generator, count: int = 300
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points on a bumpy surface (a nose, brows, cheeks: bumps a quadric cannot follow)."""
    xs = rng.uniform(-0.4, 0.4, count)
    ys = rng.uniform(-0.4, 0.4, count)
    gx, gy = 0.3 * xs, 0.3 * ys
    for cx, cy, h, w in ((0.0, 0.0, 0.5, 0.08), (-0.15, -0.15, -0.2, 0.06),
                         (0.15, -0.15, -0.2, 0.06), (0.0, 0.25, 0.15, 0.1)):
        g = h * np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * w * w))
        gx -= g * (xs - cx) / (w * w)
        gy -= g * (ys - cy) / (w * w)
    normals = np.stack([gx, gy, -np.ones_like(xs)], 1)
    return xs, ys, normals / np.linalg.norm(normals, axis=1, keepdims=True)


def test_partial_mesh_r2_credits_a_face_s_shape_not_its_picture() -> None:
    rng = np.random.default_rng(7)
    xs, ys, normals = _face_points(rng)
    albedo = rng.uniform(0.2, 0.8, (len(xs), 3))
    screen = np.array([0.0, 0.3, -1.0]) / np.hypot(0.3, 1.0)
    room = np.array([0.3, -0.8, -0.5]) / np.linalg.norm([0.3, -0.8, -0.5])
    cos_room = np.clip(normals @ room, 0.05, None)
    amb = albedo * cos_room[:, None]
    # A face: K/A follows the two cosines.
    face_ratio = np.clip(normals @ screen, 0.0, None) / cos_room
    face = partial_mesh_r2(xs, ys, face_ratio, normals, amb)
    # A print of that face: flat K/A, but the camera leaks the picture's level into it.
    level = np.log(amb.sum(1))
    print_ratio = 0.5 + 0.1 * (level - level.mean()) + rng.normal(0, 0.002, len(xs))
    flat = partial_mesh_r2(xs, ys, print_ratio, normals, amb)
    assert face > 0.5
    assert flat < 0.1


def test_camera_colour_spread_forgives_a_colour_matrix_not_a_mirror() -> None:
    rng = np.random.default_rng(11)
    albedo = rng.uniform(0.15, 0.9, (400, 3))
    shade = rng.uniform(0.5, 1.0, (400, 1))
    amb = albedo * shade * np.array([0.5, 0.4, 0.3])  # a warm room
    resp = albedo * shade * 0.3  # diffuse: one ratio per channel, the room's colour
    ccm = saturation_matrix(0.3)  # the camera saturates K and A alike
    skin_raw = colour_spread(amb @ ccm.T, resp @ ccm.T)
    skin, _ = camera_colour_spread(amb @ ccm.T, resp @ ccm.T)
    glass, _ = camera_colour_spread(amb @ ccm.T, np.full((400, 3), 0.1) @ ccm.T)
    assert skin < 0.5 * skin_raw
    assert glass > 3 * skin


def test_cross_model_keeps_the_fixed_colour_bound() -> None:
    rng = np.random.default_rng(3)
    checks = {"fit": True, "lag": True, "strength": True}

    def row(species: str, tint: float, shape: float, row_fit: float = 0.99) -> dict:
        return {"species": species, "checks": checks,
                "flash": {"tint_camera": tint, "row_lag": 0.0, "row_fit": row_fit,
                          "flash_frames": 90, **{k: shape for k in FEATURES}}}

    rows = [row("live", float(rng.uniform(0.02, 0.4)), float(rng.uniform(0.5, 0.9)))
            for _ in range(20)]
    rows += [row("print", float(rng.uniform(0.02, 0.2)), float(rng.uniform(0.0, 0.3)))
             for _ in range(20)]
    # a glare-covered replay with a face-like pattern: only the colour bound stops it
    rows += [row("replay", float(rng.uniform(1.8, 4.0)), float(rng.uniform(0.5, 0.9)))
             for _ in range(20)]
    # a re-tint on a display that holds each picture: face-like pattern, rows answering late
    rows += [row("retint", float(rng.uniform(0.1, 0.3)), float(rng.uniform(0.5, 0.9)),
                 float(rng.uniform(0.6, 0.94))) for _ in range(20)]
    res = apply_model(fit_model(rows), rows)
    assert res["live"]["accepted"] == 20
    assert res["print"]["accepted"] == 0 and res["replay"]["accepted"] == 0
    assert res["replay"]["closest"] is None  # no replay reached the shape check
    assert res["retint"]["accepted"] == 0 and res["retint"]["closest"] is None


def test_flash_passes_needs_the_per_row_timing_to_explain_the_answer() -> None:
    base = FlashFigures(fit=0.99, lag_frames=0.0, strength=0.8, relief=0.1, frames=90,
                        tint_camera=0.1, row_fit=0.99)
    th = FlashThresholds()
    assert all(flash_passes(base, th, 1.0).values())
    late = dataclasses.replace(base, row_fit=th.min_row_fit - 0.01)
    passes = flash_passes(late, th, 1.0)
    assert not passes["row_fit"]
    assert [k for k, v in passes.items() if not v] == ["row_fit"]
