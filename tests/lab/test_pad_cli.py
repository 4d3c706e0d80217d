"""`poh-lab sim pad` and `poh-lab eval pad` end to end on a tiny simulated set (full run: slow)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer

from app.errors import BadInputError
from app.lab.cli import sim_cmd
from app.lab.cli.main import run
from app.lab.evaluation.pad_metrics import apcer, apcer_at_bpcer, bpcer, equal_error_rate


def _sim(args: list[str]) -> None:
    root = typer.Typer()
    root.add_typer(sim_cmd.app, name="sim")
    root.command("noop")(lambda: None)  # keeps `sim` a sub-command group
    typer.main.get_command(root).main(args=args, prog_name="poh-lab", standalone_mode=False)


def test_sim_then_eval_pad_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "pad"
    _sim(["sim", "pad", str(out), "--split", "heldout", "--n", "2", "--seed", "4", "--json"])
    written = json.loads(capsys.readouterr().out)
    assert written["counts"] == {"live": 2, "print": 2, "replay": 2}
    assert run(["eval", "pad", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["method"] == "PASSIVE"
    assert report["bpcer"]["trials"] == 2
    assert set(report["apcer"]) == {"print", "replay"}
    assert all(v["trials"] == 2 for v in report["apcer"].values())
    assert set(report["eer"]) == {"print", "replay"}


def test_sim_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError):
        _sim(["sim", "pad", str(tmp_path / "x"), "--split", "validation"])
    with pytest.raises(BadInputError):
        _sim(["sim", "pad", str(tmp_path / "x"), "--n", "0"])


def test_eval_pad_bad_input(tmp_path: Path) -> None:
    assert run(["eval", "pad", str(tmp_path / "missing")]) == 2
    assert run(["eval", "pad"]) == 2  # neither a folder nor --simulate
    (tmp_path / "live").mkdir()
    assert run(["eval", "pad", str(tmp_path)]) == 2  # no images, no attack folder


def test_metrics_count_errors() -> None:
    live = np.array([10.0, 60.0, 70.0, 80.0])
    atk = np.array([5.0, 20.0, 55.0])
    assert (bpcer(live, 50).errors, bpcer(live, 50).trials) == (1, 4)
    assert (apcer(atk, 50).errors, apcer(atk, 50).trials) == (1, 3)
    eer, _ = equal_error_rate(live, atk)
    assert 0.0 < eer < 0.5
    thr, b, a = apcer_at_bpcer(live, atk, 0.25)
    assert b.value <= 0.25 and thr == 60.0 and a.errors == 0


@pytest.mark.slow
def test_full_heldout_evaluation(capsys: pytest.CaptureFixture[str]) -> None:
    """The figure docs/accuracy.md quotes: held-out settings and portraits, 60 frames per species.

    Replay misses the 5% APCER target (6/60 at the time of writing, see docs/accuracy.md): this
    guards against a regression beyond that finding, it does not pretend the target is met.
    """
    args = ["eval", "pad", "--simulate", "--split", "heldout", "--n", "60", "--seed", "1", "--json"]
    assert run(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["bpcer"]["trials"] == 60
    assert report["bpcer"]["rate"] <= 0.05, report
    assert report["apcer"]["print"]["rate"] <= 0.05, report
    assert report["apcer"]["replay"]["rate"] <= 0.15, report
