"""The offline booth never phones home and writes nothing outside its own folders.

`import openvino` used to run OpenVINO's telemetry on every command: it created ~/intel with a
client id (openvino_ga_cid) and stats, and started a child process that looked up an analytics
host to post an event, waiting up to 3 s. Each test runs a real entry point as its own process
with HOME set to an empty folder (and the data, cache and model folders elsewhere) and checks that
HOME is still empty afterwards: no `intel` folder, nothing else either.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.paths import cache_dir

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _run(argv: list[str], tmp_path: Path, models_dir: Path, data_dir: Path,
         ) -> tuple[subprocess.CompletedProcess[str], Path]:
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "POH_HOME": str(tmp_path / "poh"),
        "POH_CACHE": str(cache_dir()),
        "POH_MODELS_DIR": str(models_dir),
        "POH_DATA_DIR": str(data_dir),
        "POH_LAB_HOME": str(tmp_path / "lab"),
        "QT_QPA_PLATFORM": "offscreen",
    }
    proc = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=600, check=False)
    return proc, home


def _left_in(home: Path) -> list[str]:
    return sorted(str(p.relative_to(home)) for p in home.rglob("*"))


def test_poh_check_leaves_home_untouched(tmp_path: Path, models_dir: Path,
                                         data_dir: Path) -> None:
    proc, home = _run([str(BIN / "poh"), "check", str(data_dir / "colour" / "obama.jpg"),
                       "--json"], tmp_path, models_dir, data_dir)
    assert proc.returncode == 0, proc.stderr
    assert _left_in(home) == []  # no ~/intel/openvino_ga_cid, no ~/intel/stats


def test_poh_lab_session_leaves_home_untouched(tmp_path: Path, models_dir: Path,
                                               data_dir: Path) -> None:
    from app.workflows import DEFAULT_WORKFLOW

    proc, home = _run([str(BIN / "poh-lab"), "session", "run", "--workflow",
                       str(DEFAULT_WORKFLOW), "--camera", str(data_dir / "colour" / "obama.jpg"),
                       "--vendor-data", "v", "--json"], tmp_path, models_dir, data_dir)
    assert proc.returncode == 0, proc.stderr
    assert _left_in(home) == []


def test_the_bundle_entry_point_leaves_home_untouched(tmp_path: Path, models_dir: Path,
                                                      data_dir: Path) -> None:
    """packaging/poh_entry.py is what PyInstaller freezes; `poh models list` imports openvino."""
    proc, home = _run([sys.executable, str(ROOT / "packaging" / "poh_entry.py"), "models",
                       "--help"], tmp_path, models_dir, data_dir)
    assert proc.returncode == 0, proc.stderr
    assert _left_in(home) == []


@pytest.mark.parametrize("module", ["inference.model_store", "inference.runtime",
                                    "inference.pipeline"])
def test_any_process_reaching_openvino_through_inference_stays_offline(
        tmp_path: Path, models_dir: Path, data_dir: Path, module: str) -> None:
    """The kiosk and the hub reach OpenVINO only through inference: importing any of its
    modules first keeps the telemetry package out of the process for good."""
    code = (f"import sys, {module}, openvino; "
            "sys.exit(0 if sys.modules['openvino_telemetry'] is None else 3)")
    proc, home = _run([sys.executable, "-c", code], tmp_path, models_dir, data_dir)
    assert proc.returncode == 0, proc.stderr
    assert _left_in(home) == []
