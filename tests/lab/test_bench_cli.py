"""`poh-lab bench inference` on real frames reports every figure (values are not asserted)."""

from __future__ import annotations

import json

import pytest

from app.lab.cli.main import run


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


@pytest.mark.slow  # compiles the pipeline, renders a FLASHING answer, runs 6 whole sessions
def test_bench_session_json(capsys: pytest.CaptureFixture[str]) -> None:
    from app.lab.cli.main import run as lab_run

    code = lab_run(["bench", "session", "--frames", "2", "--repeats", "1", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(captured.out)
    per_frame = report["per_frame"]
    assert per_frame["n"] == 2 and per_frame["one_face"] == 2
    assert set(per_frame["paths_ms"]) == {"old_analyze", "track", "candidate_passive",
                                          "candidate_flashing"}
    for s in per_frame["paths_ms"].values():
        assert s["n"] == 2 and s["median"] > 0 and s["p95"] >= s["median"]
    assert set(per_frame["old_over"]) == {"track", "candidate_passive", "candidate_flashing"}
    sessions = report["sessions"]
    assert sessions["repeats"] == 1
    for method in ("PASSIVE", "FLASHING"):
        for side in ("before", "after"):
            runs = sessions[method][side]
            assert len(runs["runs_ms"]) == 1 and runs["median_ms"] > 0
            assert len(runs["statuses"]) == 1 and len(runs["frames_read"]) == 1
    # the live demo clip on an empty scratch gallery: a whole session, to its verdict
    assert sessions["PASSIVE"]["after"]["statuses"] == ["Approved"]
    for method in ("PASSIVE", "FLASHING"):
        assert sessions[method]["speedup"] > 0
    assert sessions["FLASHING"]["recording_frames"] > 0
    ptv = report["position_to_verdict"]
    assert ptv["after_median_ms"] > 0 and ptv["before_median_ms"] > 0
    assert ptv["target_ms"] == 500 and isinstance(ptv["met"], bool)


def test_bench_session_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    from app.lab.cli.main import run as lab_run

    assert lab_run(["bench", "session", "--repeats", "0"]) == 2
    assert "--repeats" in capsys.readouterr().err


@pytest.mark.slow  # compiles the pipeline, renders two FLASHING answers, analyses each twice
def test_bench_active_json_times_both_screens(capsys: pytest.CaptureFixture[str]) -> None:
    from app.lab.cli.main import run as lab_run

    code = lab_run(["bench", "active", "--runs", "1", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(captured.out)
    assert report["runs"] == 1 and report["frames"] > 60 and report["median_ms"] > 0
    two = report["two_sided"]
    assert two["frames"] > 60 and two["median_ms"] > 0
    assert two["ratio_to_whole"] == pytest.approx(two["median_ms"] / report["median_ms"],
                                                  abs=0.01)
