"""Long lab commands show their progress on stderr while stdout keeps a parseable result: the bar
when asked for (POH_PROGRESS=bar stands in for a terminal), plain lines in a log, nothing under
--json in a log. Each runs the real `poh-lab` process with HOME an empty folder, which it must
leave empty."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from app.paths import cache_dir

BIN = Path(sys.executable).parent
ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _lab(args: list[str], tmp_path: Path, models_dir: Path, data_dir: Path,
         progress: str | None, **extra: str) -> subprocess.CompletedProcess[str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
           "POH_HOME": str(tmp_path / "poh"), "POH_CACHE": str(cache_dir()),
           "POH_MODELS_DIR": str(models_dir), "POH_DATA_DIR": str(data_dir),
           "POH_LAB_HOME": str(tmp_path / "lab"), "QT_QPA_PLATFORM": "offscreen"}
    if progress is not None:
        env["POH_PROGRESS"] = progress
    env |= extra
    proc = subprocess.run([str(BIN / "poh-lab"), *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    assert not any(home.iterdir())  # nothing written outside the data, cache and lab folders
    return proc


def test_eval_pad_draws_a_bar_on_stderr_and_keeps_stdout_json(
        tmp_path: Path, models_dir: Path, data_dir: Path) -> None:
    proc = _lab(["eval", "pad", "--simulate", "--n", "2", "--json"], tmp_path, models_dir,
                data_dir, "bar", COLUMNS="120")  # a terminal wide enough for the phase text
    doc = json.loads(proc.stdout)  # nothing of the bar on stdout
    assert doc["bpcer"]["trials"] == 2
    assert ESCAPE.search(proc.stderr)
    plain = ESCAPE.sub("", proc.stderr)
    assert "eval pad" in plain and "rendering 6 simulated frames" in plain
    for done in range(1, 7):  # a count after every frame rendered, of all six
        assert f"{done}/6" in plain
    assert "analysing the frames" in plain
    assert re.search(r"\d:\d\d:\d\d elapsed, \d:\d\d:\d\d left", plain)


def test_bench_index_log_lines_and_json_quiet(tmp_path: Path, models_dir: Path,
                                              data_dir: Path) -> None:
    args = ["bench", "index", "--n", "1000", "--queries", "10", "--ef-search", "32"]
    proc = _lab(args, tmp_path, models_dir, data_dir, None)  # stderr is a pipe: lines
    assert not ESCAPE.search(proc.stderr)
    lines = proc.stderr.splitlines()
    assert "bench index: timing queries" in lines
    assert any(re.fullmatch(r"bench index storing .*: 1000/1000 \(100%\), \d+:\d\d:\d\d "
                            r"elapsed", line) for line in lines), lines
    assert any(line.startswith("bench index building the index: 3/3 (100%)")
               for line in lines), lines
    quiet = _lab([*args, "--json"], tmp_path, models_dir, data_dir, None)
    assert quiet.stderr == ""  # under --json, stderr is kept for the JSON error object
    assert json.loads(quiet.stdout)["n"] == 1000
