"""`poh-lab kiosk`: the kiosk application unattended, offscreen, on a sample video (real
portraits), in its own process: a scripted person taps Start, consents and taps Done; one JSON
line per session; a PNG of every screen. Bad input is exit 2 with one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.lab.demo_clips import make_demo_clips

LAB = [sys.executable, "-c", "import sys\nfrom app.lab.cli.main import run\nsys.exit(run())"]
ROOT = Path(__file__).resolve().parents[2]


def _lab(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "POH_LAB_HOME": str(tmp_path / "lab"), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(LAB + args, capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=600, check=False)


def test_lab_kiosk_runs_a_passive_session_on_a_video(tmp_path: Path, data_dir: Path) -> None:
    clips = make_demo_clips(data_dir / "colour", tmp_path / "clips")
    shots = tmp_path / "shots"
    out = _lab(["kiosk", "--camera", str(clips["live"]), "--sessions", "1",
                "--screenshots", str(shots)], tmp_path)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(x) for x in out.stdout.splitlines() if x.startswith("{")]
    assert len(lines) == 1
    line = lines[0]
    assert line["status"] == "Approved" and line["sequence"] == 1
    assert line["capture_source"]["kind"] == "video_file"  # never the booth's camera
    assert line["max_flash_error_ms"] is None  # PASSIVE: no flash
    names = [p.name.split("-", 1)[1] for p in sorted(shots.glob("*.png"))]
    assert names[:2] == ["attract.png", "consent.png"] and "result.png" in names


def test_lab_kiosk_bad_input(tmp_path: Path) -> None:
    for args in (["kiosk", "--camera", str(tmp_path / "none.avi")],
                 ["kiosk", "--camera", "sim:dog"],
                 ["kiosk", "--camera", "sim:live", "--sessions", "0"]):
        out = _lab(args, tmp_path)
        assert out.returncode == 2, (args, out.stderr)
        assert len(out.stderr.strip().splitlines()) == 1


def test_bench_kiosk_reports_every_figure(tmp_path: Path) -> None:
    """The figures exist and hang together (no assertion on their size: speed is what the
    command prints, not what a test decides)."""
    out = _lab(["bench", "kiosk", "--seconds", "2", "--flashes", "1", "--json"], tmp_path)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    for phase in ("baseline", "with_inference"):
        p = r[phase]
        assert p["camera_frames"] > 0 and 0 <= p["dropped"] <= p["camera_frames"]
        assert p["preview_fps"] > 0 and p["latency_p95_ms"] >= p["latency_median_ms"] > 0
    assert r["with_inference"]["analysed_fps"] > 0
    assert r["flash"]["cues"] >= 9  # a lead-in and 8-12 colours
    assert r["flash"]["error_max_ms"] >= r["flash"]["error_median_ms"] >= 0
