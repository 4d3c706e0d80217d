"""`poh-lab eval closed-loop` and `poh-lab bench closed-loop`: bad input is one line and exit 2
before anything is compiled; the bench reports its figures (values are not asserted)."""

from __future__ import annotations

import json

import pytest

from app.lab.cli.main import run


@pytest.mark.parametrize(("argv", "named"), [
    (["eval", "closed-loop", "--sessions", "0"], "--sessions"),
    (["eval", "closed-loop", "--methods", "FLASHING,NOPE"], "--methods"),
    (["eval", "closed-loop", "--split", "other"], "--split"),
    (["eval", "closed-loop", "--fps", "100"], "--fps"),
    (["bench", "closed-loop", "--fps", "2"], "--fps"),
])
def test_bad_input_is_exit_2_with_one_line(argv: list[str], named: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert run(argv) == 2
    err = capsys.readouterr().err.strip()
    assert named in err and "\n" not in err


@pytest.mark.slow  # renders at four frame sizes, then runs the camera thread for 3 s
def test_bench_closed_loop_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["bench", "closed-loop", "--frames", "3", "--seconds", "3", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    doc = json.loads(captured.out)
    assert [r["size"] for r in doc["render"]] == [256, 320, 384, 480]
    d = doc["delivery"]
    assert d["frames_delivered"] > 0 and d["frames_tracked"] > 0 and d["lost"] is None
