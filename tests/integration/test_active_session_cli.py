"""`poh-lab session run` on FLASHING workflows, `poh evidence`, and `poh forget` erasing evidence.

Headless FLASHING sessions (the simulator, stored recordings) run in the lab, in its own data
folder; the product's evidence and forget commands are pointed at that folder (POH_HOME).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from app.cli.main import run
from app.lab.cli.main import run as lab_run
from assets import asset_path

ASSETS = asset_path("workflows")


@contextmanager
def kiosk_config(tmp_path: Path, doc: dict[str, Any]) -> Iterator[None]:
    """A kiosk configuration file for the commands run inside."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(doc))
    os.environ["POH_CONFIG"] = str(path)
    try:
        yield
    finally:
        del os.environ["POH_CONFIG"]


def _poh(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict, str]:
    code = run([*args, "--json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else {}), err


def _lab(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict, str]:
    code = lab_run([*args, "--json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else {}), err


def _poh_on(home: Path, capsys: pytest.CaptureFixture[str], *args: str
            ) -> tuple[int, dict, str]:
    """A `poh` command on the data folder `home` (the lab's, where its sessions kept evidence)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("POH_HOME", str(home))
        return _poh(capsys, *args)


@pytest.fixture()
def keeping_workflow(tmp_path: Path) -> Path:
    doc = json.loads((ASSETS / "flashing.json").read_text())
    doc["features"][0]["config"]["retain_evidence"] = True
    path = tmp_path / "keep.json"
    path.write_text(json.dumps(doc))
    return path


def test_flash_session_keeps_evidence_until_forgotten(
        capsys: pytest.CaptureFixture[str], keeping_workflow: Path, tmp_path: Path,
        data_dir: Path) -> None:
    lab = tmp_path / "lab"
    code, out, err = _lab(capsys, "session", "run", "--home", str(lab),
                          "--workflow", str(keeping_workflow),
                          "--camera", "sim:live:3", "--vendor-data", "james")
    assert code == 0, err
    v = out["verdict"]
    assert out["status"] == "Approved", v["reason"]
    assert v["liveness"]["method"] == "FLASHING"
    assert v["challenge"]["response_digest"]

    code, listed, _ = _poh_on(lab, capsys, "evidence", "list")
    assert [e["session_id"] for e in listed["evidence"]] == [v["session_id"]]
    exported = tmp_path / "exported"
    code, ex, _ = _poh_on(lab, capsys, "evidence", "export", v["session_id"], str(exported))
    assert code == 0 and ex["nonce"] == v["challenge"]["nonce"]
    code, res, _ = _poh(capsys, "liveness", "analyze", str(exported))
    assert code == 0 and res["status"] == "Approved"
    # the stored recording answers an old nonce: a new session declines it as a replay
    code, out2, _ = _lab(capsys, "session", "run", "--home", str(lab),
                         "--workflow", str(keeping_workflow),
                         "--camera", str(exported), "--vendor-data", "replayer")
    assert code == 0 and out2["status"] == "Declined"
    assert "replay" in out2["verdict"]["reason"]
    assert _poh_on(lab, capsys, "evidence", "export", v["session_id"], str(exported))[0] == 2

    kept = [e["session_id"] for e in _poh_on(lab, capsys, "evidence", "list")[1]["evidence"]]
    assert v["session_id"] in kept and out2["verdict"]["session_id"] in kept  # attacks too

    code, gone, _ = _poh_on(lab, capsys, "forget", "--vendor-data", "james")
    assert code == 0 and gone["recordings"] == 1
    left = [e["session_id"] for e in _poh_on(lab, capsys, "evidence", "list")[1]["evidence"]]
    assert left == [out2["verdict"]["session_id"]]

    code, pruned, _ = _poh_on(lab, capsys, "evidence", "prune")
    assert code == 0 and pruned["erased"] == [] and pruned["max_age_days"] == 30
    with kiosk_config(tmp_path, {"evidence": {"max_age_days": 1e-9}}):
        code, pruned, _ = _poh_on(lab, capsys, "evidence", "prune")
    assert code == 0 and pruned["erased"] == left
    assert _poh_on(lab, capsys, "evidence", "list")[1]["evidence"] == []


def test_bad_cameras_for_active_workflows_exit_2(capsys: pytest.CaptureFixture[str],
                                                 tmp_path: Path) -> None:
    wf = str(ASSETS / "flashing.json")
    lab = ("--home", str(tmp_path / "lab"))
    for camera in ("0", "sim:ghost", "sim:live:x", str(tmp_path)):
        args = ("session", "run", "--workflow", wf, "--camera", camera, "--vendor-data", "x")
        # the booth refuses every headless active session; the lab refuses these cameras
        for code, _, err in (_poh(capsys, *args), _lab(capsys, *args, *lab)):
            assert code == 2, camera
            assert len(err.strip().splitlines()) == 1, err
    assert _poh(capsys, "evidence", "export", "not-a-session", str(tmp_path / "o"))[0] == 2
    assert _poh(capsys, "evidence", "delete", "3f1c1e4e-1111-4222-8333-944444444444")[0] == 2
