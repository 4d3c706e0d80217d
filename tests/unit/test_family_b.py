"""Evaluation family B's parts (pure numpy/OpenCV): the rolling shutter splits a colour change
across rows, the camera makes 8-bit MJPEG frames, faces from a 478-point mesh have relief and
prints do not, and the mesh-agreement figure tells a shaped answer from a flat one."""

from __future__ import annotations

import numpy as np

from app.capture.plan import ColourCue
from app.lab.evaluation.active_cross import fit_model, score
from app.lab.simulation.family_b.camera import RollingCamera
from app.lab.simulation.family_b.faces import FRAME_H, FRAME_W, Portrait, surface
from app.lab.simulation.family_b.render import drive_at, row_light
from app.lab.simulation.family_b.settings import draw_settings_b
from app.lab.simulation.family_b.surfaces import live_layer, print_layer
from inference.active.flash import mesh_r2
from inference.active.shape_model import FEATURES


def _mesh() -> np.ndarray:
    """478 points on an ellipsoid cap (x, y pixels, z away from the camera), a face-like hull."""
    rng = np.random.default_rng(0)
    u = rng.uniform(-1, 1, 478)
    v = rng.uniform(-1, 1, 478)
    keep = u * u + v * v <= 1
    u, v = np.where(keep, u, u / np.sqrt(u * u + v * v)), np.where(keep, v, v / np.sqrt(
        u * u + v * v))
    z = -60 * np.sqrt(np.clip(1 - u * u - v * v, 0, 1))
    return np.stack([160 + 50 * u, 120 + 60 * v, z], 1).astype(np.float32)


def _portrait() -> Portrait:
    rng = np.random.default_rng(1)
    photo = np.clip(0.3 + 0.05 * rng.standard_normal((FRAME_H, FRAME_W, 3)), 0, 1)
    return Portrait("synthetic", photo.astype(np.float32), _mesh())


def test_rolling_shutter_splits_a_colour_change_across_rows() -> None:
    cues = (ColourCue(0.0, 1.0, (1.0, 0.0, 0.0)), ColourCue(1.0, 2.0, (0.0, 0.0, 1.0)))
    s = draw_settings_b(np.random.default_rng(3))
    cam = RollingCamera(s, np.random.default_rng(3), FRAME_H)
    rows_t = cam.row_times(1.0 - 0.4 * s.readout / s.fps)  # the change mid-frame
    light = row_light(cues, rows_t, 0.001, 2.2)
    assert light[0, 0] > 0.9 and light[0, 2] < 0.1  # top rows still see red
    assert light[-1, 2] > 0.9 and light[-1, 0] < 0.1  # bottom rows already blue
    assert drive_at(cues, np.array([5.0]))[0].tolist() == [0.5, 0.5, 0.5]


def test_camera_makes_8_bit_frames() -> None:
    rng = np.random.default_rng(4)
    s = draw_settings_b(rng)
    frame = RollingCamera(s, rng, FRAME_H).shoot(np.full((FRAME_H, FRAME_W, 3), 0.2, np.float32))
    assert frame.shape == (FRAME_H, FRAME_W, 3) and frame.dtype == np.uint8
    assert 20 < float(frame.mean()) < 240


def test_face_answers_with_relief_and_a_print_flat() -> None:
    rng = np.random.default_rng(5)
    s = draw_settings_b(rng)
    p = _portrait()
    face = live_layer(surface(p), s).stack
    sheet = print_layer(p, s, rng).stack
    centre = (slice(100, 140), slice(140, 180))
    ratio_face = face[..., 4][centre] / np.maximum(face[..., 1][centre], 1e-6)
    ratio_print = sheet[..., 4][centre] / np.maximum(sheet[..., 1][centre], 1e-6)
    # K/A over the centre of a domed face varies with the normal; over a sheet (curl aside,
    # smooth) far less
    assert np.std(ratio_face) / np.mean(ratio_face) > 2 * np.std(ratio_print) / np.mean(
        ratio_print)


def test_mesh_r2_tells_a_shaped_answer_from_an_albedo_one() -> None:
    pts = _mesh()
    from inference.active.flash import mesh_normals

    n = mesh_normals(pts)
    xs, ys = (pts[:, 0] - 160) / 64, (pts[:, 1] - 120) / 64
    screen = np.array([0.0, 0.3, -0.95])
    room = np.array([0.4, -0.7, -0.6])
    # a room light from above plus an even part, as in a lit room
    lambert = np.clip(n @ screen, 0.0, None) / (0.6 + 0.4 * np.clip(n @ room, 0.0, None))
    rng = np.random.default_rng(6)
    assert mesh_r2(xs, ys, lambert + 0.01 * rng.standard_normal(len(xs)), n) > 0.8
    assert mesh_r2(xs, ys, rng.standard_normal(len(xs)), n) < 0.1


def test_cross_model_orders_live_above_attacks() -> None:
    rng = np.random.default_rng(7)
    checks = {"fit": True, "lag": True, "strength": True}

    def row(species: str, lo: float, hi: float) -> dict:
        shape = {k: float(rng.uniform(lo, hi)) for k in FEATURES}
        return {"species": species, "checks": checks,
                "flash": {**shape, "tint_camera": 0.1, "row_fit": 0.99,
                          "row_lag": float(rng.uniform(-0.1, 0.1))}}

    rows = [row("live", 0.5, 0.9) for _ in range(20)] + [row("print", 0.0, 0.3)
                                                         for _ in range(20)]
    m = fit_model(rows)
    live = [score(m, r) for r in rows[:20]]
    att = [score(m, r) for r in rows[20:]]
    assert min(live) > 0.0 > max(att)
