"""`poh-lab bench index`, `poh-lab eval dedup`: end to end, small inputs (figures not asserted)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.lab.cli.main import run


def test_bench_index_small(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["bench", "index", "--n", "1000", "--queries", "20", "--ef-search", "16,64",
                "--json"])
    out = capsys.readouterr().out
    assert code == 0
    r = json.loads(out)
    assert r["n"] == 1000 and r["startup_from"] == "snapshot"
    assert r["churn_visibility_failures"] == 0
    assert {s["ef_search"] for s in r["ef_sweep"]} == {16, 64, r["ef_search"]}
    assert 0.0 <= r["query_k10"]["recall_at_1"] <= 1.0


def test_bench_index_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["bench", "index", "--n", "10"]) == 2
    assert run(["bench", "index", "--ef-search", "a,b"]) == 2


def test_eval_dedup_on_a_subset_of_orl(data_dir: Path, models_dir: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    for s in range(1, 7):
        dest = tmp_path / f"s{s}"
        dest.mkdir()
        for i in range(1, 4):
            shutil.copy(data_dir / "orl" / f"s{s}" / f"{i}.pgm", dest)
    code = run(["eval", "dedup", str(tmp_path), "--rounds", "2", "--json"])
    out = capsys.readouterr().out
    assert code == 0
    r = json.loads(out)
    assert (r["identities"], r["images"], r["rounds"]) == (6, 18, 2)
    assert r["review"]["mated_searches"] == 2 * 3 * 2  # 3 enrolled x 2 further images x 2
    assert r["review"]["nonmated_searches"] == 2 * 3 * 3
    assert r["review"]["comparisons"] == 2 * 3 * 3 * 3
    assert r["decline"]["threshold"] >= r["review"]["threshold"]
