"""`poh check` through the real CLI entry point, real models and real sample faces."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from app.cli.main import run


def _check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict | None, str]:
    code = run(["check", *args, "--json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else None), err


def test_live_portrait_gives_didit_shaped_result(
    data_dir: Path, models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, r, _ = _check(capsys, str(data_dir / "colour" / "obama.jpg"))
    assert code == 0 and r is not None
    assert r["faces_detected"] == 1
    live = r["liveness"]
    assert live["method"] == "PASSIVE"
    assert 0 <= live["score"] <= 100
    assert live["status"] in ("Approved", "Declined")
    assert all(set(w) == {"code"} for w in live["warnings"])
    x1, y1, x2, y2 = r["face"]["box"]
    assert 0 <= x1 < x2 <= r["image"]["width"] and 0 <= y1 < y2 <= r["image"]["height"]
    assert 25 < r["age"]["age_estimation"] < 75
    assert isinstance(r["quality"]["cues"], list)


def test_blank_image_reports_no_face(tmp_path: Path, models_dir: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "wall.png"
    cv2.imwrite(str(p), np.full((480, 640, 3), 180, np.uint8))
    code, r, _ = _check(capsys, str(p))
    assert code == 0 and r is not None
    assert r["status"] == "Declined"
    assert {"code": "NO_FACE_DETECTED"} in r["liveness"]["warnings"]
    assert r["face"] is None


def test_two_people_report_multiple_faces(data_dir: Path, tmp_path: Path, models_dir: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    a = cv2.imread(str(data_dir / "colour" / "obama.jpg"))
    b = cv2.imread(str(data_dir / "colour" / "biden.jpg"))
    h = 600
    a = cv2.resize(a, (int(a.shape[1] * h / a.shape[0]), h))
    b = cv2.resize(b, (int(b.shape[1] * h / b.shape[0]), h))
    p = tmp_path / "two.jpg"
    cv2.imwrite(str(p), np.hstack([a, b]))
    code, r, _ = _check(capsys, str(p))
    assert code == 0 and r is not None
    assert r["status"] == "Declined"
    assert {"code": "MULTIPLE_FACES_DETECTED"} in r["liveness"]["warnings"]


def _bad_files(tmp: Path, portrait: Path) -> dict[str, Path]:
    files = {
        "empty": tmp / "empty.jpg",
        "text": tmp / "notes.jpg",
        "truncated": tmp / "cut.jpg",
        "huge": tmp / "huge.png",
        "missing": tmp / "nothing-here.jpg",
    }
    files["empty"].write_bytes(b"")
    files["text"].write_text("not a picture")
    raw = portrait.read_bytes()
    files["truncated"].write_bytes(raw[: len(raw) // 2])
    Image.new("L", (20000, 20000)).save(files["huge"])
    return files


def test_bad_input_is_one_line_and_exit_2(data_dir: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    for name, path in _bad_files(tmp_path, data_dir / "colour" / "obama.jpg").items():
        code, _, err = _check(capsys, str(path))  # with --json: the error is a JSON object
        assert code == 2, name
        assert err.count("\n") == 1, (name, err)
        assert json.loads(err)["error"]["exit_code"] == 2, (name, err)
        assert run(["check", str(path)]) == 2, name  # without --json: one plain line
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("poh: error:"), (name, err)


def test_greyscale_and_alpha_images_are_accepted(data_dir: Path, tmp_path: Path,
                                                 models_dir: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    im = Image.open(data_dir / "colour" / "obama.jpg")
    grey = tmp_path / "grey.png"
    im.convert("L").save(grey)
    rgba = tmp_path / "alpha.png"
    im.convert("RGBA").save(rgba)
    for p in (grey, rgba):
        code, r, _ = _check(capsys, str(p))
        assert code == 0 and r is not None
        assert r["faces_detected"] == 1


def test_usage_errors_are_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["no-such-command"], ["check"], ["check", "x.jpg", "--no-such-option"]):
        assert run(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("poh: error:") and err.count("\n") == 1, (argv, err)
