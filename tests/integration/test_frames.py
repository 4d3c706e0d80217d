"""Frame sources: video frame times, a still image, a video that ends, and bad sources."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from app.capture.frames import open_source
from app.errors import BadInputError
from app.lab.demo_clips import ClipSpec, animate, write_avi


def test_video_frames_carry_file_time(tmp_path: Path) -> None:
    base = np.full((120, 160, 3), 128, np.uint8)
    frames = animate(base, ClipSpec(seconds=1.0, fps=8.0), seed=1)
    assert len(frames) == 8
    assert not np.array_equal(frames[0], frames[1])  # motion and fresh noise
    path = write_avi(frames, tmp_path / "c.avi", 8.0)
    src = open_source(str(path))
    got = list(src)
    src.close()
    assert [f.index for f in got] == list(range(8))
    assert got[3].t == pytest.approx(3 / 8)
    assert not src.live and src.end_reason == "video ended after 8 frames"


def test_still_image_is_a_short_steady_source(tmp_path: Path) -> None:
    path = tmp_path / "p.png"
    cv2.imwrite(str(path), np.full((64, 64, 3), 200, np.uint8))
    src = open_source(str(path))
    got = list(src)
    assert len(got) == 40 and all(np.array_equal(got[0].image, f.image) for f in got)
    assert "still image ended" in src.end_reason


@pytest.mark.parametrize("spec", ["missing.avi", ".", "not-a-video.avi"])
def test_bad_sources_are_bad_input(tmp_path: Path, spec: str,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "not-a-video.avi").write_bytes(b"hello")
    with pytest.raises(BadInputError):
        open_source(spec)
