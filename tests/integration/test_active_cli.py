"""`poh liveness analyze`, `poh-lab eval active`, `poh-lab bench active`, `poh-lab sim active`:
exit codes and JSON shape."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.capture.recording import write_recording
from app.cli.main import run
from app.lab.cli.main import run as lab_run
from app.lab.datasets import face3d_dir
from app.lab.simulation.flash.scene import FaceScene, simulate
from app.lab.simulation.flash.settings import draw_settings
from inference.active.shape_model import SHAPE_MODEL_PATH, SIDES_MODEL_PATH


@pytest.fixture(scope="module")
def live_recording(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    rng = np.random.default_rng(5)
    rec = simulate(FaceScene(face3d_dir(data_dir)), "live", "FLASHING",
                   draw_settings("tuning", rng), rng)
    return write_recording(tmp_path_factory.mktemp("rec") / "live", rec)


def test_analyze_live_recording_json(live_recording: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["liveness", "analyze", str(live_recording), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["method"] == "FLASHING" and doc["status"] == "Approved"
    assert 0 <= doc["score"] <= 100 and doc["warnings"] == []
    assert set(doc["figures"]["flash"]) >= {"fit_r2", "lag_frames", "strength", "relief"}


def test_analyze_bad_recordings_exit_2(tmp_path: Path, live_recording: Path) -> None:
    assert run(["liveness", "analyze", str(tmp_path / "nowhere")]) == 2
    broken = tmp_path / "broken"
    broken.mkdir()
    doc = json.loads((live_recording / "capture.json").read_text())
    doc["frames"].append({"file": "999999.png", "t": doc["frames"][-1]["t"] + 1})
    (broken / "capture.json").write_text(json.dumps(doc))
    assert run(["liveness", "analyze", str(broken), "--json"]) == 2
    (broken / "capture.json").write_text(json.dumps({**doc, "method": "WINK"}))
    assert run(["liveness", "analyze", str(broken)]) == 2


def test_eval_and_bench_bad_options_exit_2() -> None:
    assert lab_run(["eval", "active", "--trials", "0"]) == 2
    assert lab_run(["eval", "active", "--split", "sideways"]) == 2
    for bad in ("1,1", "red,1,1", "1,0,1", "1,1,1,1"):
        assert lab_run(["eval", "active", "--room-light", bad]) == 2, bad
    assert lab_run(["bench", "active", "--runs", "0"]) == 2


@pytest.mark.slow
def test_eval_active_heldout_figures(capsys: pytest.CaptureFixture[str]) -> None:
    """docs/accuracy.md's held-out run (seed 11, the fresh draw for the final code): the issue's
    target, APCER 0% for every species at BPCER at most 2%."""
    args = ["eval", "active", "--trials", "50", "--split", "heldout", "--seed", "11", "--json"]
    assert lab_run(args) == 0
    doc = json.loads(capsys.readouterr().out)
    for row in doc["results"].values():
        assert row["trials"] == 50
        if row["metric"] == "apcer":
            assert row["errors"] == 0, row
        else:
            assert row["rate"] <= 0.02, row


def test_sim_active_writes_a_readable_recording(tmp_path: Path) -> None:
    from app.capture.recording import read_recording

    out = tmp_path / "print"
    assert lab_run(["sim", "active", str(out), "--species", "print", "--split", "tuning",
                    "--seed", "2", "--json"]) == 0
    rec = read_recording(out)
    assert rec.method == "FLASHING" and len(rec.frames) == len(rec.times) > 30
    assert lab_run(["sim", "active", str(out)]) == 2  # not empty
    assert lab_run(["sim", "active", str(tmp_path / "x"), "--species", "moved_photo"]) == 2
    assert lab_run(["sim", "active", str(tmp_path / "y"), "--method", "PASSIVE"]) == 2


@pytest.mark.parametrize(("species", "status"), [("live", "Approved"), ("print", "Declined")])
def test_two_sided_recordings_are_judged_by_their_sides(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], species: str, status: str) -> None:
    """`poh-lab sim active --halves` writes a two-sided recording (rgb_right on every colour
    after the lead-in); `poh liveness analyze` judges it by the sides: a face's left-minus-right
    answer follows its mesh, a print's does not."""
    from app.capture.recording import read_recording

    out = tmp_path / species
    assert lab_run(["sim", "active", str(out), "--species", species, "--split", "tuning",
                    "--seed", "3", "--halves", "--json"]) == 0
    rec = read_recording(out)
    assert all(c.rgb_right is not None for c in rec.colours[1:])
    capsys.readouterr()
    assert run(["liveness", "analyze", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == status, doc["figures"]
    flash = doc["figures"]["flash"]
    if species == "live":
        assert flash["side_slope"] > 0.1 and flash["side_partial"] > 0.2
    else:
        assert flash["side_slope"] < 0.02 and doc["figures"]["checks"]["shape"] is False


def _cross(tmp: Path, a: Path, b: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    assert lab_run(["eval", "active-cross", "--load-a", str(a), "--load-b", str(b),
                    "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _errors(res: dict) -> dict[str, int]:
    return {sp: (r["trials"] - r["accepted"]) if sp == "live" else r["accepted"]
            for sp, r in res.items()}


def _collect_and_fit(tmp: Path, seeds_b: tuple[int, int], shipped_path: Path,
                     *extra: str) -> None:
    """Collect A41 (tuning), A47h (held-out) and the two B seeds (50 FLASHING trials per
    species; extra: e.g. --halves), then check that the fit on A41 is the booth's model file."""
    runs = {"a41": ["--family", "a", "--split", "tuning", "--seed", "41"],
            "a47h": ["--family", "a", "--split", "heldout", "--seed", "47"],
            **{f"b{s}": ["--family", "b", "--seed", str(s)] for s in seeds_b}}
    for name, args in runs.items():
        assert lab_run(["eval", "active-cross", *args, *extra, "--trials", "50",
                        "--save", str(tmp / f"{name}.json")]) == 0
    model = tmp / "model.json"
    assert lab_run(["eval", "active-cross", "--load-a", str(tmp / "a41.json"), "--load-b",
                    str(tmp / f"b{seeds_b[0]}.json"), "--write-model", str(model)]) == 0
    shipped = json.loads(shipped_path.read_text(encoding="utf-8"))
    fitted = json.loads(model.read_text(encoding="utf-8"))
    assert fitted["model"]["names"] == shipped["model"]["names"]
    for key in ("mean", "std", "weights"):
        assert fitted["model"][key] == pytest.approx(shipped["model"][key], abs=1e-3)
    assert fitted["threshold"] == pytest.approx(shipped["threshold"], abs=1e-3)
    assert fitted["data"]["family"] == shipped["data"]["family"] == "a"


@pytest.mark.slow
def test_eval_active_cross_family_figures(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """docs/accuracy.md's whole-screen cross-family table (about 25 min): the booth's shape
    model is the fit on family A's tuning trials (seed 41) and nothing else, and the figures on
    the family not fitted on do not get worse than published (with whole-screen plans the
    issue's target is met fitted on B and tested on A, not the other way)."""
    _collect_and_fit(tmp_path, (41, 47), SHAPE_MODEL_PATH)
    a_to_b = _errors(_cross(tmp_path, tmp_path / "a41.json", tmp_path / "b47.json",
                            capsys)["cross"]["a->b"])
    assert a_to_b["live"] <= 5 and a_to_b["print"] == 0
    assert a_to_b["replay"] == 0 and a_to_b["retint"] == 0  # 1 before the per-row timing bound
    b_to_a = _errors(_cross(tmp_path, tmp_path / "a47h.json", tmp_path / "b41.json",
                            capsys)["cross"]["b->a"])
    assert all(v == 0 for v in b_to_a.values()), b_to_a


@pytest.mark.slow
def test_eval_active_cross_family_two_sided_figures(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """docs/accuracy.md's two-sided table (about 30 min): the booth's two-sided model is the
    fit on family A's two-sided tuning trials (seed 41) and nothing else, and the issue's
    target holds both ways: fitted on A and tested on B (fresh seeds 71, 73), fitted on B and
    tested on A's held-out settings (seed 47), every species at APCER 0 and no live face
    declined."""
    _collect_and_fit(tmp_path, (71, 73), SIDES_MODEL_PATH, "--halves")
    for b in ("b71.json", "b73.json"):
        a_to_b = _errors(_cross(tmp_path, tmp_path / "a41.json", tmp_path / b,
                                capsys)["cross"]["a->b"])
        assert all(v == 0 for v in a_to_b.values()), (b, a_to_b)
        b_to_a = _errors(_cross(tmp_path, tmp_path / "a47h.json", tmp_path / b,
                                capsys)["cross"]["b->a"])
        assert all(v == 0 for v in b_to_a.values()), (b, b_to_a)
