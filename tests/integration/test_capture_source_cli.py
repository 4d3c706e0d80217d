"""A verdict says what the face was captured from, and the booth's key signs only its camera.

Through the CLI: `poh session run` refuses a video file, an image, a simulation or a recording
(exit 2, one line, nothing written to the booth's database); the lab runs them in its own data
folder with its scratch key, and `poh verdict verify` prints the signed source.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.lab.cli import main as lab_main
from app.lab.demo_clips import make_demo_clips
from app.paths import poh_home
from app.workflows import DEFAULT_WORKFLOW, FLASHING_WORKFLOW


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from app.paths import data_dir
    return make_demo_clips(data_dir() / "colour", tmp_path_factory.mktemp("clips"))["live"]


@pytest.mark.parametrize("camera, workflow", [
    ("CLIP", DEFAULT_WORKFLOW),
    ("IMAGE", DEFAULT_WORKFLOW),
    ("sim:live", FLASHING_WORKFLOW),
    ("0", FLASHING_WORKFLOW),
])
def test_the_booth_refuses_to_sign_anything_but_its_camera(
        clip: Path, camera: str, workflow: Path, data_dir: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    spec = {"CLIP": str(clip), "IMAGE": str(data_dir / "colour" / "obama.jpg")}.get(camera,
                                                                                   camera)
    code = main.run(["session", "run", "--workflow", str(workflow), "--camera", spec,
                     "--vendor-data", "mallory"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "poh-lab session run" in err
    assert not (poh_home() / "poh.db").exists()  # refused before the database was touched


def test_lab_session_names_its_source_and_signs_with_a_scratch_key(
        clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lab = tmp_path / "lab"
    out = tmp_path / "verdict.json"
    assert lab_main.run(["session", "run", "--workflow", str(DEFAULT_WORKFLOW), "--camera",
                         str(clip), "--vendor-data", "alice", "--home", str(lab),
                         "--verdict-out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    source = result["verdict"]["capture_source"]
    assert source["kind"] == "video_file" and source["device_id"] is None
    assert result["verdict"]["device_id"].startswith("lab-")
    # verified offline with the lab's public key; the source is printed
    assert main.run(["verdict", "verify", str(out), "--public-key",
                     str(lab / "scratch-device.jwk.json")]) == 0
    text = capsys.readouterr().out
    assert "capture source: video_file" in text and "no proof of a present person" in text
    # the booth's own key does not verify it (and the booth's home stayed untouched)
    assert main.run(["keys", "show", "--public"]) == 2  # a read creates no booth
    assert main.run(["db", "init"]) == 0
    capsys.readouterr()
    assert main.run(["keys", "show", "--public", "--json"]) == 0
    booth = json.loads(capsys.readouterr().out)
    assert booth["key_id"] != result["verdict"]["signature"]["key_id"]
    assert main.run(["verdict", "verify", str(out)]) == 2


def test_the_lab_refuses_the_booths_data_folder(clip: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert lab_main.run(["session", "run", "--workflow", str(DEFAULT_WORKFLOW), "--camera",
                         str(clip), "--vendor-data", "x", "--home", str(poh_home())]) == 2
    assert "booth's data folder" in capsys.readouterr().err


def test_lab_commands_point_to_the_lab(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("demo", "eval", "bench", "sim", "data"):
        assert main.run([command]) == 2
        assert f"poh-lab {command}" in capsys.readouterr().err
