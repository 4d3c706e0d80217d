"""The kiosk part of `poh-lab demo`, in-process and offscreen, on the real models, an encrypted
lab database and the closed-loop simulated camera: a simulated live person on the FLASHING
workflow is Approved with the credential's QR code on the screen, a simulated print and a
re-tinting replay are Declined, and the demo clip of a real portrait is Approved on the passive
workflow; the screenshots and the contact sheet are written. `poh-lab demo --out` bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
from pytestqt.qtbot import QtBot

from app.lab.cli.kiosk_demo import (
    SHEET_NAME,
    render_kiosk_rows,
    run_kiosk_demo,
    sheet_rows,
    write_contact_sheet,
)
from app.lab.demo_clips import make_demo_clips
from inference.pipeline import FacePipeline

LAB = [sys.executable, "-c", "import sys\nfrom app.lab.cli.main import run\nsys.exit(run())"]
ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_kiosk_runs_come_out_as_expected(tmp_path: Path, data_dir: Path,
                                                  face_pipeline: FacePipeline,
                                                  qtbot: QtBot) -> None:
    del qtbot  # only for its QApplication, made offscreen
    clips = make_demo_clips(data_dir / "colour", tmp_path / "clips")
    out = tmp_path / "kiosk"
    said: list[str] = []
    runs = run_kiosk_demo(clips["live"], out, said.append, pipeline=face_pipeline)
    table = render_kiosk_rows(runs)
    assert [r.case.label for r in runs] == ["sim:live", "sim:print", "sim:retint2", "video"]
    assert [r.status for r in runs] == ["Approved", "Declined", "Declined", "Approved"], table
    assert all(r.as_expected for r in runs), table
    for run in (runs[0], runs[3]):  # the QR on the result screen is the credential issued
        assert run.credential and run.qr_matches is True
    for run in runs[1:3]:
        assert "LIVENESS_FACE_ATTACK" in run.line["warnings"]
        assert run.credential is None and run.qr_matches is None
    assert runs[0].line["capture_source"]["kind"] == "simulation"
    assert runs[3].line["capture_source"]["kind"] == "video_file"
    assert [r.line["sequence"] for r in runs] == [1, 2, 3, 4]  # one fresh lab gallery
    for run in runs:
        names = [p.name.split("-", 1)[1] for p in sorted(run.shots.glob("[0-9]*.png"))]
        assert names[:2] == ["attract.png", "consent.png"] and "result.png" in names
        assert run.camera is not None and run.camera.is_file()
    for run in runs[:3]:  # FLASHING: the colours the screen presented
        assert run.colours is not None and run.colours.is_file()
    assert runs[3].live is not None and runs[3].live.is_file()  # the preview with the face
    assert len(said) == 4
    rows = sheet_rows(runs)
    assert [len(r.tiles) for r in rows] == [4, 4, 4, 4]
    sheet = write_contact_sheet(runs, out / SHEET_NAME)
    image = cv2.imread(str(sheet), cv2.IMREAD_COLOR)
    assert image is not None and image.shape[0] > 400 and image.shape[1] > 1000


def test_demo_out_must_be_new_empty_or_its_own(tmp_path: Path) -> None:
    used = tmp_path / "used"
    used.mkdir()
    (used / "notes.txt").write_text("someone's file\n")
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    for folder in (used, not_a_folder):
        out = subprocess.run(LAB + ["demo", "--out", str(folder)], capture_output=True,
                             text=True, cwd=ROOT, env=env, timeout=120, check=False)
        assert out.returncode == 2, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1 and "--out" in out.stderr
    assert (used / "notes.txt").read_text() == "someone's file\n"  # nothing touched
