"""`poh-lab bench sync`: end-to-end verdict sync throughput and latency over real processes.

Each booth's outbox is filled first (real signing, real SQLCipher appends); then every booth's
`poh sync run --once` starts at once against `poh hub run` through a TLS mosquitto. Throughput
is the verdicts stored at the hub and acknowledged back into the booths (rows deleted) divided
by the time from the first publish to the last delivery; latency is each verdict's time from
its (last) publish to its hub ack at the booth, so with a full outbox it includes the wait in
the in-flight window (window / throughput)."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app.lab.benchmarks.sync_booths import append_verdicts, open_booth
from app.lab.fleet_rig import FLEET, FleetRig
from sync.vocabulary import CaptureKind


@dataclass(frozen=True)
class SyncRun:
    booths: int
    verdicts: int
    seconds: float
    per_second: float
    p50_ms: float | None  # the worst booth's median
    p99_ms: float | None  # the worst booth's 99th percentile
    resent: int
    hub_stored: int


def _fill(rig: FleetRig, name: str, n: int) -> None:
    b = rig.add_booth(name)
    booth = open_booth(b.home, fleet=FLEET)
    try:
        append_verdicts(booth, n, prefix=name, kind=CaptureKind.SIMULATION)
    finally:
        booth.close()


def one_run(folder: Path, booths: int, per_booth: int, window: int, hub_workers: int,
            progress: Callable[[str], None]) -> SyncRun:
    rig = FleetRig(folder)
    rig.broker.start()
    try:
        rig.start_hub(hub_workers)
        for i in range(booths):
            progress(f"booth {i + 1}/{booths}: signing and storing {per_booth} verdicts")
            _fill(rig, f"bench-{i + 1}", per_booth)
        progress(f"draining {booths * per_booth} verdicts (window {window})")
        procs = [rig.start_drain(b, "--once", "--json", "--window", str(window),
                                 "--timeout", "900") for b in rig.booths]
        reports: list[dict[str, Any]] = []
        for b, p in zip(rig.booths, procs, strict=True):
            out, _ = p.communicate(timeout=1000)
            if p.returncode != 0:
                raise RuntimeError(f"{b.device_id}: poh sync run exited {p.returncode}, see "
                                   f"{b.log}")
            reports.append(json.loads(out))
        status = rig.hub_status()
    finally:
        rig.close()
    start = min(float(r["first_publish"]) for r in reports)
    end = max(float(r["last_delivery"]) for r in reports)
    total = sum(int(r["stored"]) + int(r["duplicates"]) for r in reports)
    return SyncRun(booths, total, end - start, total / (end - start),
                   max(float(r["latency_p50_ms"]) for r in reports),
                   max(float(r["latency_p99_ms"]) for r in reports),
                   sum(int(r["resent"]) for r in reports), int(str(status["verdicts"])))


def run_bench(per_booth: int, window: int, hub_workers: int, booth_counts: tuple[int, ...],
              progress: Callable[[str], None],
              count: Callable[[int, int], None] | None = None) -> list[SyncRun]:
    """progress(text) names each step; count(verdicts, verdicts in all) after each fleet run."""
    runs: list[SyncRun] = []
    total = per_booth * sum(booth_counts)
    for n in booth_counts:
        with tempfile.TemporaryDirectory(prefix="poh-bench-sync-") as tmp:
            t0 = time.monotonic()
            runs.append(one_run(Path(tmp), n, per_booth, window, hub_workers, progress))
            progress(f"{n} booth(s) done in {time.monotonic() - t0:.0f} s")
            if count is not None:
                count(per_booth * sum(booth_counts[:len(runs)]), total)
    return runs


def format_report(runs: list[SyncRun]) -> str:
    lines = ["booths  verdicts  seconds  verdicts/s  p50 ms  p99 ms  re-sent  at hub"]
    for r in runs:
        lines.append(f"{r.booths:>6}  {r.verdicts:>8}  {r.seconds:>7.2f}  {r.per_second:>10.0f}"
                     f"  {r.p50_ms or 0:>6.0f}  {r.p99_ms or 0:>6.0f}  {r.resent:>7}"
                     f"  {r.hub_stored:>6}")
    return "\n".join(lines)


def as_json(runs: list[SyncRun]) -> list[dict[str, Any]]:
    return [asdict(r) for r in runs]
