"""`poh bench inference` runs on real frames and reports every figure (values are not asserted)."""

from __future__ import annotations

import json

import pytest

from app.cli.main import run


@pytest.mark.slow  # compiles the pipeline twice: about 10 s idle, over 20 s on a busy machine
def test_bench_inference_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["bench", "inference", "--frames", "4", "--throughput-seconds", "0", "--json"])
    out = capsys.readouterr().out
    assert code == 0
    report = json.loads(out)
    assert report["frames"] == 4 and report["frames_without_face"] == 0
    assert set(report["stages_ms"]) >= {"detect", "landmarks", "align", "embed", "antispoof",
                                        "age", "quality"}
    for key in ("end_to_end_ms", "passive_check_ms", "detect_landmarks_ms"):
        assert report[key]["n"] == 4
    assert set(report["precisions"].values()) == {"f32"}


def test_bench_inference_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["bench", "inference", "--frames", "0"]) == 2
    assert "--frames" in capsys.readouterr().err
