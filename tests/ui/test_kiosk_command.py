"""`poh kiosk`: routed by app.launcher so that the rest of the CLI never loads Qt; bad input is
exit 2 with one line before anything is opened; the whole application runs unattended through
the injection seam the lab uses (a camera the booth does not own, a simulated person, a session
count) and exits 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QTimer

from app.flow.worker import WorkerEnd
from app.kiosk_main import KioskHooks, KioskOptions, run_kiosk
from app.launcher import run
from app.ui.person import WalkUpPerson
from assets import asset_path
from sync.vocabulary import SessionStatus
from tests.ui.conftest import CAMERA, WAIT_MS, CameraRig

ROOT = Path(__file__).resolve().parents[2]


def test_kiosk_refuses_a_video_file_or_a_bad_language(capsys: Any, tmp_path: Path) -> None:
    video = tmp_path / "clip.avi"
    video.write_bytes(b"not a camera")
    assert run(["kiosk", "--camera", str(video), "--offscreen"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "poh-lab kiosk" in err[0] and "scratch key" in err[0]
    assert run(["kiosk", "--lang", "fr"]) == 2
    assert run(["kiosk", "--help"]) == 0
    assert not any(tmp_path.glob("home*"))  # nothing opened


def test_the_rest_of_the_cli_never_loads_qt(tmp_path: Path) -> None:
    code = ("import sys\nfrom app.launcher import run\n"
            "rc = run(['workflow', 'validate', sys.argv[1]])\n"
            "sys.stdout.write(f'{rc} {\"PySide6\" in sys.modules}')\n")
    wf = asset_path("workflows", "default.json")
    out = subprocess.run([sys.executable, "-c", code, str(wf)], capture_output=True, text=True,
                         cwd=ROOT, timeout=300, check=False)
    assert out.stdout.strip().endswith("0 False"), out.stderr


def test_unattended_run_through_the_lab_seam(qtbot: Any, kiosk: Any,
                                             live_frames: list[np.ndarray]) -> None:
    outcomes: list[Any] = []
    person = WalkUpPerson(sessions=1, read_ms=50)
    guard = QTimer()  # a bound for a hung run (outcomes then stay empty)
    guard.setSingleShot(True)

    def attach(window: Any) -> None:
        guard.timeout.connect(window.quit_requested.emit)
        guard.start(WAIT_MS)
        person(window)

    hooks = KioskHooks(capture=CameraRig(live_frames).factory, source=CAMERA, kiosk=kiosk,
                       person=attach, max_sessions=1, on_session=outcomes.append,
                       window={"motion_wake": False, "countdown_s": 1})
    try:
        rc = run_kiosk(KioskOptions(offscreen=True, lang="en"), hooks)
    finally:
        guard.stop()
    assert rc == 0
    assert len(outcomes) == 1 and outcomes[0].end is WorkerEnd.FINISHED
    assert outcomes[0].result.verdict.status is SessionStatus.APPROVED
    assert person.screens[:3] == ["attract", "consent", "positioning"]
    assert "result" in person.screens
