"""The attack simulator: determinism by seed, disjoint settings families, identity split, output."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from app.lab.simulation import settings as st
from app.lab.simulation.dataset import demo_attacks, sample, write_set
from app.lab.simulation.scene import OUT_H, OUT_W, SOURCES, sources


def _inside(value: float, intervals: st.Intervals) -> bool:
    return any(lo <= value <= hi for lo, hi in intervals)


def test_family_ranges_are_disjoint() -> None:
    for name, fam in st.FAMILY_RANGES.items():
        for lo_t, hi_t in fam["tuning"]:
            for lo_h, hi_h in fam["heldout"]:
                assert hi_t < lo_h or hi_h < lo_t, f"{name}: tuning and held-out ranges overlap"


@pytest.mark.parametrize("split", st.SPLITS)
def test_drawn_settings_stay_in_their_family(split: st.Split) -> None:
    rng = np.random.default_rng(3)
    fam = st.FAMILY_RANGES
    for _ in range(200):
        cam = st.draw_camera(rng, split)
        pr = st.draw_print(rng, split)
        rp = st.draw_replay(rng, split)
        # JPEG quality is rounded to an integer: allow half a step.
        assert _inside(cam.jpeg_quality, tuple((lo - 0.5, hi + 0.5)
                                               for lo, hi in fam["jpeg_quality"][split]))
        assert _inside(pr.halftone_pitch, fam["halftone_pitch"][split])
        assert _inside(pr.tint_blue, fam["paper_tint_blue"][split])
        assert _inside(rp.pitch, fam["screen_pitch"][split])
        assert _inside(abs(rp.rotation), fam["screen_rotation"][split])
        assert _inside(rp.gamma, fam["display_gamma"][split])


def test_identity_split_is_disjoint() -> None:
    tuning = {s.identity for s in sources("tuning")}
    heldout = {s.identity for s in sources("heldout")}
    assert tuning and heldout and not tuning & heldout
    assert {s.split for s in SOURCES} == {"tuning", "heldout"}


def test_same_seed_same_pixels_other_seed_other_pixels(data_dir: Path) -> None:
    a = sample(data_dir, "tuning", "replay", 2, seed=7)
    b = sample(data_dir, "tuning", "replay", 2, seed=7)
    c = sample(data_dir, "tuning", "replay", 2, seed=8)
    assert np.array_equal(a.image, b.image)
    assert not np.array_equal(a.image, c.image)
    assert a.image.shape == (OUT_H, OUT_W, 3) and a.image.dtype == np.uint8


def test_live_and_attacks_share_the_camera(data_dir: Path) -> None:
    # Same frame size, same sensor noise floor: a dark flat patch is noisy in every species.
    for species in ("live", "print", "replay"):
        img = sample(data_dir, "heldout", species, 0, seed=1).image
        assert img.shape == (OUT_H, OUT_W, 3)
        residual = img.astype(np.float32) - cv2.GaussianBlur(img, (0, 0), 2).astype(np.float32)
        assert float(residual.std()) > 0.5, species


def test_write_set_layout(tmp_path: Path, data_dir: Path) -> None:
    counts = write_set(tmp_path / "set", data_dir, "heldout", 1, seed=0)
    assert counts == {"live": 1, "print": 1, "replay": 1}
    for sp in ("live", "print", "replay"):
        files = list((tmp_path / "set" / sp).glob("*.png"))
        assert len(files) == 1
        assert cv2.imread(str(files[0])).shape == (OUT_H, OUT_W, 3)


def test_demo_attacks_of_any_photo(data_dir: Path) -> None:
    img = cv2.imread(str(data_dir / "colour" / "grace_hopper.jpg"))
    out = demo_attacks(img, (158, 118, 368, 328), seed=0)
    assert set(out) == {"live", "print", "replay"}
    assert all(v.shape == (OUT_H, OUT_W, 3) for v in out.values())
    assert not np.array_equal(out["print"], out["replay"])
