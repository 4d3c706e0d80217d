"""`poh enroll|search|forget|blocklist add|db stats|keys rotate` with real models and faces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from app.cli import main


def _poh(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    code = main.run([*args, "--json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 and out.strip() else None), err


def test_enroll_search_blocklist_forget_rotate(data_dir: Path, models_dir: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    colour = data_dir / "colour"
    code, r, err = _poh(capsys, "enroll", str(colour / "obama.jpg"), "--vendor-data", "obama")
    assert code == 0, err
    assert r["face"]["status"] == "Approved" and r["template_id"] == 1
    assert _poh(capsys, "enroll", str(colour / "biden.jpg"), "--vendor-data", "biden")[0] == 0

    code, r, _ = _poh(capsys, "search", str(colour / "obama2.jpg"), "--k", "3")
    assert code == 0
    assert r["face"]["status"] == "In Review"
    assert r["face"]["warnings"] == [{"code": "POSSIBLE_DUPLICATED_FACE"}]
    top = r["face"]["matches"][0]
    assert top["vendor_data"] == "obama" and top["similarity_score"] > 0.6
    assert [m["vendor_data"] for m in r["face"]["matches"]] == ["obama"]  # biden is below review
    assert r["thresholds"]["review_threshold"] <= top["similarity_score"]

    code, r, _ = _poh(capsys, "blocklist", "add", str(colour / "grace_hopper.jpg"),
                      "--reason", "test")
    assert code == 0
    code, r, _ = _poh(capsys, "search", str(colour / "grace_hopper.jpg"))
    assert r["face"]["status"] == "Declined"
    assert r["face"]["warnings"] == [{"code": "BLOCKLISTED_FACE"}]
    assert r["face"]["matches"][0]["blocklisted"] is True

    code, r, _ = _poh(capsys, "keys", "rotate")
    assert (code, r["key_generation"], r["templates"]) == (0, 2, 3)
    code, r, _ = _poh(capsys, "forget", "--vendor-data", "obama")
    assert (code, r["templates"]) == (0, 1)
    code, r, _ = _poh(capsys, "search", str(colour / "obama3.jpg"))
    assert r["face"]["status"] == "Approved" and r["face"]["matches"] == []
    code, r, _ = _poh(capsys, "db", "stats")
    assert r["templates"] == {"enrolled": 1, "blocklist": 1} and r["key_generation"] == 2


def test_image_without_a_face(tmp_path: Path, models_dir: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    wall = tmp_path / "wall.png"
    cv2.imwrite(str(wall), np.full((480, 640, 3), 180, np.uint8))
    code, r, _ = _poh(capsys, "search", str(wall))
    assert code == 0
    assert r["face"] == {"status": "Not Finished", "matches": [],
                         "warnings": [{"code": "NO_FACE_DETECTED"}]}
    code, _, err = _poh(capsys, "enroll", str(wall), "--vendor-data", "x")
    assert code == 2 and "NO_FACE_DETECTED" in err and err.count("\n") == 1
    code, _, err = _poh(capsys, "enroll", str(tmp_path / "missing.jpg"), "--vendor-data", "x")
    assert code == 2


def test_bad_options(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    img = str(data_dir / "colour" / "obama.jpg")
    assert _poh(capsys, "search", img, "--k", "0")[0] == 2
    assert _poh(capsys, "enroll", img, "--vendor-data", " ")[0] == 2
    assert _poh(capsys, "forget", "--vendor-data", "a\nb")[0] == 2
