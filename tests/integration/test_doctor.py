"""`poh doctor`: a healthy booth passes every check (the camera skipped on a machine without
one); a wrong key, a corrupt database, a loosened key file or a fleet whose broker is down each
fail with exit 1 and say why on that check's line."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from fleet_helpers import add_and_join, fleet_with_broker

from app.cli.main import run
from app.kiosk.doctor import DISK_FAIL_BYTES, check_disk
from app.kiosk.storage import init_home
from storage.config import StorageConfig

OTHER_KEY = "ab" * 32


@pytest.fixture(autouse=True)
def _models(monkeypatch: pytest.MonkeyPatch, models_dir: Path) -> None:
    monkeypatch.setenv("POH_MODELS_DIR", str(models_dir))
    monkeypatch.delenv("POH_DB_KEY", raising=False)
    monkeypatch.delenv("POH_CONFIG", raising=False)


def doctor(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, home: Path,
           *args: str) -> tuple[int, dict[str, dict[str, Any]]]:
    monkeypatch.setenv("POH_HOME", str(home))
    capsys.readouterr()
    code = run(["doctor", "--json", *args])
    out = capsys.readouterr().out
    rows = json.loads(out)
    assert [set(r) for r in rows] == [{"check", "status", "detail"}] * len(rows)
    return code, {r["check"]: r for r in rows}


def _booth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    home = tmp_path / "home"
    os.environ["POH_HOME"] = str(home)
    try:
        assert run(["db", "init"]) == 0  # the way a technician initialises a booth
    finally:
        del os.environ["POH_HOME"]
    capsys.readouterr()
    return home


def test_healthy_booth_passes_every_check(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    home = _booth(tmp_path, capsys)
    code, rows = doctor(capsys, monkeypatch, home, "--no-camera")
    assert code == 0, rows
    assert list(rows) == ["models", "database", "key permissions", "disk", "camera", "clock",
                          "outbox", "broker"]
    for name in ("models", "database", "key permissions", "disk", "clock"):
        assert rows[name]["status"] == "ok", rows[name]
    assert "quick_check ok" in rows["database"]["detail"]
    assert rows["camera"] == {"check": "camera", "status": "skip",
                              "detail": "skipped (--no-camera)"}
    assert rows["outbox"]["detail"] == rows["broker"]["detail"] == "not in a fleet"
    # the plain-text form: one line per check
    capsys.readouterr()
    assert run(["doctor", "--no-camera"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 8 and lines[1].startswith("ok") and "database" in lines[1]


def test_missing_camera_fails_unless_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    home = _booth(tmp_path, capsys)
    code, rows = doctor(capsys, monkeypatch, home, "--camera", str(tmp_path / "video7"))
    assert code == 1
    assert rows["camera"] == {"check": "camera", "status": "FAIL",
                              "detail": f"no camera at {tmp_path / 'video7'}"}


def test_wrong_key_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                         monkeypatch: pytest.MonkeyPatch) -> None:
    home = _booth(tmp_path, capsys)
    monkeypatch.setenv("POH_DB_KEY", OTHER_KEY)
    code, rows = doctor(capsys, monkeypatch, home, "--no-camera")
    assert code == 1
    assert rows["database"]["status"] == "FAIL"
    assert "key" in rows["database"]["detail"].lower()
    assert rows["models"]["status"] == "ok"  # the other checks still ran


def test_corrupt_database_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    home = _booth(tmp_path, capsys)
    db = StorageConfig().paths(home).db
    size = db.stat().st_size
    assert size > 3 * 4096
    with db.open("r+b") as f:  # a page in the middle: its HMAC no longer matches
        f.seek(size // 2)
        f.write(os.urandom(512))
    code, rows = doctor(capsys, monkeypatch, home, "--no-camera")
    assert code == 1
    assert rows["database"]["status"] == "FAIL"
    assert "corrupt" in rows["database"]["detail"], rows["database"]


def test_missing_booth_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "never-initialised"
    code, rows = doctor(capsys, monkeypatch, home, "--no-camera")
    assert code == 1
    assert rows["database"]["status"] == "FAIL"
    assert "not initialised" in rows["database"]["detail"]
    assert not home.exists()  # the doctor creates nothing


def test_loosened_key_file_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    init_home(home, StorageConfig())
    key_file = StorageConfig().paths(home).key_file
    key_file.chmod(0o644)
    code, rows = doctor(capsys, monkeypatch, home, "--no-camera")
    assert code == 1
    assert rows["key permissions"]["status"] == "FAIL"
    assert "mode 644" in rows["key permissions"]["detail"]
    key_file.chmod(0o600)
    home.chmod(0o755)
    code, rows = doctor(capsys, monkeypatch, home, "--no-camera")
    assert code == 1
    assert rows["key permissions"]["status"] == "FAIL"
    assert f"{home} is mode 755" in rows["key permissions"]["detail"]


def test_disk_thresholds_state_the_numbers(tmp_path: Path) -> None:
    free = __import__("shutil").disk_usage(tmp_path).free
    assert check_disk(tmp_path, warn_below=1, fail_below=0).status == "ok"
    warn = check_disk(tmp_path, warn_below=free * 2, fail_below=0)
    assert warn.status == "warn" and "free of" in warn.detail
    fail = check_disk(tmp_path, warn_below=free * 4, fail_below=free * 2)
    assert fail.status == "FAIL"
    assert DISK_FAIL_BYTES < free  # this machine itself passes


def test_joined_fleet_broker_down_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "booth"
    with fleet_with_broker(tmp_path) as fleet:
        add_and_join(capsys, fleet, home, "booth-1")
        code, rows = doctor(capsys, monkeypatch, home, "--no-camera")
        assert code == 0, rows
        assert rows["broker"]["status"] == "ok", rows["broker"]
        assert "client certificate ok" in rows["broker"]["detail"]
        assert rows["outbox"]["status"] == "ok"
        assert "waiting" in rows["outbox"]["detail"]
        fleet.broker.stop()
        code, rows = doctor(capsys, monkeypatch, home, "--no-camera")
    assert code == 1
    assert rows["broker"]["status"] == "FAIL"
    assert f"127.0.0.1:{fleet.port}" in rows["broker"]["detail"]
    assert "cannot connect" in rows["broker"]["detail"]
    assert rows["outbox"]["status"] == "ok"  # the backlog is still readable
