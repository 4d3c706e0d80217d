"""The shipped kiosk runs without the lab: with `app.lab` made unimportable, the product CLI
starts, checks a photo and builds the kiosk (the PyInstaller spec leaves the lab out)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BLOCK_LAB = """
import sys
class _NoLab:
    def find_spec(self, name, path=None, target=None):
        if name == "app.lab" or name.startswith("app.lab."):
            raise ImportError(f"{name}: the lab is not shipped")
        return None
sys.meta_path.insert(0, _NoLab())
from app.cli.main import run
sys.exit(run(sys.argv[1:]))
"""


def _poh(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "POH_HOME": str(home)}
    return subprocess.run([sys.executable, "-c", BLOCK_LAB, *args], capture_output=True,
                          text=True, env=env, timeout=300, check=False)


def test_product_cli_runs_without_the_lab(tmp_path: Path, data_dir: Path) -> None:
    photo = data_dir / "colour" / "obama2.jpg"
    done = _poh("check", str(photo), "--json", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["faces_detected"] == 1
    assert _poh("--help", home=tmp_path).returncode == 0
    # a lab command is pointed to the lab, without importing it
    lab = _poh("demo", home=tmp_path)
    assert lab.returncode == 2 and "poh-lab demo" in lab.stderr


def test_the_kiosk_builds_without_the_lab(tmp_path: Path) -> None:
    code = BLOCK_LAB.replace(
        "from app.cli.main import run\nsys.exit(run(sys.argv[1:]))",
        "from app.kiosk.config import load_config\nfrom app.kiosk.root import open_kiosk\n"
        "from pathlib import Path\n"
        "k = open_kiosk(load_config(), Path(sys.argv[1]))\nprint(k.workflow.ref)\nk.close()")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "home")],
                          capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, "POH_HOME": str(tmp_path / "home")})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "poh-default@1"
