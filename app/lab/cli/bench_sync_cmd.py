"""`poh-lab bench sync`: end-to-end verdict sync figures (booth outbox -> hub, TLS on)."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.common import JsonOpt, emit
from app.cli.progress_bar import progress_report
from app.errors import BadInputError


def sync(
    verdicts: Annotated[int, typer.Option(
        "--verdicts", help="Verdicts per booth (signed and stored before the drain starts).")
    ] = 2000,
    booths: Annotated[str, typer.Option(
        "--booths", help="Booth counts to run, comma-separated (each run a fresh fleet).")
    ] = "1,3",
    window: Annotated[int, typer.Option(
        "--window", help="Verdicts in flight per booth (poh sync run's default is 256).")
    ] = 1024,
    hub_workers: Annotated[int, typer.Option("--hub-workers", help="Hub worker processes.")
                           ] = 2,
    as_json: JsonOpt = False,
) -> None:
    """Throughput (verdicts/s stored at the hub and acknowledged back into the booths) and
    publish-to-ack latency p50/p99, over a TLS mosquitto, `poh hub run` (SQLite) and one
    `poh sync run` process per booth."""
    from app.lab.benchmarks.sync_bench import as_json as runs_json
    from app.lab.benchmarks.sync_bench import format_report, run_bench

    try:
        counts = tuple(int(x) for x in booths.split(","))
    except ValueError:
        raise BadInputError(f"--booths {booths!r}: comma-separated numbers") from None
    if not all(1 <= c <= 16 for c in counts) or not 1 <= verdicts <= 100_000:
        raise BadInputError("need 1 <= booths <= 16 and 1 <= --verdicts <= 100000")
    if not 1 <= window <= 10_000 or not 1 <= hub_workers <= 16:
        raise BadInputError("need 1 <= --window <= 10000 and 1 <= --hub-workers <= 16")
    with progress_report("bench sync", as_json) as shown:
        runs = run_bench(verdicts, window, hub_workers, counts, shown.note, shown.count)
    emit(runs_json(runs), as_json, lambda _o: format_report(runs))


def register(app: typer.Typer) -> None:
    app.command("sync")(sync)
