"""The booth bundle's figures: its size unpacked and its cold start to the first kiosk screen.

    python packaging/bundle_report.py dist/poh [--runs 5] [--json]

Each run starts `poh kiosk --offscreen --report-startup` from the bundle in an empty environment
(`env -i`: no venv, no POH_* paths but a fresh data folder) and reads the seconds it reports from
the process's start to its first screen, and the CPU time spent by then. The first run also
initialises the booth (database, keys) in that folder and compiles the models into the cache, as a
booth's first start does; the medians are over the runs after it. The load average is printed
with the figures: on a shared machine it explains most of the wall time's spread.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

MAX_RUNS = 20


def bundle_size(folder: Path) -> dict[str, Any]:
    """`bytes` and `size_mb` are `du -sb`'s figure (every file, folder and link, apparent size;
    the target, 500 MB, is in 10^6 bytes); `on_disk_mib` the blocks of the files."""
    entries = [folder, *folder.rglob("*")]
    files = [p for p in entries if p.is_file() and not p.is_symlink()]
    apparent = sum(p.lstat().st_size for p in entries)
    on_disk = sum(p.stat().st_blocks * 512 for p in files)
    return {"files": len(files), "bytes": apparent, "size_mb": round(apparent / 1e6, 1),
            "on_disk_mib": round(on_disk / 2**20, 1)}


def startup_once(exe: Path, home: Path) -> dict[str, Any]:
    env = {"HOME": str(home), "POH_HOME": str(home / "poh"), "LANG": "C.UTF-8"}
    out = subprocess.run(["env", "-i", *[f"{k}={v}" for k, v in env.items()], str(exe),
                          "kiosk", "--offscreen", "--report-startup"],
                         capture_output=True, text=True, timeout=300, cwd=home, check=False)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not lines:
        tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"bundle_report: {exe} kiosk failed (exit {out.returncode}): {tail}")
    line: dict[str, Any] = json.loads(lines[-1])
    return line


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("bundle", type=Path, help="the one-folder bundle (dist/poh)")
    p.add_argument("--runs", type=int, default=5, help=f"timed runs after the first (1-{MAX_RUNS})")
    p.add_argument("--json", action="store_true")
    ns = p.parse_args(argv)
    exe = (ns.bundle / "poh").resolve()
    if not exe.is_file() or not 1 <= ns.runs <= MAX_RUNS:
        p.error(f"no bundle at {ns.bundle} (make package) or --runs outside 1-{MAX_RUNS}")
    with tempfile.TemporaryDirectory(prefix="poh-bundle-report-") as tmp:
        first = startup_once(exe, Path(tmp))
        runs = [startup_once(exe, Path(tmp)) for _ in range(ns.runs)]
    times = [r["startup_s"] for r in runs]
    cpu = [r["cpu_s"] for r in runs]
    report = {"bundle": str(ns.bundle), **bundle_size(ns.bundle),
              "startup_s": {"first_run": first["startup_s"], "runs": times,
                            "median": round(statistics.median(times), 2)},
              "cpu_s": {"first_run": first["cpu_s"], "median": round(statistics.median(cpu), 2)},
              "first_screen": runs[-1]["screen"], "load_average": os.getloadavg()[0]}
    if ns.json:
        sys.stdout.write(json.dumps(report) + "\n")
    else:
        s = report["startup_s"]
        sys.stdout.write(
            f"{report['bundle']}: {report['size_mb']} MB unpacked ({report['files']} files, "
            f"{report['on_disk_mib']} MiB on disk)\n"
            f"cold start to the first screen ({report['first_screen']}): median "
            f"{s['median']} s of {len(times)} runs ({', '.join(f'{t:.2f}' for t in times)}), "
            f"CPU time by then {report['cpu_s']['median']} s; first run (initialising the "
            f"booth, compiling the models into the cache): {s['first_run']:.2f} s, CPU "
            f"{report['cpu_s']['first_run']:.2f} s; load average {report['load_average']:.1f}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
