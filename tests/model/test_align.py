"""Alignment geometry: the similarity fit recovers a known transform; chips have the right size."""

from __future__ import annotations

import numpy as np
import pytest

from inference.align import age_chip, apply, five_points, rotated_square, similarity_transform
from inference.types import FrameAnalysis


def test_similarity_fit_recovers_rotation_scale_and_shift() -> None:
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 100, (5, 2)).astype(np.float32)
    theta, scale, shift = np.radians(-25.0), 1.7, np.array([12.0, -30.0])
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    dst = (src @ (scale * rot).T + shift).astype(np.float32)
    m = similarity_transform(src, dst)
    assert np.allclose(m[:, :2], scale * rot, atol=1e-4)
    assert np.allclose(m[:, 2], shift, atol=1e-3)
    assert np.allclose(apply(m, src), dst, atol=1e-3)


def test_rotated_square_maps_the_centre_and_the_eye_line() -> None:
    m = rotated_square((200.0, 100.0), 50.0, np.radians(30.0), 256)
    centre = apply(m, np.array([[200.0, 100.0]], np.float32))[0]
    assert centre == pytest.approx([128.0, 128.0], abs=1e-3)
    along = apply(m, np.array([[200 + np.cos(np.radians(30)) * 10,
                                100 + np.sin(np.radians(30)) * 10]], np.float32))[0]
    assert along[1] == pytest.approx(128.0, abs=1e-3)  # eye line comes out level
    assert along[0] == pytest.approx(128.0 + 10 * 256 / 50, abs=1e-2)


def test_five_points_and_age_chip_on_a_real_face(
        portrait_analyses: dict[str, FrameAnalysis],
        portraits: dict[str, np.ndarray]) -> None:
    face = portrait_analyses["obama.jpg"].faces[0]
    assert face.landmarks is not None and face.five_points is not None
    five = face.five_points
    assert five.shape == (5, 2)
    assert five[0, 0] < five[2, 0] < five[1, 0]  # eyes either side of the nose
    assert five[3, 1] > five[2, 1] and five[4, 1] > five[2, 1]  # mouth below the nose
    assert np.allclose(five_points(face.landmarks.points, "iris"), five, atol=10.0)
    chip = age_chip(portraits["obama.jpg"], face.landmarks.points)
    assert chip.shape == (64, 64, 3) and chip.std() > 10
