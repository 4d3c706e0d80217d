"""`poh kiosk --self-test VIDEO`: the product's own kiosk runs a whole session on a video file,
unattended, in a throwaway data folder with a throwaway key; the verdict says `video_file`, the
booth's data folder is never touched. `--report-startup` prints the start-up figure first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.lab.demo_clips import make_demo_clips
from app.launcher import run


@pytest.fixture(scope="module")
def live_clip(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    return Path(make_demo_clips(data_dir / "colour", tmp_path_factory.mktemp("clips"))["live"])


def test_self_test_session_on_a_video_is_signed_as_video_file(
        qtbot: Any, live_clip: Path, capsys: Any, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "booth"
    monkeypatch.setenv("POH_HOME", str(home))
    rc = run(["kiosk", "--offscreen", "--lang", "en", "--self-test", str(live_clip),
              "--sessions", "1", "--report-startup"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    lines = [json.loads(line) for line in out.strip().splitlines()]
    assert len(lines) == 2
    assert lines[0]["screen"] == "attract" and lines[0]["startup_s"] > 0
    assert 0 < lines[0]["cpu_s"]
    session = lines[1]
    assert session["self_test_session"] == 1 and session["end"] == "FINISHED"
    assert session["status"] in ("Approved", "Declined", "In Review")
    assert session["capture_source"]["kind"] == "video_file"
    assert session["capture_source"]["detail"] == f"video {live_clip.name}"
    assert session["device_id"].startswith("self-test-")
    assert not home.exists()  # the booth's data folder: nothing opened, nothing made


def test_self_test_bad_input_is_one_line_before_anything_opens(
        tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch, live_clip: Path) -> None:
    home = tmp_path / "booth"
    monkeypatch.setenv("POH_HOME", str(home))
    assert run(["kiosk", "--offscreen", "--self-test", str(tmp_path / "none.avi")]) == 2
    assert "no such video file" in capsys.readouterr().err
    not_video = tmp_path / "notes.avi"
    not_video.write_bytes(b"not a video at all" * 50)
    assert run(["kiosk", "--offscreen", "--self-test", str(not_video)]) == 2
    assert "not a video" in capsys.readouterr().err
    assert run(["kiosk", "--offscreen", "--self-test", str(live_clip), "--sessions", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--sessions" in err[0]
    assert not home.exists()
