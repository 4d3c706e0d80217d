"""Registration inside the flash analysis: the shift estimate must hold over a whole recording."""

from __future__ import annotations

import cv2
import numpy as np

from inference.active.flash import (
    _frame_gains,
    _smooth_shifts,
    channel_balance,
    diffuse_ratio,
    phase_shift,
)


def _texture(rng: np.random.Generator, size: int = 160) -> np.ndarray:
    return cv2.GaussianBlur(rng.random((size, size)).astype(np.float32), (0, 0), 2.0) * 255


def test_phase_shift_leaves_its_inputs_alone_and_stays_right_over_many_calls() -> None:
    rng = np.random.default_rng(3)
    big = _texture(rng)
    ref = np.ascontiguousarray(big[16:144, 16:144])
    before = ref.copy()
    window = cv2.createHanningWindow((128, 128), cv2.CV_32F)
    errors = []
    # A recording is about 100 frames registered against one reference: OpenCV 5.0 windows
    # its inputs in place, which once shrank the reference call after call.
    for _ in range(120):
        dx, dy = int(rng.integers(-3, 4)), int(rng.integers(-3, 4))
        moved = np.ascontiguousarray(big[16 + dy:144 + dy, 16 + dx:144 + dx])
        (ex, ey), _ = phase_shift(ref, moved, window)
        errors.append(max(abs(ex + dx), abs(ey + dy)))  # content moves against the cut
    assert np.array_equal(ref, before)
    assert max(errors) < 0.75  # sub-pixel bias of the peak centroid; a lost peak is pixels off


def test_smooth_shifts_replaces_a_jump_and_fills_failures() -> None:
    walk = np.cumsum(np.full((20, 2), 0.1), axis=0)
    raw = walk.copy()
    raw[7] += (6.0, -5.0)  # a flash colour threw this estimate off
    raw[12] = np.nan  # and this one failed
    out = _smooth_shifts(raw)
    assert np.abs(out - walk).max() < 0.25
    assert np.abs(out[:7] - walk[:7]).max() == 0.0  # sway is kept as measured


def test_frame_gains_follow_the_camera_not_a_screen_edge_in_the_corner() -> None:
    rng = np.random.default_rng(5)
    n = 40
    true = np.exp(np.cumsum(rng.normal(0, 0.02, (n, 3)), axis=0))  # exposure and WB drift
    flash = rng.uniform(0.5, 1.5, n)  # what a replay screen's edge does with the flash
    frames = []
    for i in range(n):
        lin = np.full((64, 64, 3), 0.3) * true[i]
        lin[:, :12] *= flash[i]  # the edge of an emissive screen inside the left corner box
        lin += rng.normal(0, 0.004, lin.shape)
        srgb = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * np.clip(lin, 0, 1) ** (1 / 2.4)
                        - 0.055)
        frames.append(np.clip(np.round(srgb * 255), 0, 255).astype(np.uint8))
    gains = _frame_gains(frames, [(0, 0, 64, 64)])
    expected = true / np.median(true, axis=0)
    assert np.abs(gains / expected - 1).max() < 0.02


def test_channel_balance_keeps_a_flat_print_flat_under_a_coloured_room_light() -> None:
    rng = np.random.default_rng(8)
    # a print: albedo of every colour, a flat answer, but the room light is bluish, so the red
    # channel answers the white flash most per unit of ambient light
    albedo = cv2.GaussianBlur(rng.uniform(0.1, 0.8, (64, 64, 3)).astype(np.float32), (0, 0), 2)
    per_channel = np.array([1.3, 1.0, 0.75], np.float32)
    amb = albedo * np.array([0.7, 1.0, 1.3], np.float32)
    resp = amb * per_channel
    mask = np.ones((64, 64), bool)
    inner = (slice(8, 56), slice(8, 56))

    def spread(ratio: np.ndarray) -> float:
        return float(ratio[inner].std() / np.median(ratio[inner]))

    glare = np.zeros((64, 64), np.float32)
    glare[20:44, 10:40] = 0.3  # a blurred mirror image of the kiosk screen, grey
    glared = resp + cv2.GaussianBlur(glare, (0, 0), 6.0)[..., None]
    balance = channel_balance(amb.reshape(-1, 3), glared.reshape(-1, 3))
    assert np.allclose(balance, per_channel / per_channel.mean(), rtol=0.03)
    unbalanced = spread(diffuse_ratio(amb, resp, mask))
    assert unbalanced > 0.2  # the albedo's colour shows through as "relief"
    assert spread(diffuse_ratio(amb * balance.astype(np.float32), resp, mask)) < unbalanced / 5
    white = channel_balance(amb.reshape(-1, 3), amb.reshape(-1, 3) * 0.8 + 0.1)
    assert np.allclose(white, 1.0, atol=0.02)  # a white room, glare or not
    assert np.array_equal(channel_balance(amb.reshape(-1, 3), amb.reshape(-1, 3) * 0.01),
                          np.ones(3))  # a screen: no diffuse answer to balance
