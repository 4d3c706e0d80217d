"""The wheel built from the committed tree (git archive HEAD, so nothing uncommitted or ignored
leaks in) carries the shipped data files, and, installed non-editable into a fresh venv from the
hash-locked requirements, runs from outside any source tree: the data files are found inside the
installed package (importlib.resources), not in a clone.

The wheel is built with this venv's setuptools (the lock's) and no index: no network. The install
test (slow) takes the locked packages from pip's cache or the registry as `make setup` does.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# read at run time through importlib.resources (pyproject [tool.setuptools.package-data]): the
# committed folder -> where the wheel holds its files (sync/fleet/mosquitto is a link)
SHIPPED_DATA = {"assets": "assets", "storage/migrations": "storage/migrations",
                "sync/hub/console/templates": "sync/hub/console/templates",
                "packaging/mosquitto": "sync/fleet/mosquitto"}
RUNTIME_LOCK = "requirements/runtime.txt"


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 600,
         code: int = 0) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                         check=False)
    assert out.returncode == code, f"{cmd} -> {out.returncode}\n{out.stdout}\n{out.stderr}"
    return out


def _committed_tree(dest: Path) -> Path:
    archive = subprocess.run(["git", "archive", "--format=tar", "HEAD"], cwd=REPO,
                             capture_output=True, check=True, timeout=120).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tf:
        tf.extractall(dest, filter="data")
    return dest


@pytest.fixture(scope="module")
def clean_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _committed_tree(tmp_path_factory.mktemp("clean") / "src")


@pytest.fixture(scope="module")
def wheel(clean_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
          "--no-index", "-w", str(out), str(clean_tree)], cwd=out)
    (found,) = out.glob("poh_kiosk-*.whl")
    return found


def _committed_files(folder: str) -> set[str]:
    listed = subprocess.run(["git", "ls-tree", "-r", "--name-only", "HEAD", folder], cwd=REPO,
                            capture_output=True, text=True, check=True, timeout=60).stdout
    return {name for name in listed.splitlines() if "__pycache__" not in name}


def test_the_wheel_carries_every_shipped_data_file_and_no_tests(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    for folder, packaged in SHIPPED_DATA.items():
        committed = {packaged + name[len(folder):] for name in _committed_files(folder)}
        assert committed, folder
        assert committed <= names, sorted(committed - names)
    assert "assets/models/manifest.json" in names and "assets/workflows/default.json" in names
    assert not [n for n in names if n.startswith(("tests/", "requirements/", "packaging/"))]
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    with zipfile.ZipFile(wheel) as zf:
        scripts = zf.read(entry_points).decode()
    assert "poh = app.launcher:main" in scripts


@pytest.fixture(scope="module")
def installed(wheel: Path, clean_tree: Path,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """bin/ of a fresh venv holding the locked runtime packages and the wheel, nothing else."""
    venv = tmp_path_factory.mktemp("venv") / "v"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=venv.parent)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    _run([*pip, "--require-hashes", "-r", str(clean_tree / RUNTIME_LOCK)], cwd=venv.parent,
         timeout=1200)
    _run([*pip, "--no-deps", str(wheel)], cwd=venv.parent)
    _run([str(venv / "bin" / "python"), "-m", "pip", "check"], cwd=venv.parent)
    yield venv / "bin"


def _outside_env(home: Path) -> dict[str, str]:
    # no PYTHONPATH (the source tree must not be importable), the kiosk's folders in tmp
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "POH_")) and not k.endswith("_DIRECTORY")}
    return env | {"HOME": str(home), "POH_HOME": str(home / "poh-home")}


@pytest.mark.slow
def test_the_installed_wheel_runs_from_outside_the_source_tree(installed: Path,
                                                              tmp_path: Path) -> None:
    env = _outside_env(tmp_path)
    version = _run([str(installed / "poh"), "--version"], cwd=tmp_path, env=env).stdout
    assert version.split() == ["poh", "0.1.0"]
    where = _run([str(installed / "python"), "-c",
                  "import app, assets; print(app.__file__); "
                  "print(assets.asset_path('workflows', 'default.json'))"],
                 cwd=tmp_path, env=env).stdout.split()
    venv = installed.parent
    assert all(Path(p).is_relative_to(venv) for p in where), where  # not the clone's files
    assert _run([str(installed / "poh"), "workflow", "validate", where[1]], cwd=tmp_path,
                env=env).returncode == 0
    # the model manifest (a data file) names every model; none is fetched here (exit 1: missing)
    listed = json.loads(_run([str(installed / "poh"), "models", "list", "--json"],
                             cwd=tmp_path, env=env | {"POH_MODELS_DIR": str(tmp_path / "none")},
                             code=1).stdout)
    assert len(listed) >= 5 and not any(m["present"] for m in listed)
    # an operator's fleet folder: the broker's configuration rendered from the wheel's copy
    fleet = tmp_path / "fleet"
    _run([str(installed / "poh"), "fleet", "init", str(fleet), "--fleet-id", "wheel",
          "--broker", "mqtts://127.0.0.1:8883"], cwd=tmp_path, env=env)
    broker = (fleet / "broker").resolve()
    assert f"cafile {broker}/ca.crt" in (broker / "mosquitto.conf").read_text()
    assert "poh/v1/wheel/" in (fleet / "broker" / "acl").read_text()


@pytest.mark.slow
def test_the_installed_wheel_checks_a_photo_with_the_cached_models(
        installed: Path, tmp_path: Path, models_dir: Path, data_dir: Path) -> None:
    # the models fetched by make setup; the passive liveness reads its calibration, the quality
    # cues their texts and the pose its reference from the installed package
    env = _outside_env(tmp_path) | {"POH_MODELS_DIR": str(models_dir)}
    out = _run([str(installed / "poh"), "check", str(data_dir / "colour" / "obama.jpg"), "--json"],
               cwd=tmp_path, env=env, timeout=300)
    result = json.loads(out.stdout)
    assert result["liveness"]["method"] == "PASSIVE", result
    assert 0 <= result["liveness"]["score"] <= 100
